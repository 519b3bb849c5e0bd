// tensor backend: choose tfjs-node-gpu / tfjs-node / wasm / cpu, and on wasm route transposed matMuls and
// both conv2d gradients through the fast forward kernels (registered per backend, transparent to model code).
export { selectBackend, cudaDeviceVisible, wasmBinaryFolder, BACKEND_CHOICES } from './backend.js';
export type { BackendChoice, BackendInfo, ConcreteBackend, SelectBackendOptions } from './backend.js';
export { registerFastKernels, unregisterFastKernels, fastKernelsRegistered, ROUTED_KERNELS } from './fast-kernels.js';
