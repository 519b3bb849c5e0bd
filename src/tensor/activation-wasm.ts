// assembly/activation.ts's instances (loaded by wasm-heap-module.ts): the module imports its memory, so it can run
// inside the tfjs wasm backend's heap on the tensors' own floats (no copies in and out: ≈ 2 MB of copies per VSD
// step, more memory traffic than the kernels' own), or in a memory of its own into which the caller copies (the cpu
// backend, plain arrays). either memory holds a copy of fast-math.ts's exp fraction table (the module's static
// block), whose address every kernel takes.
import { EXP_FRACTION } from './fast-math.js';
import { type StaticBlock, type WasmHeapModule, ownMemoryModule, readyHeapModule, wasmHeapActive, wasmHeapModule } from './wasm-heap-module.js';

export interface ActivationExports {
  silu(x: number, y: number, n: number, table: number): void;
  siluGrad(dy: number, x: number, dx: number, n: number, table: number): void;
  geglu(x: number, y: number, rows: number, D: number, k: number, c: number, table: number): void;
  gegluGrad(dy: number, x: number, dx: number, rows: number, D: number, k: number, c: number, table: number): void;
}

/** the module on one memory, with the exp table at `table` */
export interface ActivationInstance {
  readonly exports: ActivationExports;
  readonly memory: WebAssembly.Memory;
  readonly table: number;
}

const NAME = 'activation';
/** the exp table, 8-byte aligned for the kernels' f64 loads */
const EXP_TABLE: StaticBlock = {
  bytes: 8 * EXP_FRACTION.length,
  align: 8,
  fill: (buffer, at) => new Float64Array(buffer, at, EXP_FRACTION.length).set(EXP_FRACTION),
};

const instances = new WeakMap<WasmHeapModule<ActivationExports>, ActivationInstance>();
const instanceOf = (m: WasmHeapModule<ActivationExports>): ActivationInstance => {
  let i = instances.get(m);
  if (i === undefined) instances.set(m, (i = { exports: m.exports, memory: m.memory, table: m.staticBlock }));
  return i;
};

// ------------------------------------------------------------------------------------- a memory of its own

/**
 * the module in its own memory with `arrays` copied into consecutive 16-byte aligned blocks, followed by blocks
 * for outputs of these lengths (floats): the instance and the blocks' byte offsets (valid until the next call)
 */
export const copiedIn = (arrays: readonly Float32Array[], outputLengths: readonly number[]): [ActivationInstance, number[]] => {
  const own = ownMemoryModule<ActivationExports>(NAME, EXP_TABLE);
  const offsets = own.layout([...arrays.map((a) => a.length), ...outputLengths]);
  arrays.forEach((a, i) => new Float32Array(own.memory.buffer, offsets[i] as number, a.length).set(a));
  return [instanceOf(own), offsets];
};

/** `out` from the own memory's block at `offset` */
export const copyOut = (m: ActivationInstance, offset: number, out: Float32Array): void => out.set(new Float32Array(m.memory.buffer, offset, out.length));

// ------------------------------------------------------------------------------------- the tfjs wasm heap

/**
 * the instance that runs in the tfjs wasm heap when every array is a view of it (the wasm backend's tensors), else
 * undefined (copy into the own memory). a heap's instance is made by prepareHeap, never here: its table is an
 * allocation in the heap, which may grow it and detach the views that a kernel holds.
 */
export const heapInstance = (arrays: readonly Float32Array[]): ActivationInstance | undefined => {
  const m = readyHeapModule<ActivationExports>(NAME);
  return m !== undefined && m.holds(arrays) ? instanceOf(m) : undefined;
};

/**
 * makes the active wasm backend's heap instance (its table allocated there once, 256 bytes for the process's
 * life) if there is none yet. call only while no view of the heap is held: after a kernel's last use of its views.
 */
export const prepareHeap = (): void => {
  if (wasmHeapActive() && readyHeapModule(NAME) === undefined) wasmHeapModule<ActivationExports>(NAME, EXP_TABLE);
};

/**
 * runs `call` (a kernel of the module, on the blocks' byte offsets: inputs', then outputs') in place when every
 * array is a view of the tfjs wasm heap with its instance ready, else on copies in the own memory. the first
 * copied call on the wasm backend then prepares the heap's instance, after its last use of the arrays: the
 * callers (js-kernels.ts) hold no view once a kernel's run returns.
 */
export const runActivation = (inputs: readonly Float32Array[], outputs: readonly Float32Array[], call: (k: ActivationExports, table: number, offsets: number[]) => void): void => {
  const all = [...inputs, ...outputs];
  const h = heapInstance(all);
  if (h !== undefined) {
    call(h.exports, h.table, all.map((a) => a.byteOffset));
    return;
  }
  const [m, offsets] = copiedIn(inputs, outputs.map((o) => o.length));
  call(m.exports, m.table, offsets);
  outputs.forEach((o, i) => copyOut(m, offsets[inputs.length + i] as number, o));
  prepareHeap();
};
