// The embedded UNet (unet.ts, blocks.ts) written as an ONNX graph (opset 17) from its weights, for onnxruntime:
// the same network with every tfjs op's semantics kept (tfjs 'same' padding, GN/LN with torch's eps, tanh GELU,
// nearest 2× upsampling, the space-to-depth channel order), NCHW inside, NHWC at the edges.
//
// Graph inputs (B is free; H, W are fixed per graph, so every reshape is a constant and ORT plans once):
//   x           [B, H, W, inChannels]   float32, NHWC as tfjs
//   t_features  [B, baseChannels]       timestepFeatures(t) computed in JS (float64 angles, as unet.ts)
//   sigma, alpha [B, 1, 1, 1]           only when bodyPredicts is 'v': ε̂ = σ_t x_t + α_t v̂
//   cond        [B, L, condDim]         text embeddings
//   lora_scale  [B, 1, 1, 1]            only with a LoRA shape: alpha/rank for a sample the adapter applies to, 0 for
//                                       one it does not (the frozen teacher), so both can share one batch
//   <weight>.lora_a / <weight>.lora_b   only with a LoRA shape, one pair per adapted weight, in lora.ts's layout
//                                       (linear A [in, r], B [r, out]; conv A [k, k, in, r], B [1, 1, r, out])
// Output: eps [B, H, W, outChannels] (what unetForward returns).
import { OnnxGraphBuilder } from '../../onnx/graph-builder.js';
import type { LoraConfig } from '../../nn/lora.js';
import { type UNetConfig, levelChannels, validateUNetConfig } from './config.js';

/** a network's weights read out of tfjs once: name → data (row-major, tfjs layout) and shape */
export type WeightSnapshot = Record<string, { data: Float32Array; shape: readonly number[] }>;

export interface UNetGraphOptions {
  height: number;
  width: number;
  /** the adapter's shape; its A/B matrices become graph inputs (see lora.ts for which weights it adapts) */
  lora?: LoraConfig | undefined;
}

export interface UNetGraph {
  model: Uint8Array;
  /** the input names, in the order above (LoRA pairs sorted by weight name) */
  inputs: string[];
  /** adapted weight names (the `.w` names lora.ts keys its pairs by), sorted; empty without LoRA */
  loraWeights: string[];
}

export const ONNX_UNET_OUTPUT = 'eps';

/** weights lora.ts adapts for this config (same rule as loraTargetsOf: the name ends with `.<target>.w`) */
export const loraWeightNames = (weights: WeightSnapshot, lora: LoraConfig): string[] =>
  Object.keys(weights)
    .filter((name) => lora.targets.some((t) => name.endsWith(`.${t}.w`)))
    .filter((name) => {
      const rank = (weights[name] as { shape: readonly number[] }).shape.length;
      return rank === 2 || rank === 4;
    })
    .sort();

