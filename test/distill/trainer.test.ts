import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { readdirSync } from 'node:fs';
import { distill, type StepRecord } from '../../src/distill/trainer.js';
import { VsdlabError } from '../../src/errors.js';
import { tempDir } from '../helpers/temp.js';
import { prompts, tinyModels, tinySettings } from './tiny-models.js';

await tf.setBackend('cpu');

const weights = (params: Record<string, tf.Variable>): number[] => Object.keys(params).sort().flatMap((k) => Array.from(params[k]!.dataSync()));

test('VSD: the fresh LoRA teacher equals the teacher, so the first score gradient is exactly zero; SDS is not', async () => {
  const logs: StepRecord[] = [];
  await distill(tinyModels(), tinySettings({ steps: 1 }), prompts, tempDir(), { log: (r) => logs.push(r) });
  assert.equal(logs[0]?.loss_vsd, 0);
  assert.equal(logs[0]?.grad_norm, 0);
  assert.ok((logs[0]?.loss_lora ?? 0) > 0);
  const sds: StepRecord[] = [];
  await distill(tinyModels(), tinySettings({ steps: 1, lora: { ...tinySettings().lora, enabled: false } }), prompts, tempDir(), { log: (r) => sds.push(r) });
  assert.ok((sds[0]?.loss_vsd ?? 0) > 0);
  assert.equal(sds[0]?.loss_lora, undefined);
});

test('the same seed gives the same weights; resuming from a checkpoint equals training straight through', async () => {
  const straightDir = tempDir();
  const a = await distill(tinyModels(), tinySettings({ steps: 4 }), prompts, straightDir);
  const b = await distill(tinyModels(), tinySettings({ steps: 4 }), prompts, tempDir());
  assert.deepEqual(weights(a.student), weights(b.student));
  assert.ok(readdirSync(straightDir).includes('checkpoint-4.safetensors'));

  const resumedDir = tempDir();
  await distill(tinyModels(), tinySettings({ steps: 2 }), prompts, resumedDir); // "killed" after step 2
  const resumed = await distill(tinyModels(), tinySettings({ steps: 4 }), prompts, resumedDir);
  assert.equal(resumed.startedFrom, 2);
  assert.deepEqual(weights(resumed.student), weights(a.student));
  assert.deepEqual(weights(resumed.ema), weights(a.ema));
  assert.deepEqual(weights(resumed.lora!.params), weights(a.lora!.params));
  assert.notDeepEqual(weights(a.student), weights(tinyModels().teacher), 'training moved the student');
});

test('a non-finite loss stops training and names the step and the quantity', async () => {
  await assert.rejects(
    distill(tinyModels({ nanText: true }), tinySettings({ steps: 3, lora: { ...tinySettings().lora, enabled: false } }), prompts, tempDir()),
    (e: unknown) => e instanceof VsdlabError && /^step 1: (student gradient norm|VSD loss) is NaN/.test(e.message),
  );
});

test('the LoRA teacher’s own guidance scale: a fresh LoRA makes the first VSD gradient w·(s_teacher − s_lora)·(ε_c − ε_u)', async () => {
  const firstLoss = async (loraScale: number): Promise<number> => {
    const logs: StepRecord[] = [];
    await distill(tinyModels(), tinySettings({ steps: 1, lora: { ...tinySettings().lora, guidanceScale: loraScale } }), prompts, tempDir(), { log: (r) => logs.push(r) });
    return logs[0]?.loss_vsd ?? NaN;
  };
  const atOne = await firstLoss(1);
  const atThreeAndHalf = await firstLoss(3.5);
  assert.ok(atOne > 0);
  // the loss is 0.5·mean(g²), so it scales with (4.5 − s_lora)²: (3.5 / 1)²
  assert.ok(Math.abs(atOne / atThreeAndHalf - 12.25) < 12.25 * 1e-4, `${atOne} / ${atThreeAndHalf}`);
});

test('conv LoRA adapters train and resume like linear ones', async () => {
  const conv = { ...tinySettings().lora, targets: ['to_q', 'to_v', 'conv1', 'conv2'] };
  const straight = await distill(tinyModels(), tinySettings({ steps: 4, lora: conv }), prompts, tempDir());
  const dir = tempDir();
  await distill(tinyModels(), tinySettings({ steps: 2, lora: conv }), prompts, dir);
  const resumed = await distill(tinyModels(), tinySettings({ steps: 4, lora: conv }), prompts, dir);
  assert.ok(Object.keys(straight.lora!.params).some((n) => n.includes('.conv1.w.lora_b')));
  assert.ok(Object.entries(straight.lora!.params).some(([n, p]) => n.includes('.conv2.w.lora_b') && (tf.max(tf.abs(p)).dataSync()[0] ?? 0) > 0), 'conv adapters moved');
  assert.deepEqual(weights(resumed.lora!.params), weights(straight.lora!.params));
  assert.deepEqual(weights(resumed.student), weights(straight.student));
});

test('several LoRA-teacher updates per student update (DMD2’s two time-scale rule) move only the LoRA within a step, and resume', async () => {
  const twice = { ...tinySettings().lora, updatesPerStep: 2 };
  const once1 = await distill(tinyModels(), tinySettings({ steps: 1 }), prompts, tempDir());
  const twice1 = await distill(tinyModels(), tinySettings({ steps: 1, lora: twice }), prompts, tempDir());
  // the student update comes first in an iteration, so after one iteration only the LoRA differs
  assert.deepEqual(weights(twice1.student), weights(once1.student));
  assert.notDeepEqual(weights(twice1.lora!.params), weights(once1.lora!.params));
  const straight = await distill(tinyModels(), tinySettings({ steps: 3, lora: twice }), prompts, tempDir());
  const once3 = await distill(tinyModels(), tinySettings({ steps: 3 }), prompts, tempDir());
  assert.notDeepEqual(weights(straight.student), weights(once3.student), 'the better-tracked LoRA changes the student’s gradient');
  const dir = tempDir();
  await distill(tinyModels(), tinySettings({ steps: 1, lora: twice }), prompts, dir);
  const resumed = await distill(tinyModels(), tinySettings({ steps: 3, lora: twice }), prompts, dir);
  assert.deepEqual(weights(resumed.lora!.params), weights(straight.lora!.params));
  assert.deepEqual(weights(resumed.student), weights(straight.student));
});

test('a cosine student rate starts at the full rate, then anneals, and resumes mid-schedule exactly', async () => {
  const cosine = (steps: number) => tinySettings({ steps, studentLrSchedule: 'cosine', checkpointEvery: 1 });
  const constant1 = await distill(tinyModels(), tinySettings({ steps: 1 }), prompts, tempDir());
  const cosine1 = await distill(tinyModels(), cosine(1), prompts, tempDir());
  assert.deepEqual(weights(cosine1.student), weights(constant1.student), 'step 1 runs at the full rate');
  const straight = await distill(tinyModels(), cosine(4), prompts, tempDir());
  const constant4 = await distill(tinyModels(), tinySettings({ steps: 4 }), prompts, tempDir());
  assert.notDeepEqual(weights(straight.student), weights(constant4.student));
  // killed after step 2 of the same 4-step schedule, then run again
  const dir = tempDir();
  const stop = new AbortController();
  await assert.rejects(distill(tinyModels(), cosine(4), prompts, dir, { signal: stop.signal, progress: (step) => step === 2 && stop.abort(new Error('killed')) }), /killed/);
  const resumed = await distill(tinyModels(), cosine(4), prompts, dir);
  assert.equal(resumed.startedFrom, 2);
  assert.deepEqual(weights(resumed.student), weights(straight.student));
});
