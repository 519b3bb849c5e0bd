// Loads a WebAssembly kernel module compiled from assembly/ with an imported memory (scripts/build-wasm.js's
// IMPORTED_MEMORY) onto tfjs-backend-wasm's own heap, so that its kernels read and write tensors where they are:
// no copy in or out (wasm-module.ts's modules copy, since they own their memory). Such a module may own no static
// data: instantiating it would write its data segments into tfjs's heap, so the loader refuses any module that has
// them (or a start function). What a module needs as static data (an exp table) is a static block instead: allocated
// with tfjs's own _malloc once per heap, filled by the caller, its address passed to the kernels. The same module
// also runs on a memory of its own, into which the caller copies (the cpu backend, plain arrays): ownMemoryModule.
// Synchronous: tfjs kernels run synchronously.
import * as tf from '@tensorflow/tfjs';
import { isWasmHeapBackend } from './wasm-heap.js';
import { compiledWasm } from './wasm-module.js';

export interface WasmHeapModule<E> {
  /** the module's exported functions */
  readonly exports: E;
  /** the memory the module runs on (tfjs's heap, or its own) */
  readonly memory: WebAssembly.Memory;
  /** the byte address of the module's static block in that memory (0 when it was given none) */
  readonly staticBlock: number;
  /** the byte address of a view of the memory, for the kernels (throws for a view of any other memory) */
  address(view: ArrayBufferView): number;
  /** whether every view is of the memory's current buffer (then each one's byteOffset is its address) */
  holds(views: readonly ArrayBufferView[]): boolean;
}

/** what a module needs beside its code: `bytes` at an address aligned to `align`, filled once by `fill` */
export interface StaticBlock {
  readonly bytes: number;
  readonly align: number;
  fill(buffer: ArrayBuffer, at: number): void;
}

/** a module on a memory of its own, with float32 blocks laid out after its static block */
export interface OwnMemoryModule<E> extends WasmHeapModule<E> {
  /**
   * byte offsets of consecutive float32 blocks of the given lengths (16-byte aligned, for v128 loads) after the
   * static block, growing the memory when needed (which detaches earlier views); valid until the next call
   */
  layout(lengths: readonly number[]): number[];
}

/** the part of tfjs-backend-wasm's Emscripten module used here: its memory and its allocator */
interface EmscriptenHeap {
  asm: { memory: WebAssembly.Memory };
  _malloc(bytes: number): number;
}

/** the active backend's Emscripten heap when it is tfjs-backend-wasm with a reachable memory and allocator */
const activeHeap = (): EmscriptenHeap | undefined => {
  // (tf.backend() throws while no backend is initialised, as in a test that calls the kernels on plain arrays)
  if (tf.getBackend() !== 'wasm') return undefined;
  const backend = tf.backend();
  if (!isWasmHeapBackend(backend)) return undefined;
  const wasm = (backend as { wasm?: Partial<EmscriptenHeap> }).wasm;
  return wasm?.asm?.memory instanceof WebAssembly.Memory && typeof wasm._malloc === 'function' ? (wasm as EmscriptenHeap) : undefined;
};

/** reads one unsigned LEB128 at `at`: [value, next offset] */
const leb = (bytes: Uint8Array, at: number): [number, number] => {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at++] as number;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [value, at];
    shift += 7;
  }
};

/** the module's section ids (after the 8-byte header) */
const sectionIds = (bytes: Uint8Array): number[] => {
  const ids: number[] = [];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at] as number;
    const [size, body] = leb(bytes, at + 1);
    ids.push(id);
    at = body + size;
  }
  return ids;
};

/** whether the active backend is tfjs-backend-wasm with a heap that modules can be loaded on */
export const wasmHeapActive = (): boolean => activeHeap() !== undefined;

const START = 8;
const DATA = 11;

/** why a module's bytes may not be instantiated on tfjs's heap, or undefined: static data or a start function */
export const heapSafetyProblem = (bytes: Uint8Array): string | undefined => {
  const ids = sectionIds(bytes);
  if (ids.includes(DATA)) return 'has static data (a data section) that instantiating would write into tfjs\'s heap';
  if (ids.includes(START)) return 'has a start function';
  return undefined;
};

const checked = new Set<string>();

