// Loads a WebAssembly kernel module compiled from assembly/ (scripts/build-wasm.js → dist/wasm/<name>.wasm) and lays
// out its memory for one call at a time. The module has its own linear memory: tfjs's wasm backend does not hand out
// its WebAssembly.Memory, so a kernel copies its inputs in and its outputs out (a memcpy each, ≈ 0.1 ns per byte,
// small beside the kernels' arithmetic). Synchronous: tfjs kernels run synchronously.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const PAGE = 65536;

export interface WasmModule<E> {
  /** the module's exported functions */
  readonly exports: E;
  /**
   * byte offsets of consecutive float32 blocks of the given lengths (16-byte aligned, for v128 loads), growing
   * the memory when needed; valid until the next call to layout
   */
  layout(lengths: readonly number[]): number[];
  /** a float32 view of `length` floats at `offset` (fetch views after layout: growing detaches the old ones) */
  f32(offset: number, length: number): Float32Array;
  /** a float64 view of `length` doubles at `offset` */
  f64(offset: number, length: number): Float64Array;
}

/** a module's bytes and their compilation, shared by this loader and wasm-heap-module.ts */
export interface CompiledWasm {
  readonly bytes: Uint8Array;
  readonly module: WebAssembly.Module;
}

const compiled = new Map<string, CompiledWasm>();

/** dist/wasm/<name>.wasm read and compiled once per process */
export function compiledWasm(name: string): CompiledWasm {
  const cached = compiled.get(name);
  if (cached !== undefined) return cached;
  const path = fileURLToPath(new URL(`../../wasm/${name}.wasm`, import.meta.url));
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new Error(`the WebAssembly kernels ${path} are missing: run npm run build (it compiles assembly/${name}.ts)`);
  }
  const c: CompiledWasm = { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), module: new WebAssembly.Module(bytes) };
  compiled.set(name, c);
  return c;
}

const modules = new Map<string, WasmModule<unknown>>();

/** the compiled module `name` (dist/wasm/<name>.wasm), instantiated once per process */
export function wasmModule<E>(name: string): WasmModule<E> {
  const cached = modules.get(name);
  if (cached !== undefined) return cached as WasmModule<E>;
  const instance = new WebAssembly.Instance(compiledWasm(name).module, { env: { abort: () => { throw new Error(`wasm kernel ${name} aborted`); } } });
  const memory = instance.exports['memory'];
  if (!(memory instanceof WebAssembly.Memory)) throw new Error(`dist/wasm/${name}.wasm exports no memory`);
  // static data (tables) ends at the module's __heap_base, which every module exports as heapBase(); blocks start above it
  const heapBaseOf = instance.exports['heapBase'];
  if (typeof heapBaseOf !== 'function') throw new Error(`dist/wasm/${name}.wasm exports no heapBase(); every module in assembly/ must`);
  const heapBase = Number((heapBaseOf as () => number)());
  const start = Math.ceil(heapBase / 16) * 16;
  const module: WasmModule<E> = {
    exports: instance.exports as unknown as E,
    layout(lengths) {
      const offsets: number[] = [];
      let at = start;
      for (const n of lengths) {
        offsets.push(at);
        at += Math.ceil((4 * n) / 16) * 16;
      }
      const need = Math.ceil(at / PAGE) - memory.buffer.byteLength / PAGE;
      if (need > 0) memory.grow(need);
      return offsets;
    },
    f32: (offset, length) => new Float32Array(memory.buffer, offset, length),
    f64: (offset, length) => new Float64Array(memory.buffer, offset, length),
  };
  modules.set(name, module);
  return module;
}
