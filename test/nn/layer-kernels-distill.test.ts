import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { distill, type DistillSettings } from '../../src/distill/trainer.js';
import { selectBackend } from '../../src/tensor/index.js';
import { LINEAR, LORA_LINEAR, registerLinearKernels, unregisterLinearKernels } from '../../src/tensor/linear-kernel.js';
import { CONV_BIAS, registerConvBiasKernel, unregisterConvBiasKernel } from '../../src/tensor/conv-bias-kernel.js';
import { loraLayersOf } from '../../src/diffusion/lora-targets.js';
import { tempDir } from '../helpers/temp.js';
import { prompts, tinyModels, tinySettings } from '../distill/tiny-models.js';

// whole distillation runs with the fused linear and conv + bias kernels against the same runs with the op chains:
// trained student, EMA and LoRA weights and the logged gradient norms must be the same bits, with SwiftBrush's LoRA
// (q, v: the fused LoRA linear) and the study's (q, k, v, out and the ResBlock convs: those convs keep the chain)

const sha256 = (params: Record<string, tf.Variable>): string => {
  const h = createHash('sha256');
  for (const k of Object.keys(params).sort()) {
    h.update(k);
    h.update(new Uint8Array((params[k]!.dataSync() as Float32Array).slice().buffer));
  }
  return h.digest('hex');
};

const LAYER_KERNELS = new Set([LINEAR, LORA_LINEAR, CONV_BIAS]);

const run = async (settings: DistillSettings, fused: boolean, backend: string): Promise<{ result: Record<string, unknown>; fusedCalls: number }> => {
  if (fused) {
    registerLinearKernels(backend);
    registerConvBiasKernel(backend);
  } else {
    unregisterLinearKernels(backend);
    unregisterConvBiasKernel(backend);
  }
  const engine = tf.engine() as unknown as { runKernel: (name: string, ...rest: unknown[]) => unknown };
  const runKernel = engine.runKernel;
  let fusedCalls = 0;
  engine.runKernel = function (this: unknown, name: string, ...rest: unknown[]) {
    if (LAYER_KERNELS.has(name)) fusedCalls++;
    return runKernel.call(this, name, ...rest);
  };
  try {
    const norms: number[] = [];
    const r = await distill(tinyModels(), settings, prompts, tempDir(), { log: (rec) => norms.push(rec.grad_norm) });
    return { result: { student: sha256(r.student), ema: sha256(r.ema), lora: r.lora ? sha256(r.lora.params) : undefined, norms }, fusedCalls };
  } finally {
    engine.runKernel = runKernel;
    registerLinearKernels(backend);
    registerConvBiasKernel(backend);
  }
};

for (const backend of ['wasm', 'cpu'] as const) {
  test(`${backend}: 3 VSD steps train the same bits with the fused linear and conv + bias kernels as with the op chains`, async () => {
    await selectBackend(backend);
    const swiftbrush = tinySettings({ steps: 3 });
    const study = tinySettings({ steps: 3, lora: { ...swiftbrush.lora, targets: loraLayersOf(['q', 'k', 'v', 'out', 'conv']) } });
    for (const [what, settings] of [['LoRA on q, v', swiftbrush], ['LoRA on q, k, v, out, conv', study]] as const) {
      const fused = await run(settings, true, backend);
      const chain = await run(settings, false, backend);
      assert.ok(fused.fusedCalls > 0, `${what}: the layer kernels ran`);
      assert.equal(chain.fusedCalls, 0, `${what}: the chains ran without them`);
      assert.deepEqual(fused.result, chain.result, `${what}: trained bits`);
      assert.ok(Array.isArray(fused.result['norms']) && (fused.result['norms'] as number[]).length === 3, `${what}: three logged steps`);
    }
  });
}
