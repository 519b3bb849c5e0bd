// The full-size check: SD 2.1-base's UNet (865,910,724 parameters, random weights, the folder written by
// tools/sd/make_fullsize_unet.py) loaded by the engine, one forward at a 16×16 latent compared to diffusers' output
// (bench/sd/fullsize-golden.json), for the F32 file and the fp16 variant (computed in float32, as the golden's _fp16
// entries); load time, first and second forward, peak RSS, and PyTorch CPU (diffusers) on the same folder, run by
// the same Python script just before and after. Each side and variant runs in its own process, so each peak RSS is
// that run's own. Not part of `npm test` or any default bench: it needs the 5.2 GB folder.
// make the folder (≈ 1 min) and the golden:
//   PYTHONPATH=/tmp/diffusers/src:/tmp/hub/src /usr/bin/python3 tools/sd/make_fullsize_unet.py --out /tmp/sd21-fullsize
// run: npm run build && node dist/bench/sd/fullsize-unet.js [--dir /tmp/sd21-fullsize --variant all|f32|fp16
//      --backend cpu|wasm|tensorflow|tensorflow-gpu --no-torch] (tensorflow: tfjs-node, when installed)
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { selectBackend } from '../../src/tensor/index.js';
import { parseUNetConfig } from '../../src/models/sd/unet-config.js';
import { sdUNetForward } from '../../src/models/sd/unet.js';
import { componentWeights } from '../../src/models/sd/component-weights.js';
import { findComponentWeights } from '../../src/models/sd/weight-files.js';
import type { WeightSource } from '../../src/nn/params.js';
import { sha256F32, xorshiftInputs } from './fullsize-inputs.js';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../../../..');
const PYTHON = '/usr/bin/python3';
const PEER = join(repoRoot, 'tools', 'sd', 'make_fullsize_unet.py');
const TOLERANCE = 1e-4;

const { values: opts } = parseArgs({
  options: {
    dir: { type: 'string', default: '/tmp/sd21-fullsize' },
    golden: { type: 'string', default: join(repoRoot, 'bench', 'sd', 'fullsize-golden.json') },
    variant: { type: 'string', default: 'all' },
    backend: { type: 'string', default: 'cpu' },
    'no-torch': { type: 'boolean', default: false },
    pythonpath: { type: 'string', default: '/tmp/diffusers/src:/tmp/hub/src' },
  },
});

interface GoldenTensor {
  shape: number[];
  data: number[];
}
interface Golden {
  meta: {
    parameters: number;
    seeds: { latents: number; encoder_hidden_states: number };
    inputs: { latents: { shape: number[]; sha256_f32le: string }; encoder_hidden_states: { shape: number[]; sha256_f32le: string }; timesteps: number[] };
  };
  tensors: Record<string, GoldenTensor>;
}

interface Result {
  engine: string;
  variant: string;
  ok: boolean;
  error?: string;
  load_s?: number;
  first_forward_s?: number;
  second_forward_s?: number;
  peak_rss_bytes?: number;
  relative_error?: Record<string, number>;
  [k: string]: unknown;
}

const gib = (bytes: number | undefined): string => (bytes === undefined ? 'n/a' : `${(bytes / 2 ** 30).toFixed(2)} GiB`);
const sec = (s: number | undefined): string => (s === undefined ? 'n/a' : `${s.toFixed(2)} s`);

/** max |actual − expected| / max |expected| */
function relativeError(actual: Float32Array, expected: readonly number[]): number {
  let diff = 0;
  let scale = 0;
  expected.forEach((e, i) => {
    diff = Math.max(diff, Math.abs((actual[i] as number) - e));
    scale = Math.max(scale, Math.abs(e));
  });
  return diff / scale;
}

type EngineBackend = 'cpu' | 'wasm' | 'tensorflow' | 'tensorflow-gpu';
const ENGINE_BACKENDS: readonly EngineBackend[] = ['cpu', 'wasm', 'tensorflow', 'tensorflow-gpu'];

