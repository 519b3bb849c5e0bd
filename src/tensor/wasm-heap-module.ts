// Loads a WebAssembly kernel module compiled from assembly/ with an imported memory (scripts/build-wasm.js's
// IMPORTED_MEMORY) onto tfjs-backend-wasm's own heap, so that its kernels read and write tensors where they are:
// no copy in or out (wasm-module.ts's modules copy, since they own their memory). Such a module may own no static
// data: instantiating it would write its data segments into tfjs's heap, so the loader refuses any module that has
// them (or a start function). Synchronous: tfjs kernels run synchronously.
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isWasmHeapBackend } from './wasm-heap.js';

export interface WasmHeapModule<E> {
  /** the module's exported functions */
  readonly exports: E;
  /** the byte address of a view of the heap, for the kernels (throws for a view of any other memory) */
  address(view: Float32Array): number;
}

/** the part of tfjs-backend-wasm's emscripten module that holds its memory */
interface HeapOwner {
  wasm: { asm: { memory: WebAssembly.Memory } };
}

const heapMemory = (backend: tf.KernelBackend): WebAssembly.Memory | undefined => {
  const memory = (backend as Partial<HeapOwner>).wasm?.asm?.memory;
  return memory instanceof WebAssembly.Memory ? memory : undefined;
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

const START = 8;
const DATA = 11;

/** why a module's bytes may not be instantiated on tfjs's heap, or undefined: static data or a start function */
export const heapSafetyProblem = (bytes: Uint8Array): string | undefined => {
  const ids = sectionIds(bytes);
  if (ids.includes(DATA)) return 'has static data (a data section) that instantiating would write into tfjs\'s heap';
  if (ids.includes(START)) return 'has a start function';
  return undefined;
};

const compiled = new Map<string, WebAssembly.Module>();
const instances = new WeakMap<WebAssembly.Memory, Map<string, WasmHeapModule<unknown>>>();

/** the compiled module `name` (dist/wasm/<name>.wasm) on the active tfjs-backend-wasm's heap */
export function wasmHeapModule<E>(name: string): WasmHeapModule<E> {
  const backend = tf.backend();
  const memory = isWasmHeapBackend(backend) ? heapMemory(backend) : undefined;
  if (memory === undefined) throw new Error(`wasm heap module ${name}: the active backend (${tf.getBackend()}) is not tfjs-backend-wasm with a reachable heap`);
  let byName = instances.get(memory);
  if (byName === undefined) instances.set(memory, (byName = new Map()));
  const cached = byName.get(name);
  if (cached !== undefined) return cached as WasmHeapModule<E>;

  let module = compiled.get(name);
  if (module === undefined) {
    const path = fileURLToPath(new URL(`../../wasm/${name}.wasm`, import.meta.url));
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch {
      throw new Error(`the WebAssembly kernels ${path} are missing: run npm run build (it compiles assembly/${name}.ts)`);
    }
    const problem = heapSafetyProblem(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
    if (problem !== undefined) throw new Error(`dist/wasm/${name}.wasm ${problem}`);
    module = new WebAssembly.Module(bytes);
    compiled.set(name, module);
  }
  const instance = new WebAssembly.Instance(module, { env: { memory, abort: () => { throw new Error(`wasm kernel ${name} aborted`); } } });
  // (AssemblyScript exports the memory it imports)
  if (instance.exports['memory'] !== memory) throw new Error(`dist/wasm/${name}.wasm does not run on the imported heap (scripts/build-wasm.js's IMPORTED_MEMORY)`);
  const heap: WasmHeapModule<E> = {
    exports: instance.exports as unknown as E,
    address: (view) => {
      // a view of a buffer the heap has since outgrown (detached) or of another memory would be the wrong bytes
      if (view.buffer !== memory.buffer) throw new Error(`wasm heap module ${name}: a view that is not of tfjs's current heap`);
      return view.byteOffset;
    },
  };
  byName.set(name, heap);
  return heap;
}
