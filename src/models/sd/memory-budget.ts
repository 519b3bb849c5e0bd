// The memory of SwiftBrush's latent VSD training on one device, by item: the student (weights, gradients, Adam's two
// moments, EMA), the frozen teacher, the LoRA teacher (an adapter on the frozen teacher's weights, as the trainer's
// withLora shares them: no third UNet), and the activations of the student's forward + backward from unet-tape.ts
// (the engine's own accounting, modelled op by op). Weights are counted from the config (every tensor the UNet
// reads), so a budget needs no weights file.
import { CROSS_ATTN_DOWN, CROSS_ATTN_UP, type UNetForwardOptions } from './unet.js';
import type { UNetConfig } from './unet-config.js';
import { unetForwardPeakBytes, unetTapeBytes } from './unet-tape.js';

const F32 = 4;

/** every weight of the UNet by its layer name (`conv_in.w`, ...) and channels-last shape, as unet.ts asks for them */
export function unetWeightShapes(config: UNetConfig): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  const linear = (name: string, inDim: number, out: number, bias = true): void => {
    shapes.set(`${name}.w`, [inDim, out]);
    if (bias) shapes.set(`${name}.b`, [out]);
  };
  const conv = (name: string, cin: number, out: number, k: number): void => {
    shapes.set(`${name}.w`, [k, k, cin, out]);
    shapes.set(`${name}.b`, [out]);
  };
  const norm = (name: string, c: number): void => {
    shapes.set(`${name}.gamma`, [c]);
    shapes.set(`${name}.beta`, [c]);
  };
  const c0 = config.block_out_channels[0] as number;
  const d = typeof config.cross_attention_dim === 'number' ? config.cross_attention_dim : (config.cross_attention_dim[0] as number);
  const layers = typeof config.layers_per_block === 'number' ? config.down_block_types.map(() => config.layers_per_block as number) : [...config.layers_per_block];
  const last = config.block_out_channels.length - 1;
  const resnet = (name: string, cin: number, out: number): void => {
    norm(`${name}.norm1`, cin);
    conv(`${name}.conv1`, cin, out, 3);
    linear(`${name}.time_emb_proj`, 4 * c0, out);
    norm(`${name}.norm2`, out);
    conv(`${name}.conv2`, out, out, 3);
    if (cin !== out) conv(`${name}.conv_shortcut`, cin, out, 1);
  };
  const transformer = (name: string, c: number): void => {
    norm(`${name}.norm`, c);
    if (config.use_linear_projection) linear(`${name}.proj_in`, c, c);
    else conv(`${name}.proj_in`, c, c, 1);
    const blk = `${name}.transformer_blocks.0`;
    for (const [attn, kv] of [['attn1', c], ['attn2', d]] as const) {
      linear(`${blk}.${attn}.to_q`, c, c, false);
      linear(`${blk}.${attn}.to_k`, kv, c, false);
      linear(`${blk}.${attn}.to_v`, kv, c, false);
      linear(`${blk}.${attn}.to_out.0`, c, c);
    }
    for (const n of ['norm1', 'norm2', 'norm3']) norm(`${blk}.${n}`, c);
    linear(`${blk}.ff.net.0.proj`, c, 8 * c);
    linear(`${blk}.ff.net.2`, 4 * c, c);
    if (config.use_linear_projection) linear(`${name}.proj_out`, c, c);
    else conv(`${name}.proj_out`, c, c, 1);
  };
  conv('conv_in', config.in_channels, c0, 3);
  linear('time_embedding.linear_1', c0, 4 * c0);
  linear('time_embedding.linear_2', 4 * c0, 4 * c0);
  let ch = c0;
  const skips: number[] = [ch];
  config.down_block_types.forEach((type, i) => {
    const out = config.block_out_channels[i] as number;
    for (let j = 0; j < (layers[i] as number); j++) {
      resnet(`down_blocks.${i}.resnets.${j}`, ch, out);
      ch = out;
      if (type === CROSS_ATTN_DOWN) transformer(`down_blocks.${i}.attentions.${j}`, out);
      skips.push(ch);
    }
    if (i < last) {
      conv(`down_blocks.${i}.downsamplers.0.conv`, out, out, 3);
      skips.push(ch);
    }
  });
  const deepest = config.block_out_channels[last] as number;
  resnet('mid_block.resnets.0', ch, deepest);
  transformer('mid_block.attentions.0', deepest);
  resnet('mid_block.resnets.1', deepest, deepest);
  const reversed = [...config.block_out_channels].reverse();
  const reversedLayers = [...layers].reverse();
  config.up_block_types.forEach((type, i) => {
    const out = reversed[i] as number;
    for (let j = 0; j <= (reversedLayers[i] as number); j++) {
      resnet(`up_blocks.${i}.resnets.${j}`, ch + (skips.pop() as number), out);
      ch = out;
      if (type === CROSS_ATTN_UP) transformer(`up_blocks.${i}.attentions.${j}`, out);
    }
    if (i < last) conv(`up_blocks.${i}.upsamplers.0.conv`, out, out, 3);
  });
  norm('conv_norm_out', c0);
  conv('conv_out', c0, config.out_channels, 3);
  return shapes;
}

