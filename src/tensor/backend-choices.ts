// The backend names alone, without loading tfjs: command-line builders list them before any network is needed, and
// `vsdlab run` checks that a named native backend is installed before it starts a cell.
import { createRequire } from 'node:module';

export const BACKEND_CHOICES = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** the optional npm package a native backend needs (not a dependency: its install downloads libtensorflow) */
export const BACKEND_PACKAGES: Partial<Record<BackendChoice, string>> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

// what libtensorflow the 4.x packages download (tfjs-node's deps-constants: 2.9.1) and the CUDA it was built for
// (TensorFlow 2.9's tested configuration)
const GPU_REQUIREMENTS = 'Linux x86-64, NVIDIA driver ≥ 450.80, CUDA 11.2 and cuDNN 8.1 (libtensorflow 2.9.1)';

const requireHere = createRequire(import.meta.url);

/** the installed @tensorflow/tfjs version: a native backend must be the same release */
export const tfjsVersion = (): string => (requireHere('@tensorflow/tfjs/package.json') as { version: string }).version;

/** whether `pkg` resolves from here (without loading it: tfjs-node-gpu loads libtensorflow and CUDA) */
export function packageInstalled(pkg: string): boolean {
  try {
    requireHere.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/** the one-line message and hint for a named backend whose package is not installed, or undefined when it is (or needs none) */
export function missingBackendPackage(choice: BackendChoice): { message: string; hint: string } | undefined {
  const pkg = BACKEND_PACKAGES[choice];
  if (pkg === undefined || packageInstalled(pkg)) return undefined;
  const version = tfjsVersion();
  const needs = choice === 'tensorflow-gpu' ? `; it needs ${GPU_REQUIREMENTS}` : '';
  return {
    message: `tensor backend '${choice}' needs ${pkg}, which is not installed`,
    hint: `npm install ${pkg}@${version} (the same version as @tensorflow/tfjs; its install script downloads libtensorflow${needs}), or use 'auto'; README "GPUs"`,
  };
}
