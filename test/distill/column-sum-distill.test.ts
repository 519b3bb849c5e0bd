import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { distill } from '../../src/distill/trainer.js';
import { registerFastKernels, selectBackend, unregisterFastKernels } from '../../src/tensor/index.js';
import { columnSumGeometry } from '../../src/tensor/heap-column-sum.js';
import { tempDir } from '../helpers/temp.js';
import { prompts, tinyModels, tinySettings } from './tiny-models.js';

// whole distillation runs with the column-sum Sum (src/tensor/heap-column-sum.ts) against the same runs with wasm's
// own Sum: every bias gradient goes through it, and the trained weights must be the same bits

const sha256 = (params: Record<string, tf.Variable>): string => {
  const h = createHash('sha256');
  for (const k of Object.keys(params).sort()) {
    h.update(k);
    h.update(new Uint8Array((params[k]!.dataSync() as Float32Array).slice().buffer));
  }
  return h.digest('hex');
};

test('wasm: 3 distillation steps train the same student, EMA and LoRA with the column-sum Sum as with wasm\'s Sum', async () => {
  assert.equal((await selectBackend('wasm')).name, 'wasm');
  const routed = tf.getKernel(tf.Sum, 'wasm');
  unregisterFastKernels('wasm');
  const own = tf.getKernel(tf.Sum, 'wasm');
  registerFastKernels('wasm');
  assert.ok(routed !== undefined && own !== undefined && routed.kernelFunc !== own.kernelFunc, 'the route is registered');
  let calls = 0;
  const use = (config: tf.KernelConfig): void => {
    tf.unregisterKernel(tf.Sum, 'wasm');
    tf.registerKernel(config);
  };
  const run = async (): Promise<{ student: string; ema: string; lora: string | undefined }> => {
    const r = await distill(tinyModels(), tinySettings({ steps: 3 }), prompts, tempDir(), {});
    return { student: sha256(r.student), ema: sha256(r.ema), lora: r.lora ? sha256(r.lora.params) : undefined };
  };
  try {
    // counts the calls that take the column sums (not an innermost reduction)
    const counted = (args: Parameters<tf.KernelFunc>[0]): ReturnType<tf.KernelFunc> => {
      const x = args.inputs['x'] as tf.TensorInfo;
      if (columnSumGeometry(x.shape, args.attrs?.['axis'] as number | number[]) !== undefined) calls++;
      return routed.kernelFunc(args);
    };
    use({ ...routed, kernelFunc: counted as tf.KernelFunc });
    const withRoute = await run();
    const sumsTaken = calls;
    use(own);
    const withOwn = await run();
    assert.ok(sumsTaken >= 10, `${sumsTaken} column sums (bias gradients)`);
    assert.deepEqual(withRoute, withOwn);
    assert.notEqual(withOwn.student, sha256(tinyModels().teacher), 'training moved the student');
  } finally {
    use(routed);
  }
});
