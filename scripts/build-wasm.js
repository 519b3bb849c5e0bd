// Compiles the WebAssembly kernels in assembly/ (AssemblyScript: typed, compiled ahead of time to wasm with 128-bit
// SIMD) to dist/wasm/<name>.wasm. Run by `npm run build` and `npm ci`'s prepare step, after tsc; the loader is
// src/tensor/wasm-module.ts. Why wasm beside the tfjs backend: the fused JS kernels (norms, SiLU) cannot use SIMD.
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import asc from 'assemblyscript/asc';

const SRC = 'assembly';
const OUT = join('dist', 'wasm');
mkdirSync(OUT, { recursive: true });
const sources = readdirSync(SRC).filter((f) => f.endsWith('.ts') && !f.startsWith('_') && !f.endsWith('.d.ts'));
// modules that import their memory (env.memory) instead of owning one, so that they can run in tfjs-backend-wasm's
// heap on the tensors' floats in place (they hold no static data; the loaders refuse a module that does)
const IMPORTED_MEMORY = new Set(['activation', 'optimizer', 'column-sum']);
for (const file of sources) {
  const name = file.replace(/\.ts$/, '');
  // stub runtime: the kernels allocate nothing (the caller lays out the memory); no asserts, no GC; a memory of its
  // own or the imported one, exported either way (the heap loader checks that the instance runs on the heap it gave)
  const memory = IMPORTED_MEMORY.has(name) ? ['--initialMemory', '1', '--importMemory'] : ['--initialMemory', '1'];
  const { error, stderr } = await asc.main([join(SRC, file), '-o', join(OUT, `${name}.wasm`), '-O3', '--runtime', 'stub', '--noAssert', '--enable', 'simd', ...memory], {});
  if (error) {
    console.error(`build-wasm: ${file}: ${error.message}\n${stderr.toString()}`);
    process.exit(1);
  }
}
console.log(`build-wasm: ${sources.length} module(s) in ${OUT}`);
