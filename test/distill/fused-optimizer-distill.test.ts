import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { distill, type DistillSettings } from '../../src/distill/trainer.js';
import { setOptimizerPath, type OptimizerPath } from '../../src/distill/optimizer-step.js';
import { selectBackend } from '../../src/tensor/index.js';
import { tempDir } from '../helpers/temp.js';
import { prompts, tinyModels, tinySettings } from './tiny-models.js';

// whole distillation runs with the fused optimiser pass against the same runs with the op sequences (the trainer
// as it was before the pass): the trained weights must be the same bits

const sha256 = (params: Record<string, tf.Variable>): string => {
  const h = createHash('sha256');
  for (const k of Object.keys(params).sort()) {
    h.update(k);
    h.update(new Uint8Array((params[k]!.dataSync() as Float32Array).slice().buffer));
  }
  return h.digest('hex');
};

interface Trained {
  student: string;
  ema: string;
  lora: string | undefined;
  norms: number[];
}

const run = async (settings: DistillSettings, path: OptimizerPath): Promise<Trained> => {
  const previous = setOptimizerPath(path);
  try {
    const norms: number[] = [];
    const r = await distill(tinyModels(), settings, prompts, tempDir(), { log: (rec) => norms.push(rec.grad_norm) });
    return { student: sha256(r.student), ema: sha256(r.ema), lora: r.lora ? sha256(r.lora.params) : undefined, norms };
  } finally {
    setOptimizerPath(previous);
  }
};

const CASES: [string, Partial<DistillSettings>][] = [
  ['VSD-ε', {}],
  // the injected noise in place of the LoRA teacher: gradient norms above the clip threshold from step 2
  ['SDS-ε', { lora: { ...tinySettings().lora, enabled: false } }],
  ['VSD-ε, weight decay, EMA decay 0.99', { adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 }, emaDecay: 0.99 }],
];

for (const backend of ['wasm', 'cpu'] as const) {
  test(`${backend}: 3 distillation steps train the same student, EMA and LoRA with the fused optimiser as with the op sequences`, async (t) => {
    if (backend === 'wasm') assert.equal((await selectBackend('wasm')).name, 'wasm');
    else await tf.setBackend('cpu');
    for (const [label, over] of CASES) {
      await t.test(label, async () => {
        const settings = tinySettings({ steps: 3, ...over });
        const ops = await run(settings, 'ops');
        const fused = await run(settings, 'fused');
        assert.deepEqual(fused, ops);
        if (label.startsWith('SDS')) assert.ok(ops.norms.some((n) => n > settings.gradClip), `clipping active: norms ${ops.norms.join(', ')}`);
        assert.notEqual(ops.student, sha256(tinyModels().teacher), 'training moved the student');
      });
    }
  });
}