/** the module `name` (dist/wasm/<name>.wasm) instantiated on `memory`, its static block (if any) at `at`, filled */
const instantiateOn = <E>(name: string, memory: WebAssembly.Memory, at: number, block: StaticBlock | undefined): WasmHeapModule<E> => {
  const { bytes, module } = compiledWasm(name);
  if (!checked.has(name)) {
    const problem = heapSafetyProblem(bytes);
    if (problem !== undefined) throw new Error(`dist/wasm/${name}.wasm ${problem}`);
    checked.add(name);
  }
  const instance = new WebAssembly.Instance(module, { env: { memory, abort: () => { throw new Error(`wasm kernel ${name} aborted`); } } });
  // (AssemblyScript exports the memory it imports)
  if (instance.exports['memory'] !== memory) throw new Error(`dist/wasm/${name}.wasm does not run on the imported heap (scripts/build-wasm.js's IMPORTED_MEMORY)`);
  block?.fill(memory.buffer, at);
  return {
    exports: instance.exports as unknown as E,
    memory,
    staticBlock: at,
    address: (view) => {
      // a view of a buffer the memory has since outgrown (detached) or of another memory would be the wrong bytes
      if (view.buffer !== memory.buffer) throw new Error(`wasm heap module ${name}: a view that is not of tfjs's current heap`);
      return view.byteOffset;
    },
    holds: (views) => {
      const buffer = memory.buffer;
      return views.every((v) => v.buffer === buffer);
    },
  };
};

const instances = new WeakMap<WebAssembly.Memory, Map<string, WasmHeapModule<unknown>>>();

/** the active heap's instance of `name` if one was made, else undefined: never allocates (safe while views are held) */
export function readyHeapModule<E>(name: string): WasmHeapModule<E> | undefined {
  const heap = activeHeap();
  return heap === undefined ? undefined : (instances.get(heap.asm.memory)?.get(name) as WasmHeapModule<E> | undefined);
}

/**
 * the compiled module `name` (dist/wasm/<name>.wasm) on the active tfjs-backend-wasm's heap, made once per heap.
 * with a static block, making it allocates the block with tfjs's _malloc (kept for the heap's life), which may grow
 * the heap and detach every view of it: call it first where no view is held (readyHeapModule never allocates).
 */
export function wasmHeapModule<E>(name: string, block?: StaticBlock): WasmHeapModule<E> {
  const heap = activeHeap();
  if (heap === undefined) throw new Error(`wasm heap module ${name}: the active backend (${tf.getBackend()}) is not tfjs-backend-wasm with a reachable heap`);
  const memory = heap.asm.memory;
  let byName = instances.get(memory);
  if (byName === undefined) instances.set(memory, (byName = new Map()));
  const cached = byName.get(name);
  if (cached !== undefined) return cached as WasmHeapModule<E>;
  let at = 0;
  if (block !== undefined) {
    at = heap._malloc(block.bytes);
    if (at === 0 || at % block.align !== 0) throw new Error(`wasm heap module ${name}: the tfjs heap gave its static block ${at}`);
  }
  const m = instantiateOn<E>(name, memory, at, block);
  byName.set(name, m);
  return m;
}

const PAGE = 65536;
const align16 = (bytes: number): number => Math.ceil(bytes / 16) * 16;
const owned = new Map<string, OwnMemoryModule<unknown>>();

/** the module `name` on a memory of its own (once per process), its static block (if any) at 0, then the blocks */
export function ownMemoryModule<E>(name: string, block?: StaticBlock): OwnMemoryModule<E> {
  const cached = owned.get(name);
  if (cached !== undefined) return cached as OwnMemoryModule<E>;
  const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil((block?.bytes ?? 0) / PAGE)) });
  const m = instantiateOn<E>(name, memory, 0, block);
  const start = align16(block?.bytes ?? 0);
  const own: OwnMemoryModule<E> = {
    ...m,
    layout(lengths) {
      const offsets: number[] = [];
      let at = start;
      for (const n of lengths) {
        offsets.push(at);
        at += align16(4 * n);
      }
      const need = Math.ceil(at / PAGE) - memory.buffer.byteLength / PAGE;
      if (need > 0) memory.grow(need);
      return offsets;
    },
  };
  owned.set(name, own);
  return own;
}