/** tfjs/TensorFlow 'same' padding as ONNX pads [top, left, bottom, right]: the odd pixel goes bottom/right */
const samePads = (h: number, w: number, kernel: number, stride: number): number[] => {
  const along = (size: number): [number, number] => {
    const total = Math.max((Math.ceil(size / stride) - 1) * stride + kernel - size, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  };
  const [top, bottom] = along(h);
  const [left, right] = along(w);
  return [top, left, bottom, right];
};

/** a value with its static shape (batch first, unknown) */
interface Value {
  name: string;
  /** the dims after the batch */
  dims: number[];
}

class UNetWriter {
  readonly g: OnnxGraphBuilder;
  private readonly adapted: Set<string>;
  private scale4: string | undefined;
  private scale3: string | undefined;
  private scale2: string | undefined;
  private readonly loraTransposed = new Map<string, [string, string]>();
  readonly loraInputs: string[] = [];

  private readonly loraRank: number;

  constructor(
    private readonly weights: WeightSnapshot,
    lora: LoraConfig | undefined,
  ) {
    this.g = new OnnxGraphBuilder('vsdlab-embedded-unet');
    this.adapted = new Set(lora === undefined ? [] : loraWeightNames(weights, lora));
    this.loraRank = lora?.rank ?? 0;
  }

  loraNames(): string[] {
    return [...this.adapted].sort();
  }

  declareLora(): void {
    if (this.adapted.size === 0) return;
    const scale = this.g.input('lora_scale', 'float32', ['B', 1, 1, 1]);
    this.scale4 = scale;
    this.scale3 = this.g.node('Reshape', [scale, this.shape([-1, 1, 1])]);
    this.scale2 = this.g.node('Reshape', [scale, this.shape([-1, 1])]);
    for (const name of this.loraNames()) {
      const w = this.weight(name);
      const rank4 = w.shape.length === 4;
      const r = this.loraRank;
      const out = w.shape[w.shape.length - 1] as number;
      const aShape = rank4 ? [w.shape[0] as number, w.shape[1] as number, w.shape[2] as number, r] : [w.shape[0] as number, r];
      const bShape = rank4 ? [1, 1, r, out] : [r, out];
      const a = this.g.input(`${name}.lora_a`, 'float32', aShape);
      const b = this.g.input(`${name}.lora_b`, 'float32', bShape);
      this.loraInputs.push(a, b);
      // conv pairs go from tfjs [k, k, in, out] to ONNX [out, in, k, k] once per run, inside the graph
      this.loraTransposed.set(name, rank4 ? [this.g.node('Transpose', [a], { perm: [3, 2, 0, 1] }), this.g.node('Transpose', [b], { perm: [3, 2, 0, 1] })] : [a, b]);
    }
  }

  weight(name: string): { data: Float32Array; shape: readonly number[] } {
    const w = this.weights[name];
    if (w === undefined) throw new Error(`onnx unet: missing weight ${name}`);
    return w;
  }

  private readonly emitted = new Set<string>();
  /** a weight as an initializer, optionally permuted (transposed in JS once) and/or given other dims */
  private init(name: string, perm?: number[], dims?: number[]): string {
    const key = `${name}${perm ? `:${perm.join('')}` : ''}`;
    if (this.emitted.has(key)) return key;
    this.emitted.add(key);
    const w = this.weight(name);
    const data = perm ? permute(w.data, w.shape, perm) : w.data;
    const shape = dims ?? (perm ? perm.map((p) => w.shape[p] as number) : [...w.shape]);
    return this.g.initializer(key, data, shape);
  }

  shape(values: number[]): string {
    return this.g.int64(this.g.fresh('shape'), values);
  }

  reshape(x: string, dims: number[]): string {
    return this.g.node('Reshape', [x, this.shape(dims)]);
  }

  /** x [B, ..., in] · W [in, out] (+ scale · (x A) B when adapted) + b: linear() of layers.ts */
  linear(x: Value, name: string, bias = true): Value {
    const w = this.weight(`${name}.w`);
    const out = w.shape[1] as number;
    let y = this.g.node('MatMul', [x.name, this.init(`${name}.w`)]);
    const pair = this.loraTransposed.get(`${name}.w`);
    if (pair !== undefined) {
      const delta = this.g.node('MatMul', [this.g.node('MatMul', [x.name, pair[0]]), pair[1]]);
      const scale = x.dims.length === 1 ? this.scale2 : this.scale3;
      if (scale === undefined || x.dims.length > 2) throw new Error(`onnx unet: LoRA on a rank-${x.dims.length + 1} linear input (${name})`);
      y = this.g.node('Add', [y, this.g.node('Mul', [delta, scale])]);
    }
    if (bias) y = this.g.node('Add', [y, this.init(`${name}.b`)]);
    return { name: y, dims: [...x.dims.slice(0, -1), out] };
  }

  /** NCHW conv with tfjs 'same' padding, weight [k, k, in, out] → [out, in, k, k]; conv() of layers.ts */
  conv(x: Value, name: string, stride = 1): Value {
    const w = this.weight(`${name}.w`);
    const [k, , , out] = w.shape as [number, number, number, number];
    const [, h, wd] = x.dims as [number, number, number];
    const pads = samePads(h, wd, k, stride);
    const attrs = { kernel_shape: [k, k], strides: [stride, stride], pads };
    const weightName = this.init(`${name}.w`, [3, 2, 0, 1]);
    const dims = [out, Math.ceil(h / stride), Math.ceil(wd / stride)];
    const pair = this.loraTransposed.get(`${name}.w`);
    if (pair === undefined) return { name: this.g.node('Conv', [x.name, weightName, this.init(`${name}.b`)], attrs), dims };
    // (x * W + scale · B(A(x))) + b, in the order layers.ts adds them
    const down = this.g.node('Conv', [x.name, pair[0]], attrs);
    const up = this.g.node('Conv', [down, pair[1]], { kernel_shape: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0] });
    const scale = this.scale4;
    if (scale === undefined) throw new Error('onnx unet: LoRA scale undeclared');
    const y = this.g.node('Add', [this.g.node('Conv', [x.name, weightName], attrs), this.g.node('Mul', [up, scale])]);
    return { name: this.g.node('Add', [y, this.init(`${name}.b`, undefined, [out, 1, 1])]), dims };
  }

  silu(x: Value): Value {
    return { name: this.g.node('Mul', [x.name, this.g.node('Sigmoid', [x.name])]), dims: x.dims };
  }

  /** group norm on NCHW (biased variance, eps 1e-5 inside the root) as InstanceNormalization over [B, G, C/G·H·W] */
  groupNorm(x: Value, name: string, groups: number, silu: boolean): Value {
    const [c, h, w] = x.dims as [number, number, number];
    const grouped = this.reshape(x.name, [0, groups, (c / groups) * h * w]);
    const ones = this.g.initializer(this.g.fresh('gn_ones'), new Float32Array(groups).fill(1), [groups]);
    const zeros = this.g.initializer(this.g.fresh('gn_zeros'), new Float32Array(groups), [groups]);
    const normed = this.reshape(this.g.node('InstanceNormalization', [grouped, ones, zeros], { epsilon: { float: 1e-5 } }), [0, c, h, w]);
    const y = this.g.node('Add', [this.g.node('Mul', [normed, this.init(`${name}.gamma`, undefined, [c, 1, 1])]), this.init(`${name}.beta`, undefined, [c, 1, 1])]);
    const out = { name: y, dims: x.dims };
    return silu ? this.silu(out) : out;
  }

  layerNorm(x: Value, name: string): Value {
    return { name: this.g.node('LayerNormalization', [x.name, this.init(`${name}.gamma`), this.init(`${name}.beta`)], { axis: -1, epsilon: { float: 1e-5 } }), dims: x.dims };
  }

  add(a: Value, b: Value): Value {
    return { name: this.g.node('Add', [a.name, b.name]), dims: a.dims };
  }

  /** blocks.ts resBlock on NCHW */
  resBlock(x: Value, temb: Value, name: string, outChannels: number, groups: number): Value {
    const inChannels = x.dims[0] as number;
    let h = this.conv(this.groupNorm(x, `${name}.norm1`, groups, true), `${name}.conv1`);
    const t = this.linear(this.silu(temb), `${name}.time_proj`);
    h = { name: this.g.node('Add', [h.name, this.reshape(t.name, [0, outChannels, 1, 1])]), dims: h.dims };
    h = this.conv(this.groupNorm(h, `${name}.norm2`, groups, true), `${name}.conv2`);
    const skip = inChannels === outChannels ? x : this.conv(x, `${name}.skip`);
    return this.add(skip, h);
  }

  /** blocks.ts attention on tokens [B, N, C] and context [B, M, D] */
  attention(x: Value, context: Value, name: string, heads: number): Value {
    const [n, c] = x.dims as [number, number];
    const dh = c / heads;
    const q = this.g.node('Transpose', [this.reshape(this.linear(x, `${name}.to_q`, false).name, [0, n, heads, dh])], { perm: [0, 2, 1, 3] });
    const kT = this.g.node('Transpose', [this.reshape(this.linear(context, `${name}.to_k`, false).name, [0, -1, heads, dh])], { perm: [0, 2, 3, 1] });
    const v = this.g.node('Transpose', [this.reshape(this.linear(context, `${name}.to_v`, false).name, [0, -1, heads, dh])], { perm: [0, 2, 1, 3] });
    const scores = this.g.node('Mul', [this.g.node('MatMul', [q, kT]), this.g.scalar(this.g.fresh('attn_scale'), 1 / Math.sqrt(dh))]);
    const out = this.g.node('MatMul', [this.g.node('Softmax', [scores], { axis: -1 }), v]);
    const joined = this.reshape(this.g.node('Transpose', [out], { perm: [0, 2, 1, 3] }), [0, n, c]);
    return this.linear({ name: joined, dims: [n, c] }, `${name}.to_out`);
  }

  /** value · gelu_tanh(gate) on [..., 2D] = [value | gate]; gelu_tanh(g) = g·σ(2·√(2/π)·(g + 0.044715 g³)) */
  geglu(x: Value): Value {
    const d = (x.dims[x.dims.length - 1] as number) / 2;
    const value = this.g.fresh('geglu_value');
    const gate = this.g.fresh('geglu_gate');
    this.g.node('Split', [x.name], { axis: -1 }, [value, gate]);
    const cube = this.g.node('Mul', [this.g.node('Mul', [gate, gate]), gate]);
    const inner = this.g.node('Add', [gate, this.g.node('Mul', [cube, this.g.scalar(this.g.fresh('gelu_c'), 0.044715)])]);
    const arg = this.g.node('Mul', [inner, this.g.scalar(this.g.fresh('gelu_k'), 2 * Math.sqrt(2 / Math.PI))]);
    const gelu = this.g.node('Mul', [gate, this.g.node('Sigmoid', [arg])]);
    return { name: this.g.node('Mul', [value, gelu]), dims: [...x.dims.slice(0, -1), d] };
  }

  /** blocks.ts transformerBlock on NCHW */
  transformerBlock(x: Value, cond: Value, name: string, heads: number, groups: number): Value {
    const [c, h, w] = x.dims as [number, number, number];
    const normed = this.groupNorm(x, `${name}.norm`, groups, false);
    const flat = this.g.node('Transpose', [this.reshape(normed.name, [0, c, h * w])], { perm: [0, 2, 1] });
    let tokens = this.linear({ name: flat, dims: [h * w, c] }, `${name}.proj_in`);
    const selfIn = this.layerNorm(tokens, `${name}.ln1`);
    tokens = this.add(tokens, this.attention(selfIn, selfIn, `${name}.attn1`, heads));
    tokens = this.add(tokens, this.attention(this.layerNorm(tokens, `${name}.ln2`), cond, `${name}.attn2`, heads));
    const projected = this.linear(this.layerNorm(tokens, `${name}.ln3`), `${name}.ff.proj`);
    tokens = this.add(tokens, this.linear(this.geglu(projected), `${name}.ff.out`));
    const out = this.linear(tokens, `${name}.proj_out`);
    const back = this.reshape(this.g.node('Transpose', [out.name], { perm: [0, 2, 1] }), [0, c, h, w]);
    return this.add(x, { name: back, dims: x.dims });
  }

  /** nearest-neighbour 2× on NCHW (each pixel copied to a 2×2 block, as upsampleNearest2x) */
  upsample(x: Value): Value {
    const [c, h, w] = x.dims as [number, number, number];
    const scales = this.g.initializer(this.g.fresh('up_scales'), new Float32Array([1, 1, 2, 2]), [4]);
    const y = this.g.node('Resize', [x.name, '', scales], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
    return { name: y, dims: [c, 2 * h, 2 * w] };
  }
}

/** row-major transpose of a tensor's data */
const permute = (data: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array => {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p] as number);
  const inStrides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = (inStrides[i + 1] as number) * (shape[i + 1] as number);
  const out = new Float32Array(data.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < rank; d++) src += (idx[d] as number) * (inStrides[perm[d] as number] as number);
    out[o] = data[src] as number;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d] = (idx[d] as number) + 1;
      if ((idx[d] as number) < (outShape[d] as number)) break;
      idx[d] = 0;
    }
  }
  return out;
};

