import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loraLayersOf } from '../../src/diffusion/lora-targets.js';
import { initUNet } from '../../src/diffusion/unet/index.js';
import { onnxUNetEngine } from '../../src/diffusion/unet/onnx-unet-engine.js';
import { embeddedDistillNet } from '../../src/distill/net.js';
import { distill, type DistillModels, type StepRecord, type TrainerHooks } from '../../src/distill/trainer.js';
import { selectBackend } from '../../src/tensor/index.js';
import { loadTeacher } from '../../src/teacher/bundle.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';
import { tinySettings } from './tiny-models.js';

// the committed embedded teacher with the embedded study's distillation settings (experiments/embedded-ablation.yaml),
// its score-gradient teacher passes on ONNX Runtime against the tfjs forward, on the wasm backend the study runs on
await selectBackend('wasm');
const teacher = loadTeacher(fromRoot('models/embedded/teacher'));
const models: DistillModels = {
  schedule: teacher.schedule,
  net: embeddedDistillNet(teacher.unet.config),
  teacher: teacher.unet.params,
  initRandom: (seed) => initUNet(teacher.unet.config, seed).params,
  encodeText: (cs) => teacher.text.encode([...cs]),
  nullText: teacher.nullText,
  imageShape: teacher.imageShape,
};
const CAPTIONS = ['a red circle at the top left on a blue background', 'A crimson cross near the bottom against an emerald canvas', 'a yellow ring in the centre on a black canvas', 'two green squares on a white background'];
const prompts = (step: number, batch: number): string[] => Array.from({ length: batch }, (_, i) => CAPTIONS[(step + i) % CAPTIONS.length]!);
const loraShape = { rank: 16, alpha: 16, targets: loraLayersOf(['q', 'k', 'v', 'out', 'conv']) };
const studySettings = (lora: boolean) =>
  tinySettings({
    steps: 3,
    batchSize: 4,
    checkpointEvery: 1,
    studentLr: 1e-4,
    emaDecay: 0.99,
    lora: { ...tinySettings().lora, ...loraShape, enabled: lora, lr: 1e-2, guidanceScale: 1 },
  });

const weights = (params: Record<string, tf.Variable>): number[] => Object.keys(params).sort().flatMap((k) => Array.from(params[k]!.dataSync()));
const relDiff = (a: number, b: number): number => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)));

for (const lora of [true, false]) {
  test(`${lora ? 'VSD' : 'SDS'} with the teacher passes on ONNX Runtime: 3 steps give the tfjs losses within 1e-4 relative, the same bits run to run and across a kill and resume`, async (t) => {
    const settings = studySettings(lora);
    const tfjsLog: StepRecord[] = [];
    await distill(models, settings, prompts, tempDir(), { log: (r) => tfjsLog.push(r) });
    const run = async (dir: string, hooks: TrainerHooks = {}) => {
      const passes = onnxUNetEngine(teacher.unet, { provider: 'cpu', lora: lora ? loraShape : undefined });
      try {
        return await distill({ ...models, teacherPasses: passes }, settings, prompts, dir, hooks);
      } finally {
        passes.dispose();
      }
    };
    const onnxLog: StepRecord[] = [];
    const a = await run(tempDir(), { log: (r) => onnxLog.push(r) });
    assert.equal(onnxLog.length, 3);
    for (const [i, r] of onnxLog.entries()) {
      const ref = tfjsLog[i]!;
      t.diagnostic(`step ${r.step}: loss ${r.loss_vsd.toExponential(6)} (tfjs ${ref.loss_vsd.toExponential(6)}, relative ${relDiff(r.loss_vsd, ref.loss_vsd).toExponential(2)})${lora ? `, LoRA loss relative ${relDiff(r.loss_lora!, ref.loss_lora!).toExponential(2)}` : ''}`);
      assert.ok(r.loss_vsd > 1e-6, 'the score gradient is not trivially small');
      assert.ok(relDiff(r.loss_vsd, ref.loss_vsd) <= 1e-4, `step ${r.step}: ${r.loss_vsd} vs ${ref.loss_vsd}`);
      if (lora) assert.ok(relDiff(r.loss_lora!, ref.loss_lora!) <= 1e-4, `step ${r.step} LoRA: ${r.loss_lora} vs ${ref.loss_lora}`);
    }
    const b = await run(tempDir());
    assert.deepEqual(weights(b.student), weights(a.student), 'bit-identical run to run');
    // killed after step 2, then run again: resumes from checkpoint 2 to the same bits
    const dir = tempDir();
    const stop = new AbortController();
    await assert.rejects(run(dir, { signal: stop.signal, progress: (step) => step === 2 && stop.abort(new Error('killed')) }), /killed/);
    const resumed = await run(dir);
    assert.equal(resumed.startedFrom, 2);
    assert.deepEqual(weights(resumed.student), weights(a.student));
    assert.deepEqual(weights(resumed.ema), weights(a.ema));
    if (lora) assert.deepEqual(weights(resumed.lora!.params), weights(a.lora!.params));
  });
}
