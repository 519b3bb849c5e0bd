import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { tfjsUNetEngine } from '../../src/diffusion/unet/unet-engine.js';
import type { TeacherPasses } from '../../src/distill/net.js';
import { distill, type DistillModels, type StepRecord } from '../../src/distill/trainer.js';
import { tempDir } from '../helpers/temp.js';
import { prompts, tinyModels, tinySettings, tinyUNet } from './tiny-models.js';

await tf.setBackend('cpu');

const weights = (params: Record<string, tf.Variable>): number[] => Object.keys(params).sort().flatMap((k) => Array.from(params[k]!.dataSync()));

/** the passes on the tfjs engine, counting the calls with and without the adapter switched on */
function counted(models: DistillModels): { passes: TeacherPasses; calls: { frozen: number; lora: number } } {
  const engine = tfjsUNetEngine({ config: tinyUNet, params: models.teacher });
  const calls = { frozen: 0, lora: 0 };
  return {
    calls,
    passes: {
      forward: (x, t, cond, lora) => {
        if (lora?.enabled === true) calls.lora += 1;
        else calls.frozen += 1;
        return engine.forward(x, t, cond, lora);
      },
    },
  };
}

test('the score gradient’s teacher passes go through the models’ engine hook; on the tfjs engine the run is bit for bit the default one', async () => {
  for (const lora of [true, false]) {
    const settings = tinySettings({ steps: 3, lora: { ...tinySettings().lora, enabled: lora } });
    const plainLog: StepRecord[] = [];
    const plain = await distill(tinyModels(), settings, prompts, tempDir(), { log: (r) => plainLog.push(r) });
    const models = tinyModels();
    const { passes, calls } = counted(models);
    const hookedLog: StepRecord[] = [];
    const hooked = await distill({ ...models, teacherPasses: passes }, settings, prompts, tempDir(), { log: (r) => hookedLog.push(r) });
    // one guided frozen pass per step, and one LoRA pass per step for VSD (its own training pass stays on tfjs)
    assert.deepEqual(calls, { frozen: 3, lora: lora ? 3 : 0 });
    assert.deepEqual(hookedLog, plainLog);
    assert.deepEqual(weights(hooked.student), weights(plain.student));
    assert.deepEqual(weights(hooked.ema), weights(plain.ema));
    if (lora) assert.deepEqual(weights(hooked.lora!.params), weights(plain.lora!.params));
  }
});

