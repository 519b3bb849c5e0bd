// whether tf.fused.conv2d with a bias gives the same bits as conv2d then add (layers.ts `conv`), on the wasm
// backend at the embedded teacher's conv shapes (patch 2, batch 16): folding the bias into the conv is only
// allowed if it changes no trained number. prints how many outputs differ and by how much, and the CPU time of each.
// run: npm run build && node dist/bench/tensor/conv-bias-fusion.js
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/tensor/index.js';

const cpuSeconds = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};
const best = (run: () => void, reps = 5): number => {
  run();
  let b = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = cpuSeconds();
    run();
    b = Math.min(b, cpuSeconds() - t0);
  }
  return b;
};

await selectBackend('wasm');
// [batch, side, in channels, out channels]: the folded input conv and one conv per level
const SHAPES: [number, number, number, number][] = [
  [16, 16, 12, 16],
  [16, 16, 16, 16],
  [16, 8, 32, 32],
  [16, 4, 32, 32],
];
for (const [b, side, ci, co] of SHAPES) {
  tf.tidy(() => {
    const x = tf.randomNormal([b, side, side, ci], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, ci, co], 0, Math.sqrt(1 / (9 * ci)), 'float32', 2) as tf.Tensor4D;
    const bias = tf.randomNormal([co], 0, 0.5, 'float32', 3);
    const separate = (): tf.Tensor => tf.add(tf.conv2d(x, w, 1, 'same'), bias);
    const fused = (): tf.Tensor => tf.fused.conv2d({ x, filter: w, strides: 1, pad: 'same', bias });
    const a = separate().dataSync();
    const f = fused().dataSync();
    let differ = 0;
    let worst = 0;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs((a[i] as number) - (f[i] as number));
      if (d !== 0) differ++;
      worst = Math.max(worst, d);
    }
    const ts = best(() => separate().dispose());
    const tf_ = best(() => fused().dispose());
    console.log(
      `conv 3x3 ${b}x${side}x${side}x${ci} -> ${co}: ${differ} of ${a.length} outputs differ (${((100 * differ) / a.length).toFixed(1)} %), max |diff| ${worst.toExponential(2)}; conv + add ${(ts * 1e3).toFixed(2)} ms, fused ${(tf_ * 1e3).toFixed(2)} ms CPU`,
    );
  });
}
