// tensor backend: choose tfjs-node-gpu / tfjs-node / wasm / cpu, and on wasm route transposed matMuls and
// both conv2d gradients through the fast forward kernels (registered per backend, transparent to model code).
// the fused element-wise ops (group norm + SiLU, layer norm, SiLU, GEGLU) run as JS kernels on wasm and cpu.
export { selectBackend, cudaDeviceVisible, wasmBinaryFolder, BACKEND_CHOICES } from './backend.js';
export type { BackendChoice, BackendInfo, ConcreteBackend, SelectBackendOptions } from './backend.js';
export { registerFastKernels, unregisterFastKernels, fastKernelsRegistered, ROUTED_KERNELS } from './fast-kernels.js';
export type { FastKernelOptions } from './fast-kernels.js';
export {
  groupNorm,
  layerNorm,
  silu,
  geglu,
  groupNormReference,
  layerNormReference,
  siluReference,
  gegluReference,
  geluReference,
  registerFusedKernels,
  unregisterFusedKernels,
  fusedKernelsRegistered,
  FUSED_KERNELS,
  NORM_EPS,
} from './fused-ops.js';
