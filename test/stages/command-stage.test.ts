// distill.command / generate.command: a user's program as a tracked stage, spawned with no shell.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planExperiment } from '../../src/plan/plan.js';
import { runPlan } from '../../src/exec/run-plan.js';
import { RunStore } from '../../src/tracking/run-store.js';
import { distillStage } from '../../src/stages/distill-stage.js';
import { generateStage } from '../../src/stages/generate-stage.js';
import { InterruptedError } from '../../src/errors.js';
import { sha256Path } from '../../src/util/hash.js';
import type { Reporter } from '../../src/exec/reporter.js';
import { tempDir } from '../helpers/temp.js';
import { vsdlab } from '../helpers/cli.js';

// the program: what it was given goes to seen-<stage>.json beside its {out_dir}; `mode` picks a behaviour
const PROGRAM = String.raw`
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
const [mode, out, ...rest] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
writeFileSync(join(dirname(out), 'seen-' + mode + '.json'), JSON.stringify({ argv: process.argv.slice(2), env: process.env.MY_VAR ?? null, cwd: process.cwd() }));
if (mode === 'sleep') {
  process.on('SIGTERM', () => { writeFileSync(join(dirname(out), 'got-sigterm'), ''); process.exit(143); });
  setInterval(() => {}, 1000);
}
console.log('vsdlab-progress: 1/2');
console.error('a line on stderr');
if (mode === 'fail') { console.error('boom: the learning rate diverged'); process.exit(3); }
if (mode === 'distill') {
  writeFileSync(join(out, 'config.json'), JSON.stringify({ _class_name: 'UNet2DConditionModel' }));
  const header = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }));
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(join(out, 'diffusion_pytorch_model.safetensors'), Buffer.concat([n, header, Buffer.alloc(4)]));
}
if (mode === 'generate' || mode === 'generate-short') {
  const prompts = readFileSync(rest[0], 'utf8').split('\n').filter(Boolean);
  const count = mode === 'generate' ? prompts.length : 1;
  for (let i = 0; i < count; i++) writeFileSync(join(out, String(i).padStart(4, '0') + '.png'), 'image for ' + prompts[i]);
  writeFileSync(join(out, 'notes.txt'), 'not an image');
}
`;

const TRICKY = ['$(touch pwned)', 'a; touch pwned2', `it's "quoted"`, 'line1\nline2', '{{literal}}', '', '*'];

const ws = tempDir({ 'program.mjs': PROGRAM, 'prompts.txt': 'a red cube\n', 'sub/.keep': '' });
process.chdir(ws); // the workspace: program.mjs is a file in it
writeFileSync(
  join(ws, 'captions.json'),
  JSON.stringify({
    images: [1, 2, 3].map((id) => ({ id, file_name: `${id}.jpg`, width: 8, height: 8 })),
    annotations: [{ id: 1, image_id: 1, caption: 'a red\ncube' }, { id: 2, image_id: 2, caption: 'a blue ball' }, { id: 3, image_id: 3, caption: 'a green cone' }],
  }),
);

interface Options {
  distill?: string;
  generate?: string;
  argv?: string[];
}

function experiment(name: string, o: Options): string {
  const base = {
    teacher: { model: join(ws, 'no-teacher') },
    distill: {
      prompts: join(ws, 'prompts.txt'),
      steps: 7,
      command: { argv: [process.execPath, 'program.mjs', o.distill ?? 'distill', '{out_dir}', '--seed', '{seed}', '--steps={steps}', ...(o.argv ?? TRICKY)], env: { MY_VAR: 'seed={seed} teacher={teacher}' } },
    },
    generate: { num_samples: 2, command: { argv: [process.execPath, join(ws, 'program.mjs'), o.generate ?? 'generate', '{out_dir}', '{prompts}', '{student}'], cwd: 'sub' } },
    evaluate: { captions: { annotations: join(ws, 'captions.json'), protocol: 'first-caption-per-image', count: 3 } },
  };
  const file = join(ws, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\nbase: ${JSON.stringify(base)}\n`);
  return file;
}

async function run(file: string, reporter: Reporter = {}, signal?: AbortSignal) {
  const plan = await planExperiment(file);
  const store = new RunStore(join(ws, 'runs'));
  const [summary] = await runPlan(plan, { store, stages: [distillStage, generateStage], reporter, ...(signal ? { signal } : {}) });
  return { summary: summary!, store, plan };
}

const workDirs = (store: RunStore, stage: string): string[] => readdirSync(join(store.root, '.cache', stage)).filter((d) => d.endsWith('.work')).map((d) => join(store.root, '.cache', stage, d));

test('both stages run the program with every argument verbatim (no shell), env and cwd given, outputs checked and recorded', async () => {
  const progress: Array<[string, number, number]> = [];
  const { summary, store } = await run(experiment('ok', {}), { onProgress: (_c, stage, d, t) => progress.push([stage, d, t]) });
  assert.equal(summary.outcome, 'completed', summary.error);
  const stages = store.readStages(summary.runDir);
  const distillDir = stages.distill!.dir;
  const seen = JSON.parse(readFileSync(join(distillDir, 'seen-distill.json'), 'utf8'));
  // {out_dir} was in the work folder, published under the stage key when the stage returned
  assert.deepEqual(seen.argv, ['distill', join(`${distillDir}.work`, 'unet'), '--seed', '0', '--steps=7', '$(touch pwned)', 'a; touch pwned2', `it's "quoted"`, 'line1\nline2', '{literal}', '', '*']);
  assert.equal(seen.env, `seed=0 teacher=${join(ws, 'no-teacher')}`);
  assert.equal(seen.cwd, ws);
  assert.ok(!existsSync(join(ws, 'pwned')) && !existsSync(join(ws, 'pwned2')), 'a shell ran an argument');
  assert.deepEqual(stages.distill!.result.weights, ['diffusion_pytorch_model.safetensors']);
  assert.equal(stages.distill!.result.unet_sha256, await sha256Path(join(distillDir, 'unet')));
  assert.match(readFileSync(join(distillDir, 'command.stderr.log'), 'utf8'), /^=== .*\na line on stderr\n$/);
  assert.match(readFileSync(join(distillDir, 'command.stdout.log'), 'utf8'), /^=== \S+ \[.*"--steps=7".*\] \(cwd .*\)\nvsdlab-progress: 1\/2\n$/);
  assert.deepEqual(progress, [['distill', 1, 2], ['generate', 1, 2]]);

  const genDir = stages.generate!.dir;
  const gen = JSON.parse(readFileSync(join(genDir, 'seen-generate.json'), 'utf8'));
  assert.equal(gen.cwd, join(ws, 'sub'));
  assert.equal(gen.argv[3], join(distillDir, 'unet'), '{student} is the UNet folder the distill command left');
  assert.equal(readFileSync(join(genDir, 'prompts.txt'), 'utf8'), 'a red cube\na blue ball\n');
  assert.deepEqual(JSON.parse(readFileSync(join(genDir, 'prompts.json'), 'utf8')), ['a red\ncube', 'a blue ball']);
  const samples = JSON.parse(readFileSync(join(genDir, 'samples.json'), 'utf8')).samples;
  assert.deepEqual(samples, [{ index: 0, caption: 'a red\ncube', file: 'images/0000.png', image_id: 1 }, { index: 1, caption: 'a blue ball', file: 'images/0001.png', image_id: 2 }]);
  assert.equal(stages.generate!.result.images, 2);

  // a second run finds both stages in the cache; the program does not run again
  const again = await run(experiment('ok', {}));
  assert.equal(again.summary.outcome, 'cached');
});

