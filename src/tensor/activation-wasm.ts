// assembly/activation.ts's instances: the module imports its memory, so it can run inside the tfjs wasm backend's
// heap on the tensors' own floats (no copies in and out: ≈ 2 MB of copies per VSD step, more memory traffic than
// the kernels' own), or in a memory of its own into which the caller copies (the cpu backend, plain arrays).
// either memory holds a copy of fast-math.ts's exp fraction table, whose address every kernel takes.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { EXP_FRACTION } from './fast-math.js';

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

const PAGE = 65536;
const TABLE_BYTES = 8 * EXP_FRACTION.length;

let compiled: WebAssembly.Module | undefined;
const instantiate = (memory: WebAssembly.Memory, table: number): ActivationInstance => {
  if (compiled === undefined) {
    const path = fileURLToPath(new URL('../../wasm/activation.wasm', import.meta.url));
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch {
      throw new Error(`the WebAssembly kernels ${path} are missing: run npm run build (it compiles assembly/activation.ts)`);
    }
    compiled = new WebAssembly.Module(bytes);
  }
  const instance = new WebAssembly.Instance(compiled, { env: { memory } });
  new Float64Array(memory.buffer, table, EXP_FRACTION.length).set(EXP_FRACTION);
  return { exports: instance.exports as unknown as ActivationExports, memory, table };
};

// ------------------------------------------------------------------------------------- a memory of its own

let own: ActivationInstance | undefined;
/** the table at 0, then the blocks */
const BLOCKS_AT = Math.ceil(TABLE_BYTES / 16) * 16;

/**
 * the module in its own memory with `arrays` copied into consecutive 16-byte aligned blocks, followed by blocks
 * for outputs of these lengths (floats): the instance and the blocks' byte offsets (valid until the next call)
 */
export const copiedIn = (arrays: readonly Float32Array[], outputLengths: readonly number[]): [ActivationInstance, number[]] => {
  own ??= instantiate(new WebAssembly.Memory({ initial: 1 }), 0);
  const offsets: number[] = [];
  let at = BLOCKS_AT;
  for (const n of [...arrays.map((a) => a.length), ...outputLengths]) {
    offsets.push(at);
    at += Math.ceil((4 * n) / 16) * 16;
  }
  const need = Math.ceil(at / PAGE) - own.memory.buffer.byteLength / PAGE;
  if (need > 0) own.memory.grow(need);
  arrays.forEach((a, i) => new Float32Array(own!.memory.buffer, offsets[i] as number, a.length).set(a));
  return [own, offsets];
};

/** `out` from the own memory's block at `offset` */
export const copyOut = (m: ActivationInstance, offset: number, out: Float32Array): void => out.set(new Float32Array(m.memory.buffer, offset, out.length));

// ------------------------------------------------------------------------------------- the tfjs wasm heap

/** the part of tfjs-backend-wasm's Emscripten module used here: its memory and its allocator */
interface EmscriptenHeap {
  asm: { memory: WebAssembly.Memory };
  _malloc(bytes: number): number;
}

const heapOf = (backend: unknown): EmscriptenHeap | undefined => {
  const wasm = (backend as { wasm?: Partial<EmscriptenHeap> } | undefined)?.wasm;
  return wasm?.asm?.memory instanceof WebAssembly.Memory && typeof wasm._malloc === 'function' ? (wasm as EmscriptenHeap) : undefined;
};

const inHeap = new WeakMap<WebAssembly.Memory, ActivationInstance>();

/** the active backend's heap when it is the tfjs wasm backend's */
const activeHeap = (): EmscriptenHeap | undefined => (tf.getBackend() === 'wasm' ? heapOf(tf.backend()) : undefined);

/**
 * the instance that runs in the tfjs wasm heap when every array is a view of it (the wasm backend's tensors), else
 * undefined (copy into the own memory). a heap's instance is made by prepareHeap, never here: its table is an
 * allocation in the heap, which may grow it and detach the views that a kernel holds.
 */
export const heapInstance = (arrays: readonly Float32Array[]): ActivationInstance | undefined => {
  const heap = activeHeap();
  if (heap === undefined) return undefined;
  const m = inHeap.get(heap.asm.memory);
  if (m === undefined) return undefined;
  const buffer = m.memory.buffer;
  return arrays.every((a) => a.buffer === buffer) ? m : undefined;
};

/**
 * makes the active wasm backend's heap instance (its table allocated there once, 256 bytes for the process's
 * life) if there is none yet. call only while no view of the heap is held: after a kernel's last use of its views.
 */
export const prepareHeap = (): void => {
  const heap = activeHeap();
  if (heap === undefined || inHeap.has(heap.asm.memory)) return;
  const table = heap._malloc(TABLE_BYTES);
  if (table === 0 || table % 8 !== 0) throw new Error(`activation kernels: the tfjs heap gave the exp table ${table}`);
  inHeap.set(heap.asm.memory, instantiate(heap.asm.memory, table));
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