/** the wasm backend's heap (its WebAssembly.Memory), undefined on other backends */
const wasmHeapBytes = (): number | undefined => (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.buffer.byteLength;

/** a figure for an error report, or undefined when the backend never started */
function safely<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/** one variant in this process: the engine's load, two forwards, the comparison */
async function engineRun(golden: Golden, variant: 'f32' | 'fp16', backend: EngineBackend): Promise<Result> {
  const base: Result = { engine: `vsdlab tfjs-${backend}`, variant, ok: false };
  await selectBackend(backend);
  const [, , size] = golden.meta.inputs.latents.shape as [number, number, number, number];
  const latentsNchw = xorshiftInputs(4 * size * size, golden.meta.seeds.latents);
  const ehs = xorshiftInputs(77 * 1024, golden.meta.seeds.encoder_hidden_states);
  if (sha256F32(latentsNchw) !== golden.meta.inputs.latents.sha256_f32le || sha256F32(ehs) !== golden.meta.inputs.encoder_hidden_states.sha256_f32le) {
    throw new Error('the inputs differ from the ones the golden was made with (sha256)');
  }
  const dir = join(opts.dir, 'unet');
  const configPath = join(dir, 'config.json');
  const config = parseUNetConfig(configPath, JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>).config;
  const component = {
    name: 'unet' as const,
    dir,
    configPath,
    config,
    variant: variant === 'fp16' ? 'fp16' : undefined,
    weights: findComponentWeights(dir, 'unet', 'diffusion_pytorch_model', variant === 'fp16' ? 'fp16' : undefined),
  };
  const t0 = performance.now();
  const { weights, view } = componentWeights(component);
  const openS = (performance.now() - t0) / 1000;
  // weights are read and converted (F16 → F32, torch → channels-last) on first use: time that part of the first forward
  let loadMs = 0;
  const timed: WeightSource = {
    get: (name, shape, init) => {
      const t = performance.now();
      const w = weights.get(name, shape);
      loadMs += performance.now() - t;
      void init;
      return w;
    },
  };
  const latents = tf.tidy(() => tf.tensor4d(latentsNchw, [1, 4, size, size]).transpose([0, 2, 3, 1]) as tf.Tensor4D);
  const context = tf.tensor3d(ehs, [1, 77, 1024]);
  const outputs: Record<string, Float32Array> = {};
  const times: number[] = [];
  for (const t of golden.meta.inputs.timesteps) {
    const t1 = performance.now();
    const out = sdUNetForward({ weights: timed }, config, latents, [t], context);
    const nchw = out.transpose([0, 3, 1, 2]);
    outputs[`t${t}`] = nchw.dataSync() as Float32Array;
    times.push((performance.now() - t1) / 1000);
    out.dispose();
    nchw.dispose();
  }
  const weightBytes = tf.memory().numBytes;
  const relative_error: Record<string, number> = {};
  for (const t of golden.meta.inputs.timesteps) {
    relative_error[`t${t}`] = relativeError(outputs[`t${t}`]!, golden.tensors[`sample_t${t}_${variant}`]!.data);
    if (variant === 'fp16') relative_error[`t${t}_vs_f32_golden`] = relativeError(outputs[`t${t}`]!, golden.tensors[`sample_t${t}_f32`]!.data);
  }
  // peak RSS of the load and the forwards, before the read-again pass below allocates its own buffers
  const peakRss = process.resourceUsage().maxRSS * 1024;
  // the read part of the load alone: every tensor through the view again (decoded, not converted)
  const t2 = performance.now();
  for (const name of view.names()) view.read(name);
  const readS = (performance.now() - t2) / 1000;
  const unused = weights.unused(view.names());
  weights.dispose();
  view.close();
  tf.dispose([latents, context]);
  const worst = Math.max(...golden.meta.inputs.timesteps.map((t) => relative_error[`t${t}`]!));
  return {
    ...base,
    ok: worst < TOLERANCE && unused.length === 0,
    backend: tf.getBackend(),
    size,
    open_s: openS,
    load_s: loadMs / 1000,
    read_again_s: readS,
    first_forward_s: times[0],
    second_forward_s: times[1],
    peak_rss_bytes: peakRss,
    peak_rss_bytes_with_read_again: process.resourceUsage().maxRSS * 1024,
    tensor_bytes_after_load: weightBytes,
    unused_tensors: unused.length,
    relative_error,
    worst_relative_error: worst,
  };
}

/** the same script's variant in a fresh process (its own peak RSS) */
function child(args: string[], label: string, variant: string): Result {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', env: { ...process.env, PYTHONPATH: opts.pythonpath }, maxBuffer: 64 << 20 });
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(last) as Result;
  } catch {
    const tail = `${r.stderr}`.trim().split('\n').slice(-4).join(' | ');
    return { engine: label, variant, ok: false, error: `exit ${r.status ?? r.signal}: ${tail}` };
  }
}

