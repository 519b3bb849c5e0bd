// Latent SwiftBrush on a diffusers folder through `vsdlab run`: the two ablations (LoRA teacher on/off × ε/x0/v
// student) on the tiny random-weight SD 2 folder, distill → generate → evaluate → report
// (test/fixtures/sd/distill-ablation.yaml). A pipeline check, not a result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { openSafetensors } from '../../src/weights/safetensors-file.js';
import { vsdlab } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';
import { ensureSyntheticShapes } from '../helpers/synthetic-shapes.js';

const EXPERIMENT = 'test/fixtures/sd/distill-ablation.yaml';

const jsonl = (path: string): Array<Record<string, number>> =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, number>);

test('LoRA teacher on/off × ε/x0/v students distilled from a diffusers folder generate in one step, are measured and reported', async () => {
  ensureSyntheticShapes();
  const dir = tempDir();
  const env = { VSDLAB_FEATURE_CACHE: join(dir, 'features'), VSDLAB_PROMPT_CACHE: join(dir, 'prompt-embeds') };
  const run = vsdlab(['run', EXPERIMENT, '--store', join(dir, 'runs')], { env });
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  const root = join(dir, 'runs', 'sd-distill-ablation');
  const cells = readdirSync(root).filter((n) => existsSync(join(root, n, 'metrics.json'))).sort();
  assert.deepEqual(cells.map((c) => c.replace(/-[0-9a-f]{8}$/, '')), ['sds-eps', 'sds-v', 'sds-x0', 'vsd-eps', 'vsd-v', 'vsd-x0']);
  const unetTensors = openSafetensors(fromRoot('test/fixtures/sd/tiny-sd2/unet/diffusion_pytorch_model.safetensors')).names().length;
  const computed: boolean[] = [];
  for (const cell of cells) {
    const metrics = JSON.parse(readFileSync(join(root, cell, 'metrics.json'), 'utf8')).metrics as Array<{ name: string; value: number }>;
    assert.deepEqual(metrics.map((m) => m.name), ['fid', 'clip-score']);
    assert.ok(metrics.every((m) => Number.isFinite(m.value)));
    const stages = JSON.parse(readFileSync(join(root, cell, 'stages.json'), 'utf8')) as { distill: { result: { prompt_embeddings: { computed: boolean } } } };
    computed.push(stages.distill.result.prompt_embeddings.computed);
    const distill = join(root, cell, 'artifacts', 'distill');
    const student = openSafetensors(join(distill, 'student-ema.safetensors'));
    assert.equal(student.names().length, unetTensors, 'the student is the whole UNet');
    assert.ok(student.names().includes('down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.w'), 'under the layers\' weight names');
    student.close();
    assert.equal(JSON.parse(readFileSync(join(distill, 'student.json'), 'utf8')).kind, 'sd-unet');
    const vsd = cell.startsWith('vsd');
    assert.equal(existsSync(join(distill, 'lora-teacher.safetensors')), vsd);
    // what diffusers loads (checked against diffusers itself by tools/sd/check_diffusers_load.py): the EMA student as a
    // complete pipeline beside the teacher's other components, the raw student's unet/, the LoRA teacher as PEFT
    assert.ok(existsSync(join(distill, 'model', 'model_index.json')) && existsSync(join(distill, 'model', 'vae', 'config.json')), `${cell}: model/ is a pipeline`);
    const modelUnet = openSafetensors(join(distill, 'model', 'unet', 'diffusion_pytorch_model.safetensors'));
    assert.equal(modelUnet.names().length, unetTensors, 'model/unet holds the whole UNet under torch names');
    modelUnet.close();
    assert.ok(existsSync(join(distill, 'student-unet', 'config.json')));
    assert.equal(existsSync(join(distill, 'lora-teacher', 'adapter_config.json')), vsd);
    if (vsd) assert.deepEqual(JSON.parse(readFileSync(join(distill, 'lora-teacher', 'adapter_config.json'), 'utf8')).target_modules, ['to_q', 'to_v']);
    const history = jsonl(join(distill, 'history.jsonl'));
    // a fresh LoRA teacher equals the frozen one, so VSD's first gradient is zero; SDS's is not
    assert.equal(history[0]!.grad_norm === 0, vsd, `${cell} step 1 gradient norm ${history[0]!.grad_norm}`);
    assert.ok(history[1]!.grad_norm! > 0, `${cell} step 2 trains the student`);
    assert.equal(readdirSync(join(distill, 'samples')).length, 2, 'a VAE-decoded preview per checkpoint');
    const images = join(root, cell, 'artifacts', 'generate', 'images');
    const files = readdirSync(images);
    assert.equal(files.length, 8);
    const meta = await sharp(join(images, files[0]!)).metadata();
    assert.deepEqual([meta.width, meta.height], [16, 16], 'sample_size 8 latents through the VAE (factor 2)');
  }
  assert.equal(computed.filter(Boolean).length, 1, 'the prompt embeddings are computed once for all cells');
  assert.equal(readdirSync(join(dir, 'prompt-embeds')).length, 1);
  const report = vsdlab(['report', EXPERIMENT, '--store', join(dir, 'runs'), '--out', join(dir, 'report')], { env });
  assert.equal(report.code, 0, report.stderr);
  const rows = readFileSync(join(dir, 'report', 'table.md'), 'utf8').split('\n').filter((l) => /^\| (VSD|SDS) /.test(l));
  assert.equal(rows.length, 6, 'one report row per ablation cell');
  assert.ok(rows.every((r) => /(ε|x₀|v)-param\. \| 1 \| (\*\*|<ins>)?[\d.]/.test(r)), rows.join('\n'));
});
