import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { scaledLinearSchedule } from '../../src/diffusion/schedule.js';
import { initUNet, type UNetConfig } from '../../src/diffusion/unet/index.js';
import { loraLayersOf } from '../../src/diffusion/lora-targets.js';
import { distill, type DistillModels, type DistillSettings } from '../../src/distill/trainer.js';
import { embeddedDistillNet } from '../../src/distill/net.js';
import { selectBackend } from '../../src/tensor/index.js';
import { tempDir } from '../helpers/temp.js';
import { prompts, tinySettings } from './tiny-models.js';

// The trained bits of three VSD steps at the embedded width, pinned. The speed work of issue 19 (wasm kernels,
// fused layer dispatches, routed sums) must leave every trained number unchanged; the tests beside each change
// compare its path with the one it replaces in the same build, which cannot see a drift that both paths share.
// These digests were recorded from 73f3ba6 (before the fifth session's kernels) and every later commit must
// reproduce them. The wasm backend is deterministic across x86 hosts (xnnpack is compiled to wasm SIMD, no CPU
// dispatch); ONNX Runtime is not (MLAS picks kernels by CPU), so the teacher passes run on tfjs here.
// A change that alters them on purpose bumps the distill stage's version and re-records them (GOLDEN_PRINT=1).

const EMBEDDED: UNetConfig = {
  inChannels: 3,
  outChannels: 3,
  baseChannels: 16,
  channelMults: [1, 2, 2],
  resBlocksPerLevel: 1,
  attentionLevels: [false, false, true],
  heads: 4,
  condDim: 64,
  groups: 8,
  patchSize: 2,
  zeroInit: false,
};

/** a fixed "text encoder": each caption's embedding is a function of its length */
const encodeText = (captions: readonly string[]): tf.Tensor3D =>
  tf.tidy(() => {
    const rows = captions.map((c) => Array.from({ length: 24 * 64 }, (_, i) => Math.sin(c.length * 0.37 + i * 0.011)));
    return tf.tensor3d(rows.flat(), [captions.length, 24, 64]);
  });

const models = (): DistillModels => ({
  schedule: scaledLinearSchedule(),
  net: embeddedDistillNet(EMBEDDED),
  teacher: initUNet(EMBEDDED, 0).params,
  initRandom: (seed) => initUNet(EMBEDDED, 100 + seed).params,
  encodeText,
  nullText: encodeText(['']),
  imageShape: [32, 32, 3],
});

const digest = (params: Record<string, tf.Tensor>): string => {
  const h = createHash('sha256');
  for (const k of Object.keys(params).sort()) {
    h.update(k);
    h.update(new Uint8Array((params[k]!.dataSync() as Float32Array).slice().buffer));
  }
  return h.digest('hex').slice(0, 32);
};

const base = tinySettings({ steps: 3, checkpointEvery: 1_000_000 });
const CASES: { name: string; settings: DistillSettings; expected: Record<string, string> }[] = [
  {
    // SwiftBrush's LoRA (q, v) with CFG 4.5 on both teachers, at the bench's width
    name: 'LoRA q, v, CFG 4.5, batch 4',
    settings: { ...base, batchSize: 4, lora: { ...base.lora, rank: 8, alpha: 8, lr: 1e-3 } },
    expected: { student: '8e817327f3319c94bbf4f9c9d087842e', ema: '1c0e8afa2010f0f6119e5a96b261da59', lora: 'c366c8a4e5d1fd11bb36c46fc6ffd342', norms: '113a620fadddb3a5a67cc275480e2812' },
  },
  {
    // the embedded ablation's LoRA: rank 16 on q, k, v, out and the ResBlock convs, guidance 1
    name: 'LoRA q, k, v, out, conv, guidance 1, batch 8',
    settings: { ...base, batchSize: 8, lora: { ...base.lora, rank: 16, alpha: 16, targets: loraLayersOf(['q', 'k', 'v', 'out', 'conv']), guidanceScale: 1 } },
    expected: { student: '5bcb39cabcba13ae93c6c13ae9d33b51', ema: 'f8a5afeb12660be66b71b637c4ce6e15', lora: '17eabc01bef6af8216cf87f13a710af7', norms: '3f587a79c7c6efba886f13177e3a9c97' },
  },
];

for (const c of CASES) {
  test(`wasm: 3 VSD steps at the embedded width (${c.name}) train the pinned bits`, async () => {
    await selectBackend('wasm');
    const m = models();
    const norms: number[] = [];
    const r = await distill(m, c.settings, prompts, tempDir(), { log: (rec) => norms.push(rec.grad_norm) });
    const got = {
      student: digest(r.student),
      ema: digest(r.ema),
      lora: r.lora ? digest(r.lora.params) : 'none',
      norms: createHash('sha256').update(new Uint8Array(new Float64Array(norms).buffer)).digest('hex').slice(0, 32),
    };
    tf.dispose([...Object.values(r.student), ...Object.values(r.ema), ...Object.values(r.lora?.params ?? {}), ...Object.values(m.teacher), m.nullText]);
    if (process.env['GOLDEN_PRINT'] === '1') console.log(`golden ${c.name}: ${JSON.stringify(got)}`);
    assert.deepEqual(got, c.expected);
  });
}
