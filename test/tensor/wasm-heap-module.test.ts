import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { floatStorage } from '../../src/tensor/float-storage.js';
import { selectBackend } from '../../src/tensor/index.js';
import { type StaticBlock, heapSafetyProblem, ownMemoryModule, readyHeapModule, wasmHeapModule } from '../../src/tensor/wasm-heap-module.js';

interface SquareSum {
  squareSum(g: number, n: number): number;
}

test('a heap module reads tensors where tfjs keeps them, and refuses views of any other memory', async () => {
  assert.equal((await selectBackend('wasm')).name, 'wasm');
  const m = wasmHeapModule<SquareSum>('optimizer');
  assert.equal(wasmHeapModule<SquareSum>('optimizer'), m, 'one instance per heap');
  const t = tf.tensor([1, 2, 3, -4, 0.5]);
  const view = floatStorage()!.view(t);
  assert.equal(m.exports.squareSum(m.address(view), view.length), 30.25);
  t.dispose();
  assert.throws(() => m.address(new Float32Array(4)), /not of tfjs's current heap/);
});

test('a module that owns its memory is refused (it would read and write its own, not the tensors)', async () => {
  await selectBackend('wasm');
  assert.throws(() => wasmHeapModule('smoke'), /does not run on the imported heap/);
});

test('static data or a start function is refused before instantiation: it would overwrite tfjs’s heap', () => {
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  assert.equal(heapSafetyProblem(Uint8Array.from(header)), undefined);
  assert.match(heapSafetyProblem(Uint8Array.from([...header, 11, 1, 0])) ?? '', /static data/);
  assert.match(heapSafetyProblem(Uint8Array.from([...header, 8, 1, 0])) ?? '', /start function/);
  // a section between them is skipped by its size (custom section "x" with one byte after the name)
  assert.match(heapSafetyProblem(Uint8Array.from([...header, 0, 3, 1, 0x78, 7, 11, 1, 0])) ?? '', /static data/);
});

test('no heap module on a backend without tfjs-backend-wasm’s heap', async () => {
  await tf.setBackend('cpu');
  assert.throws(() => wasmHeapModule('optimizer'), /not tfjs-backend-wasm/);
});

test('a static block is allocated on the heap once, filled, and its address kept; a memory of its own holds it at 0', async () => {
  await selectBackend('wasm');
  const table = Float64Array.from([1.5, -2, 3.25, Math.PI]);
  let fills = 0;
  const block: StaticBlock = { bytes: 8 * table.length, align: 8, fill: (buffer, at) => { fills++; new Float64Array(buffer, at, table.length).set(table); } };
  assert.equal(readyHeapModule('activation'), undefined, 'not made before asked for: readyHeapModule never allocates');
  const m = wasmHeapModule('activation', block);
  assert.ok(m.staticBlock > 0 && m.staticBlock % 8 === 0, `an 8-aligned heap allocation: ${m.staticBlock}`);
  assert.deepEqual(new Float64Array(m.memory.buffer, m.staticBlock, table.length), table);
  assert.equal(wasmHeapModule('activation', block), m, 'once per heap');
  assert.equal(readyHeapModule('activation'), m);
  assert.equal(fills, 1);
  const t = tf.tensor([1, 2, 3]);
  const view = floatStorage()!.view(t);
  assert.ok(m.holds([view]) && !m.holds([view, new Float32Array(3)]));
  t.dispose();

  const own = ownMemoryModule('activation', block);
  assert.notEqual(own.memory, m.memory);
  assert.equal(own.staticBlock, 0);
  assert.deepEqual(new Float64Array(own.memory.buffer, 0, table.length), table);
  const offsets = own.layout([3, 70000]);
  assert.deepEqual(offsets, [32, 48], 'blocks after the static block, 16-byte aligned');
  assert.ok(own.memory.buffer.byteLength >= 48 + 4 * 70000, 'grown to hold the blocks');
  assert.equal(fills, 2);
});
