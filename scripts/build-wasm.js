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
// modules that run on tfjs-backend-wasm's heap in place (src/tensor/wasm-heap-module.ts): they import their memory
const IMPORTED_MEMORY = new Set(['optimizer']);
for (const file of sources) {
  const name = file.replace(/\.ts$/, '');
  // stub runtime: the kernels allocate nothing (the caller lays out the memory); no asserts, no GC, exported memory
  const { error, stderr } = await asc.main([join(SRC, file), '-o', join(OUT, `${name}.wasm`), '-O3', '--runtime', 'stub', '--noAssert', '--enable', 'simd', '--initialMemory', '1', ...(IMPORTED_MEMORY.has(name) ? ['--importMemory'] : [])], {});
  if (error) {
    console.error(`build-wasm: ${file}: ${error.message}\n${stderr.toString()}`);
    process.exit(1);
  }
}
console.log(`build-wasm: ${sources.length} module(s) in ${OUT}`);