/** the whole network (unet.ts forward) as an ONNX model for inputs of `height` × `width` */
export const unetToOnnx = (configIn: UNetConfig, weights: WeightSnapshot, options: UNetGraphOptions): UNetGraph => {
  const config = validateUNetConfig(configIn);
  const { height, width } = options;
  const patch = config.patchSize ?? 1;
  const w = new UNetWriter(weights, options.lora);
  const g = w.g;
  const levels = levelChannels(config);
  const { groups, heads } = config;
  const base = config.baseChannels;
  const cin = config.inChannels;

  const x = g.input('x', 'float32', ['B', height, width, cin]);
  const tFeatures = g.input('t_features', 'float32', ['B', base]);
  const vBody = config.bodyPredicts === 'v';
  const sigma = vBody ? g.input('sigma', 'float32', ['B', 1, 1, 1]) : undefined;
  const alpha = vBody ? g.input('alpha', 'float32', ['B', 1, 1, 1]) : undefined;
  const cond = g.input('cond', 'float32', ['B', 'L', config.condDim]);
  w.declareLora();

  const temb = w.linear(w.silu(w.linear({ name: tFeatures, dims: [base] }, 'time.linear1')), 'time.linear2');

  // space-to-depth and NHWC → NCHW in one transpose: [B, H/p, p(i), W/p, p(j), C] → [B, (i, j, C), H/p, W/p]
  const hp = height / patch;
  const wp = width / patch;
  const folded =
    patch === 1
      ? g.node('Transpose', [x], { perm: [0, 3, 1, 2] })
      : w.reshape(g.node('Transpose', [w.reshape(x, [0, hp, patch, wp, patch, cin])], { perm: [0, 2, 4, 5, 1, 3] }), [0, patch * patch * cin, hp, wp]);
  const condValue: Value = { name: cond, dims: [-1, config.condDim] };

  let h = w.conv({ name: folded, dims: [patch * patch * cin, hp, wp] }, 'conv_in');
  const skips: Value[] = [h];
  levels.forEach((channels, level) => {
    for (let i = 0; i < config.resBlocksPerLevel; i++) {
      h = w.resBlock(h, temb, `down.${level}.res.${i}`, channels, groups);
      if (config.attentionLevels[level] === true) h = w.transformerBlock(h, condValue, `down.${level}.attn.${i}`, heads, groups);
      skips.push(h);
    }
    if (level < levels.length - 1) {
      h = w.conv(h, `down.${level}.downsample`, 2);
      skips.push(h);
    }
  });

  const deepest = levels[levels.length - 1] as number;
  h = w.resBlock(h, temb, 'mid.res.0', deepest, groups);
  h = w.transformerBlock(h, condValue, 'mid.attn', heads, groups);
  h = w.resBlock(h, temb, 'mid.res.1', deepest, groups);

  for (let level = levels.length - 1; level >= 0; level--) {
    const channels = levels[level] as number;
    for (let i = 0; i <= config.resBlocksPerLevel; i++) {
      const skip = skips.pop();
      if (skip === undefined) throw new Error('onnx unet: skip connections exhausted');
      const joined: Value = { name: g.node('Concat', [h.name, skip.name], { axis: 1 }), dims: [(h.dims[0] as number) + (skip.dims[0] as number), ...h.dims.slice(1)] };
      h = w.resBlock(joined, temb, `up.${level}.res.${i}`, channels, groups);
      if (config.attentionLevels[level] === true) h = w.transformerBlock(h, condValue, `up.${level}.attn.${i}`, heads, groups);
    }
    if (level > 0) h = w.conv(w.upsample(h), `up.${level}.upsample`);
  }
  const out = w.conv(w.groupNorm(h, 'norm_out', groups, true), 'conv_out');

  // depth-to-space and NCHW → NHWC: [B, (i, j, C), H/p, W/p] → [B, H/p, i, W/p, j, C] → [B, H, W, C]
  const cout = config.outChannels;
  const body =
    patch === 1
      ? g.node('Transpose', [out.name], { perm: [0, 2, 3, 1] })
      : w.reshape(g.node('Transpose', [w.reshape(out.name, [0, patch, patch, cout, hp, wp])], { perm: [0, 4, 1, 5, 2, 3] }), [0, height, width, cout]);
  if (vBody && sigma !== undefined && alpha !== undefined) {
    g.node('Add', [g.node('Mul', [x, sigma]), g.node('Mul', [body, alpha])], {}, [ONNX_UNET_OUTPUT]);
  } else {
    g.node('Identity', [body], {}, [ONNX_UNET_OUTPUT]);
  }
  g.output(ONNX_UNET_OUTPUT, 'float32', ['B', height, width, cout]);

  const inputs = ['x', 't_features', ...(vBody ? ['sigma', 'alpha'] : []), 'cond', ...(w.loraNames().length > 0 ? ['lora_scale'] : []), ...w.loraInputs];
  return { model: g.encode(), inputs, loraWeights: w.loraNames() };
};
