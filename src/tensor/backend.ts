import * as tf from '@tensorflow/tfjs';
import { setThreadsCount, setWasmPaths, getThreadsCount, version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import { BadInputError } from '../errors.js';
import { fastKernelsRegistered, registerFastKernels } from './fast-kernels.js';
import { kernelProfileRequested, profileKernels } from './kernel-profile.js';

import { BACKEND_CHOICES, missingBackendPackage, packageInstalled, type BackendChoice } from './backend-choices.js';

export { BACKEND_CHOICES, type BackendChoice };
export type ConcreteBackend = Exclude<BackendChoice, 'auto'>;

/** what went into a run's provenance: plain JSON */
export interface BackendInfo {
  requested: BackendChoice;
  /** the backend actually used */
  name: ConcreteBackend;
  /** tfjs's own name for it (tfjs-node and tfjs-node-gpu both call themselves 'tensorflow') */
  tfjsBackend: string;
  version: { tfjs: string; backend: string };
  details: Record<string, string | number | boolean | string[] | null>;
  /** backends tried before this one under 'auto', with why they were passed over */
  skipped: { name: ConcreteBackend; reason: string }[];
}

const requireHere = createRequire(import.meta.url);

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'unknown error';

/** a CUDA device is visible to this process (driver loaded and not hidden by CUDA_VISIBLE_DEVICES) */
export const cudaDeviceVisible = (): boolean => {
  const visible = process.env['CUDA_VISIBLE_DEVICES'];
  if (visible !== undefined && (visible.trim() === '' || visible.trim() === '-1')) return false;
  try {
    if (existsSync('/proc/driver/nvidia/gpus') && readdirSync('/proc/driver/nvidia/gpus').length > 0) return true;
  } catch {
    // unreadable procfs: fall through to the device node check
  }
  return existsSync('/dev/nvidia0');
};

/** the folder holding the wasm binaries of the installed @tensorflow/tfjs-backend-wasm, with a trailing separator */
export const wasmBinaryFolder = (): string => dirname(requireHere.resolve('@tensorflow/tfjs-backend-wasm')) + sep;

// optional peers: the specifier is a variable so the compiler does not demand them
const importOptional = async (specifier: string): Promise<Record<string, unknown>> =>
  (await import(specifier)) as Record<string, unknown>;

const versionOf = (pkg: string): string => {
  try {
    return (requireHere(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
};

type Attempt = { ok: true; info: Omit<BackendInfo, 'requested' | 'skipped'> } | { ok: false; reason: string };

const tryTensorflow = async (gpu: boolean): Promise<Attempt> => {
  const pkg = gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  // resolved before anything is loaded: "not installed" is the common case and has its own message
  if (!packageInstalled(pkg)) return { ok: false, reason: `${pkg} is not installed` };
  if (gpu && !cudaDeviceVisible()) {
    const visible = process.env['CUDA_VISIBLE_DEVICES'];
    return { ok: false, reason: `no CUDA device visible${visible === undefined ? ' (no /proc/driver/nvidia/gpus entry, no /dev/nvidia0)' : ` (CUDA_VISIBLE_DEVICES=${JSON.stringify(visible)})`}` };
  }
  try {
    await importOptional(pkg);
  } catch (err) {
    return { ok: false, reason: `${pkg} not importable: ${messageOf(err)}` };
  }
  // a second copy of tfjs-core (version mismatch) would register the backend where we cannot see it
  if (tf.findBackendFactory('tensorflow') === null) {
    return { ok: false, reason: `${pkg} loaded but registered into another @tensorflow/tfjs-core copy (align its version with @tensorflow/tfjs ${tf.version_core})` };
  }
  try {
    if (!(await tf.setBackend('tensorflow'))) return { ok: false, reason: `${pkg}: backend failed to initialise` };
  } catch (err) {
    return { ok: false, reason: `${pkg}: ${messageOf(err)}` };
  }
  await tf.ready();
  return {
    ok: true,
    info: {
      name: gpu ? 'tensorflow-gpu' : 'tensorflow',
      tfjsBackend: 'tensorflow',
      version: { tfjs: tf.version_core, backend: versionOf(pkg) },
      details: { package: pkg, cudaDeviceVisible: cudaDeviceVisible() },
    },
  };
};

const tryWasm = async (threads: number | undefined): Promise<Attempt> => {
  try {
    const folder = wasmBinaryFolder();
    setWasmPaths(folder);
    if (threads !== undefined) setThreadsCount(threads);
    if (!(await tf.setBackend('wasm'))) return { ok: false, reason: 'wasm backend failed to initialise' };
    await tf.ready();
    const fastKernels = registerFastKernels('wasm');
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const multiThread = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    return {
      ok: true,
      info: {
        name: 'wasm',
        tfjsBackend: 'wasm',
        version: { tfjs: tf.version_core, backend: version_wasm },
        details: { wasmFolder: folder, simd: simd === true, multiThread: multiThread === true, threads: getThreadsCount(), fastKernels },
      },
    };
  } catch (err) {
    return { ok: false, reason: `wasm: ${messageOf(err)}` };
  }
};

const tryCpu = async (): Promise<Attempt> => {
  if (!(await tf.setBackend('cpu'))) return { ok: false, reason: 'cpu backend failed to initialise' };
  await tf.ready();
  return { ok: true, info: { name: 'cpu', tfjsBackend: 'cpu', version: { tfjs: tf.version_core, backend: tf.version_core }, details: {} } };
};

const attempt = (name: ConcreteBackend, options: SelectBackendOptions): Promise<Attempt> => {
  switch (name) {
    case 'tensorflow-gpu':
      return tryTensorflow(true);
    case 'tensorflow':
      return tryTensorflow(false);
    case 'wasm':
      return tryWasm(options.threads);
    case 'cpu':
      return tryCpu();
  }
};

export interface SelectBackendOptions {
  /** wasm threads (only honoured where the wasm build supports threads; Node runs one) */
  threads?: number;
}

/**
 * makes `name` the active tfjs backend. 'auto' tries tfjs-node-gpu (when a GPU is visible), tfjs-node,
 * wasm with the fast training kernels, then the pure-JS cpu backend; an explicit choice that cannot
 * load throws BadInputError.
 */
export const selectBackend = async (name: BackendChoice, options: SelectBackendOptions = {}): Promise<BackendInfo> => {
  if (!(BACKEND_CHOICES as readonly string[]).includes(name)) {
    throw new BadInputError('BACKEND_UNKNOWN', `unknown tensor backend '${String(name)}'`, `choose one of ${BACKEND_CHOICES.join(', ')}`);
  }
  const missing = missingBackendPackage(name);
  if (missing !== undefined) throw new BadInputError('BACKEND_UNAVAILABLE', missing.message, missing.hint);
  const order: ConcreteBackend[] = name === 'auto' ? ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] : [name];
  // tfjs' console banners ("looks like you are running in Node.js") would interleave with progress lines
  tf.env().set('PROD', true);
  const skipped: BackendInfo['skipped'] = [];
  for (const candidate of order) {
    const result = await attempt(candidate, options);
    if (result.ok) {
      // VSDLAB_PROFILE=1: time every kernel of the backend, routed and fused ones included
      if (kernelProfileRequested()) profileKernels(result.info.tfjsBackend);
      return { requested: name, ...result.info, skipped };
    }
    skipped.push({ name: candidate, reason: result.reason });
  }
  const last = skipped[skipped.length - 1];
  const hint =
    name === 'tensorflow-gpu' || name === 'tensorflow'
      ? `install ${name === 'tensorflow' ? '@tensorflow/tfjs-node' : '@tensorflow/tfjs-node-gpu'} matching @tensorflow/tfjs ${tf.version_core}, or use 'auto'`
      : "use 'auto'";
  throw new BadInputError('BACKEND_UNAVAILABLE', `tensor backend '${name}' is unavailable: ${last?.reason ?? 'no candidate'}`, hint);
};

export { fastKernelsRegistered };