test('the program file, its arguments and env join the run id and the stage key; a system program does not', async () => {
  const ids = async (file: string) => (await planExperiment(file)).cells[0]!;
  const before = await ids(experiment('id', {}));
  assert.deepEqual(before.assets.filter((a) => a.key.includes('command')).map((a) => a.key), ['distill.command.argv[1]', 'generate.command.argv[1]']);
  assert.equal(before.id, (await ids(experiment('id', {}))).id);
  assert.notEqual((await ids(experiment('id', { argv: ['--lr=2'] }))).id, before.id);
  writeFileSync(join(ws, 'program.mjs'), `${PROGRAM}\n// edited\n`);
  try {
    assert.notEqual((await ids(experiment('id', {}))).id, before.id);
  } finally {
    writeFileSync(join(ws, 'program.mjs'), PROGRAM);
  }
});

test('a non-zero exit fails the cell naming the command and its log, which holds what the program said', async () => {
  const { summary, store } = await run(experiment('fails', { distill: 'fail' }));
  assert.equal(summary.outcome, 'failed');
  assert.match(summary.error ?? '', /^distill\.command \S+node\S* exited with status 3; its log: \S+\.work\/command\.stderr\.log$/);
  const log = summary.error!.replace(/^.*its log: /, '');
  assert.match(readFileSync(log, 'utf8'), /boom: the learning rate diverged/);
  assert.ok(workDirs(store, 'distill').includes(log.replace('/command.stderr.log', '')));
});

test('outputs are checked: no UNet folder, or fewer images than captions, fails naming what is missing', async () => {
  const noUnet = await run(experiment('no-unet', { distill: 'nothing' }));
  assert.equal(noUnet.summary.outcome, 'failed');
  assert.match(noUnet.summary.error ?? '', /distill\.command left no diffusers UNet in \S+\/unet: config\.json is missing/);
  const short = await run(experiment('short', { generate: 'generate-short' }));
  assert.equal(short.summary.outcome, 'failed');
  assert.match(short.summary.error ?? '', /generate\.command wrote 1 image\(s\) to \S+\/images, expected 2/);
});

test('an interrupt is forwarded to the program as SIGTERM; the cell is interrupted', async () => {
  const abort = new AbortController();
  const reporter: Reporter = { onProgress: () => abort.abort(new InterruptedError('INTERRUPTED', 'interrupted by the user')) };
  const { summary, store } = await run(experiment('sleeps', { distill: 'sleep' }), reporter, abort.signal);
  assert.equal(summary.outcome, 'interrupted');
  assert.ok(workDirs(store, 'distill').some((d) => existsSync(join(d, 'got-sigterm'))), 'the program saw SIGTERM');
});

test('an unknown placeholder or a lone brace is a config error at plan time; a missing program is named', async () => {
  const bad = join(ws, 'bad.yaml');
  writeFileSync(bad, `name: bad\nbase:\n  distill:\n    command:\n      argv: [prog, "{outdir}", "{x"]\n`);
  const r = vsdlab(['plan', bad], { cwd: ws });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad\.yaml:5 {2}distill\.command\.argv\[1\] {2}unknown placeholder \{outdir\}; distill\.command knows \{teacher\}/);
  assert.match(r.stderr, /bad\.yaml:5 {2}distill\.command\.argv\[2\] {2}"\{x": "\{" opens no \{placeholder\}; write \{\{ for a literal brace/);
  mkdirSync(join(ws, 'missing'), { recursive: true });
  const file = experiment('missing', {});
  writeFileSync(file, readFileSync(file, 'utf8').replace(JSON.stringify(process.execPath), '"./no-such-program"'));
  const { summary } = await run(file);
  assert.equal(summary.outcome, 'failed');
  assert.match(summary.error ?? '', /distill\.command \.\/no-such-program: no such program/);
});
