// The part of the WebAssembly JS API that src/tensor/wasm-module.ts and activation-wasm.ts use. Node has the global
// at run time; the compiler's ES2023 lib and @types/node@20 do not declare it (it lives in lib.dom).
declare namespace WebAssembly {
  class Module {
    constructor(bytes: BufferSource);
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
  class Global {
    readonly value: unknown;
  }
  type ExportValue = ((...args: never[]) => unknown) | Memory | Global;
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, ExportValue>;
  }
}
type BufferSource = ArrayBufferView | ArrayBuffer;
