import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type * as tf from '@tensorflow/tfjs';
import { distill, type DistillSettings } from '../../src/distill/trainer.js';
import { selectBackend } from '../../src/tensor/index.js';
import { setMatMulKernels, type MatMulKernels } from '../../src/tensor/fast-matmul.js';
import { tempDir } from '../helpers/temp.js';
import { prompts, tinyModels, tinySettings } from '../distill/tiny-models.js';

// whole distillation runs on wasm with the attention's batched products on the SIMD kernel against the same runs
// on the backend's own batched loop: the trained weights and logged gradient norms must be the same bits

const sha256 = (params: Record<string, tf.Variable>): string => {
  const h = createHash('sha256');
  for (const k of Object.keys(params).sort()) {
    h.update(k);
    h.update(new Uint8Array((params[k]!.dataSync() as Float32Array).slice().buffer));
  }
  return h.digest('hex');
};

const run = async (settings: DistillSettings, kernel: MatMulKernels): Promise<Record<string, unknown>> => {
  setMatMulKernels(kernel);
  try {
    const norms: number[] = [];
    const r = await distill(tinyModels(), settings, prompts, tempDir(), { log: (rec) => norms.push(rec.grad_norm) });
    return { student: sha256(r.student), ema: sha256(r.ema), lora: r.lora ? sha256(r.lora.params) : undefined, norms };
  } finally {
    setMatMulKernels('simd');
  }
};

test('wasm: 3 VSD steps (tiny UNet: 16-token attention, head dim 8) train the same bits with the SIMD batched matMul', async () => {
  assert.equal((await selectBackend('wasm')).name, 'wasm');
  const settings = tinySettings({ steps: 3 });
  const backend = await run(settings, 'backend');
  const simd = await run(settings, 'simd');
  assert.deepEqual(simd, backend);
  assert.notEqual(simd['student'], sha256(tinyModels().teacher), 'training moved the student');
});