const torchRun = (variant: string, when: string): Result => {
  const r = child([PYTHON, PEER, '--out', opts.dir, '--size', '16', '--forward', variant], 'pytorch-cpu (diffusers)', variant);
  return { ...r, when, ok: r.error === undefined };
};
const engineChild = (variant: string): Result =>
  child([process.execPath, fileURLToPath(import.meta.url), '--dir', opts.dir, '--golden', opts.golden, '--variant', variant, '--backend', opts.backend, '--no-torch'], `vsdlab tfjs-${opts.backend}`, variant);

function human(r: Result): string {
  if (r.error !== undefined) return `${r.engine} ${r.variant}${r.when ? ` (${String(r.when)})` : ''}: FAILED: ${r.error}`;
  const err = r.relative_error ? `, relative error ${Object.entries(r.relative_error).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}` : '';
  return `${r.engine} ${r.variant}${r.when ? ` (${String(r.when)})` : ''}: load ${sec(r.load_s)}, first forward ${sec(r.first_forward_s)}, second forward ${sec(r.second_forward_s)}, peak RSS ${gib(r.peak_rss_bytes)}${err}`;
}

async function main(): Promise<void> {
  if (!existsSync(join(opts.dir, 'unet', 'config.json'))) {
    console.log(`fullsize-unet: skipped, no folder ${opts.dir}/unet (5.2 GB, not in the repository). Make it with:\n  PYTHONPATH=/tmp/diffusers/src:/tmp/hub/src /usr/bin/python3 tools/sd/make_fullsize_unet.py --out ${opts.dir}`);
    return;
  }
  const golden = JSON.parse(readFileSync(opts.golden, 'utf8')) as Golden;
  const backend = ENGINE_BACKENDS.find((b) => b === opts.backend);
  if (backend === undefined) throw new Error(`--backend ${opts.backend}: one of ${ENGINE_BACKENDS.join(', ')}`);
  if (opts.variant === 'f32' || opts.variant === 'fp16') {
    let r: Result;
    try {
      r = await engineRun(golden, opts.variant, backend);
    } catch (e) {
      r = { engine: `vsdlab tfjs-${backend}`, variant: opts.variant, ok: false, error: e instanceof Error ? e.message.split('\n')[0] ?? String(e) : String(e), tensor_bytes_at_error: safely(() => tf.memory().numBytes), wasm_heap_bytes: safely(wasmHeapBytes), peak_rss_bytes: process.resourceUsage().maxRSS * 1024 };
    }
    console.log(human(r));
    console.log(JSON.stringify(r));
    process.exitCode = r.ok ? 0 : 1;
    return;
  }
  const results: Result[] = [];
  const run = (r: Result): void => {
    results.push(r);
    console.log(human(r));
  };
  if (!opts['no-torch']) run(torchRun('f32', 'before'));
  if (!opts['no-torch']) run(torchRun('fp16', 'before'));
  run(engineChild('f32'));
  run(engineChild('fp16'));
  if (!opts['no-torch']) run(torchRun('f32', 'after'));
  const torch = results.filter((r) => r.engine.startsWith('pytorch') && r.variant === 'f32' && r.error === undefined);
  if (torch.length > 0) {
    const mean = (k: 'load_s' | 'first_forward_s' | 'second_forward_s'): number => torch.reduce((s, r) => s + (r[k] ?? 0), 0) / torch.length;
    for (const r of results.filter((x) => x.engine.startsWith('vsdlab') && x.error === undefined)) {
      console.log(`${r.engine} ${r.variant} / PyTorch f32 (mean of ${torch.length}): load ${((r.load_s ?? 0) / mean('load_s')).toFixed(1)}×, second forward ${((r.second_forward_s ?? 0) / mean('second_forward_s')).toFixed(1)}×`);
    }
  }
  console.log(JSON.stringify({ bench: 'sd/fullsize-unet', dir: opts.dir, parameters: golden.meta.parameters, results }));
  process.exitCode = results.every((r) => r.ok) ? 0 : 1;
}

await main();