const elements = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export const unetParameterCount = (config: UNetConfig): number => [...unetWeightShapes(config).values()].reduce((s, sh) => s + elements(sh), 0);

/** PEFT LoRA parameters on the linear (and conv) weights whose layer name ends with a target: rank · (in + out) each */
export function loraParameterCount(config: UNetConfig, lora: { rank: number; targets: readonly string[] }): number {
  let n = 0;
  for (const [name, shape] of unetWeightShapes(config)) {
    if (!name.endsWith('.w') || !lora.targets.some((t) => name.endsWith(`.${t}.w`))) continue;
    const out = shape[shape.length - 1] as number;
    const fanIn = elements(shape.slice(0, -1));
    n += lora.rank * (fanIn + out);
  }
  return n;
}

export interface TrainingSetup {
  batch: number;
  /** latent height and width (image size / 8) */
  latent: number;
  /** text tokens per prompt (CLIP: 77) */
  tokens?: number;
  forward?: UNetForwardOptions;
  /** the LoRA teacher's adapter; absent: SDS (no LoRA teacher) */
  lora?: { rank: number; targets: readonly string[] } | undefined;
  /** Adam's two moments for the student and the adapter (SwiftBrush: yes) */
  adam?: boolean;
  ema?: boolean;
  /** asked-for precision of the frozen teacher; tfjs has no float16 tensors, so it is held in float32 either way */
  teacherPrecision?: 'float32' | 'float16';
}

export interface BudgetRow {
  item: string;
  bytes: number;
  note?: string;
}

export interface MemoryBudget {
  rows: BudgetRow[];
  total: number;
  parameters: { unet: number; lora: number };
}

/** the memory budget of one training step of latent VSD (or SDS without `lora`) on a UNet config */
export function memoryBudget(config: UNetConfig, s: TrainingSetup): MemoryBudget {
  const p = unetParameterCount(config);
  const l = s.lora === undefined ? 0 : loraParameterCount(config, s.lora);
  const tokens = s.tokens ?? 77;
  const adam = s.adam !== false;
  const rows: BudgetRow[] = [
    { item: 'student weights', bytes: p * F32 },
    { item: 'student gradients', bytes: p * F32 },
  ];
  if (adam) rows.push({ item: 'student Adam moments', bytes: 2 * p * F32 });
  if (s.ema !== false) rows.push({ item: 'student EMA', bytes: p * F32 });
  rows.push({
    item: 'frozen teacher weights',
    bytes: p * F32,
    ...(s.teacherPrecision === 'float16' ? { note: 'float16 asked for: tfjs has no float16 dtype on any backend, held and computed in float32' } : {}),
  });
  if (s.lora !== undefined) {
    rows.push({ item: 'LoRA teacher adapter (shares the frozen teacher weights)', bytes: l * F32 });
    rows.push({ item: 'LoRA gradients', bytes: l * F32 });
    if (adam) rows.push({ item: 'LoRA Adam moments', bytes: 2 * l * F32 });
  }
  const tape = unetTapeBytes(config, { batch: s.batch, height: s.latent, width: s.latent, tokens, options: s.forward ?? {} });
  const backward = tape.gradients + tape.segmentPeak;
  // the teacher passes run tape-off inside the VSD loss op, after the student's forward and before its backward; the
  // LoRA teacher's update is a second forward + backward of the same size once the student's step is done
  const teacher = unetForwardPeakBytes(config, { batch: 2 * s.batch, height: s.latent, width: s.latent, tokens, options: s.forward });
  rows.push({ item: 'activations: tape of the student forward', bytes: tape.saved });
  rows.push({ item: 'activations: gradient buffers of its backward', bytes: backward, note: s.forward?.checkpoint === true ? 'boundary gradients + the largest recomputed segment' : 'tfjs keeps every gradient of a backward until it ends' });
  rows.push({ item: 'teacher passes (CFG batch, no tape)', bytes: teacher, note: 'between the forward and the backward: the larger of this and the backward counts' });
  const total = rows.reduce((a, r) => a + r.bytes, 0) - Math.min(backward, teacher);
  return { rows: rows.map((r) => (r.note === undefined ? { item: r.item, bytes: r.bytes } : r)), total, parameters: { unet: p, lora: l } };
}
