// which onnxruntime execution provider to ask for: cuda when this onnxruntime-node build lists it and its
// provider library is installed next to the binding, else cpu.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { listSupportedBackends } from 'onnxruntime-node';

export type ExecutionProvider = 'cuda' | 'cpu';

// the npm package lists cuda as "not bundled": usable only once libonnxruntime_providers_cuda.so is installed
function cudaLibraryPresent(): boolean {
  try {
    const main = createRequire(import.meta.url).resolve('onnxruntime-node');
    const binRoot = join(dirname(main), '..', 'bin');
    for (const napi of readdirSync(binRoot)) {
      if (existsSync(join(binRoot, napi, process.platform, process.arch, 'libonnxruntime_providers_cuda.so'))) return true;
    }
  } catch {
    return false;
  }
  return false;
}

/** 'auto': cuda only when onnxruntime-node reports it and its provider library is there (the default npm install is cpu-only). */
export function chooseExecutionProvider(requested: ExecutionProvider | 'auto' = 'auto'): ExecutionProvider {
  if (requested !== 'auto') return requested;
  const cuda = listSupportedBackends().find((b) => b.name.toLowerCase() === 'cuda');
  return cuda && (cuda.bundled || cudaLibraryPresent()) ? 'cuda' : 'cpu';
}
