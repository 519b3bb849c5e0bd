// The embedded UNet (unet.ts, blocks.ts) written as an ONNX graph (opset 17) from its weights, for onnxruntime:
// the same network with every tfjs op's semantics kept (tfjs 'same' padding, GN/LN with torch's eps, tanh GELU,
// nearest 2× upsampling, the space-to-depth channel order), NCHW inside, NHWC at the edges.
//
// Graph inputs (B is free; H, W are fixed per graph, so every reshape is a constant and ORT plans once):
//   x           [B, H, W, inChannels]   float32, NHWC as tfjs
//   t_features  [B, baseChannels]       timestepFeatures(t) computed in JS (float64 angles, as unet.ts)
//   sigma, alpha [B, 1, 1, 1]           only when bodyPredicts is 'v': ε̂ = σ_t x_t + α_t v̂
//   cond        [B, L, condDim]         text embeddings
//   <weight>.lora_a / <weight>.lora_b   only with a LoRA shape, one pair per adapted weight, in lora.ts's layout
//                                       (linear A [in, r], B [r, out]; conv A [k, k, in, r], B [1, 1, r, out]);
//                                       the scale alpha/rank is the shape's, a constant of the graph
// Output: eps [B, H, W, outChannels] (what unetForward returns).
import { BadInputError } from '../../errors.js';
import { OnnxGraphBuilder } from '../../onnx/graph-builder.js';
import type { LoraConfig } from '../../nn/lora.js';
import { type UNetConfig, levelChannels, timeEmbedDim, validateUNetConfig } from './config.js';

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

// the weights come from a teacher folder or checkpoint the user names, as for unetForward's WeightReader
const MISMATCH_HINT = "the weights file does not fit the architecture its description (teacher.json, the recipe) declares: re-export or retrain it";

const mismatch = (message: string): never => {
  throw new BadInputError('WEIGHTS_MISMATCH', message, MISMATCH_HINT);
};

/** writes the layers of unet.ts / blocks.ts as ONNX nodes, keeping each value's static shape */
class UNetWriter {
  readonly g: OnnxGraphBuilder;
  /** names of the adapted weights, and their A/B inputs as the graph uses them (conv pairs transposed) */
  private readonly adapted: Set<string>;
  private readonly loraRank: number;
  private readonly loraAlpha: number;
  private readonly loraPairs = new Map<string, [string, string]>();
  readonly loraInputs: string[] = [];
  /** alpha / rank as a float32 scalar, as tfjs multiplies the delta by the JS number */
  private scale: string | undefined;
  private readonly emitted = new Set<string>();

  constructor(
    private readonly weights: WeightSnapshot,
    lora: LoraConfig | undefined,
  ) {
    this.g = new OnnxGraphBuilder('vsdlab-embedded-unet');
    this.adapted = new Set(lora === undefined ? [] : loraWeightNames(weights, lora));
    this.loraRank = lora?.rank ?? 0;
    this.loraAlpha = lora?.alpha ?? 0;
  }

  loraNames(): string[] {
    return [...this.adapted].sort();
  }

  declareLora(): void {
    if (this.adapted.size === 0) return;
    this.scale = this.g.scalar('lora_scale', this.loraAlpha / this.loraRank);
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
      this.loraPairs.set(name, rank4 ? [this.g.node('Transpose', [a], { perm: [3, 2, 0, 1] }), this.g.node('Transpose', [b], { perm: [3, 2, 0, 1] })] : [a, b]);
    }
  }

  private loraScale(): string {
    if (this.scale === undefined) throw new Error('onnx unet: LoRA scale used before declareLora');
    return this.scale;
  }

  weight(name: string): { data: Float32Array; shape: readonly number[] } {
    const w = this.weights[name];
    return w ?? mismatch(`missing weight ${name}`);
  }

  /** the weight, checked against the shape the architecture asks for (as WeightReader does) */
  expectShape(name: string, shape: readonly number[]): { data: Float32Array; shape: readonly number[] } {
    const w = this.weight(name);
    if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) mismatch(`weight ${name} has shape [${w.shape.join(', ')}], the architecture needs [${shape.join(', ')}]`);
    return w;
  }

  /** a weight (shape-checked) as an initializer, optionally permuted (transposed in JS once) and/or given other dims */
  private init(name: string, expected: readonly number[], perm?: number[], dims?: number[]): string {
    const key = `${name}${perm ? `:${perm.join('')}` : ''}`;
    if (this.emitted.has(key)) return key;
    this.emitted.add(key);
    const w = this.expectShape(name, expected);
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
  linear(x: Value, name: string, outDim: number, bias = true): Value {
    let y = this.g.node('MatMul', [x.name, this.init(`${name}.w`, [x.dims[x.dims.length - 1] as number, outDim])]);
    const pair = this.loraPairs.get(`${name}.w`);
    if (pair !== undefined) {
      const delta = this.g.node('MatMul', [this.g.node('MatMul', [x.name, pair[0]]), pair[1]]);
      y = this.g.node('Add', [y, this.g.node('Mul', [delta, this.loraScale()])]);
    }
    if (bias) y = this.g.node('Add', [y, this.init(`${name}.b`, [outDim])]);
    return { name: y, dims: [...x.dims.slice(0, -1), outDim] };
  }

  /** NCHW conv with tfjs 'same' padding, weight [k, k, in, out] → [out, in, k, k]; conv() of layers.ts */
  conv(x: Value, name: string, outChannels: number, kernel: number, stride = 1): Value {
    const [, h, w] = x.dims as [number, number, number];
    const pads = samePads(h, w, kernel, stride);
    const attrs = { kernel_shape: [kernel, kernel], strides: [stride, stride], pads };
    const weightName = this.init(`${name}.w`, [kernel, kernel, x.dims[0] as number, outChannels], [3, 2, 0, 1]);
    const dims = [outChannels, Math.ceil(h / stride), Math.ceil(w / stride)];
    const pair = this.loraPairs.get(`${name}.w`);
    if (pair === undefined) return { name: this.g.node('Conv', [x.name, weightName, this.init(`${name}.b`, [outChannels])], attrs), dims };
    // (x * W + scale · B(A(x))) + b, in the order layers.ts adds them
    const down = this.g.node('Conv', [x.name, pair[0]], attrs);
    const up = this.g.node('Conv', [down, pair[1]], { kernel_shape: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0] });
    const y = this.g.node('Add', [this.g.node('Conv', [x.name, weightName], attrs), this.g.node('Mul', [up, this.loraScale()])]);
    return { name: this.g.node('Add', [y, this.init(`${name}.b`, [outChannels], undefined, [outChannels, 1, 1])]), dims };
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
    const y = this.g.node('Add', [this.g.node('Mul', [normed, this.init(`${name}.gamma`, [c], undefined, [c, 1, 1])]), this.init(`${name}.beta`, [c], undefined, [c, 1, 1])]);
    const out = { name: y, dims: x.dims };
    return silu ? this.silu(out) : out;
  }

  layerNorm(x: Value, name: string): Value {
    const c = x.dims[x.dims.length - 1] as number;
    return { name: this.g.node('LayerNormalization', [x.name, this.init(`${name}.gamma`, [c]), this.init(`${name}.beta`, [c])], { axis: -1, epsilon: { float: 1e-5 } }), dims: x.dims };
  }

  add(a: Value, b: Value): Value {
    return { name: this.g.node('Add', [a.name, b.name]), dims: a.dims };
  }

  /** blocks.ts resBlock on NCHW */
  resBlock(x: Value, temb: Value, name: string, outChannels: number, groups: number): Value {
    const inChannels = x.dims[0] as number;
    let h = this.conv(this.groupNorm(x, `${name}.norm1`, groups, true), `${name}.conv1`, outChannels, 3);
    const t = this.linear(this.silu(temb), `${name}.time_proj`, outChannels);
    h = { name: this.g.node('Add', [h.name, this.reshape(t.name, [0, outChannels, 1, 1])]), dims: h.dims };
    h = this.conv(this.groupNorm(h, `${name}.norm2`, groups, true), `${name}.conv2`, outChannels, 3);
    const skip = inChannels === outChannels ? x : this.conv(x, `${name}.skip`, outChannels, 1);
    return this.add(skip, h);
  }

  /** blocks.ts attention on tokens [B, N, C] and context [B, M, D] */
  attention(x: Value, context: Value, name: string, heads: number): Value {
    const [n, c] = x.dims as [number, number];
    const dh = c / heads;
    const q = this.g.node('Transpose', [this.reshape(this.linear(x, `${name}.to_q`, c, false).name, [0, n, heads, dh])], { perm: [0, 2, 1, 3] });
    const kT = this.g.node('Transpose', [this.reshape(this.linear(context, `${name}.to_k`, c, false).name, [0, -1, heads, dh])], { perm: [0, 2, 3, 1] });
    const v = this.g.node('Transpose', [this.reshape(this.linear(context, `${name}.to_v`, c, false).name, [0, -1, heads, dh])], { perm: [0, 2, 1, 3] });
    const scores = this.g.node('Mul', [this.g.node('MatMul', [q, kT]), this.g.scalar(this.g.fresh('attn_scale'), 1 / Math.sqrt(dh))]);
    const out = this.g.node('MatMul', [this.g.node('Softmax', [scores], { axis: -1 }), v]);
    const joined = this.reshape(this.g.node('Transpose', [out], { perm: [0, 2, 1, 3] }), [0, n, c]);
    return this.linear({ name: joined, dims: [n, c] }, `${name}.to_out`, c);
  }

  /**
   * ff.proj then GEGLU: value · gelu_tanh(gate) for [value | gate] = x W + b, with gelu_tanh(g) = g·σ(2·√(2/π)·(g +
   * 0.044715 g³)) (the fused kernel's identity). The two halves are two MatMuls on W's column halves: the same dot
   * products as one MatMul and a Split, without copying the [B, N, 8C] result apart
   */
  gegluProj(x: Value, name: string): Value {
    const inDim = x.dims[x.dims.length - 1] as number;
    const out2 = 8 * inDim;
    const w = this.expectShape(`${name}.w`, [inDim, out2]);
    const d = out2 / 2;
    if (this.loraPairs.has(`${name}.w`)) {
      // an adapted ff.proj: the plain path (MatMul with the LoRA delta, then Split)
      const projected = this.linear(x, name, out2);
      const value = this.g.fresh('geglu_value');
      const gate = this.g.fresh('geglu_gate');
      this.g.node('Split', [projected.name], { axis: -1 }, [value, gate]);
      return { name: this.gelu(value, gate), dims: [...x.dims.slice(0, -1), d] };
    }
    const b = this.expectShape(`${name}.b`, [out2]);
    const half = (part: 0 | 1): string => {
      const cols = new Float32Array(inDim * d);
      for (let i = 0; i < inDim; i++) cols.set(w.data.subarray(i * out2 + part * d, i * out2 + part * d + d), i * d);
      const wName = this.g.initializer(`${name}.w:${part}`, cols, [inDim, d]);
      const bName = this.g.initializer(`${name}.b:${part}`, b.data.slice(part * d, part * d + d), [d]);
      return this.g.node('Add', [this.g.node('MatMul', [x.name, wName]), bName]);
    };
    return { name: this.gelu(half(0), half(1)), dims: [...x.dims.slice(0, -1), d] };
  }

  private gelu(value: string, gate: string): string {
    const cube = this.g.node('Mul', [this.g.node('Mul', [gate, gate]), gate]);
    const inner = this.g.node('Add', [gate, this.g.node('Mul', [cube, this.g.scalar(this.g.fresh('gelu_c'), 0.044715)])]);
    const arg = this.g.node('Mul', [inner, this.g.scalar(this.g.fresh('gelu_k'), 2 * Math.sqrt(2 / Math.PI))]);
    return this.g.node('Mul', [value, this.g.node('Mul', [gate, this.g.node('Sigmoid', [arg])])]);
  }

  /** blocks.ts transformerBlock on NCHW */
  transformerBlock(x: Value, cond: Value, name: string, heads: number, groups: number): Value {
    const [c, h, w] = x.dims as [number, number, number];
    const normed = this.groupNorm(x, `${name}.norm`, groups, false);
    const flat = this.g.node('Transpose', [this.reshape(normed.name, [0, c, h * w])], { perm: [0, 2, 1] });
    let tokens = this.linear({ name: flat, dims: [h * w, c] }, `${name}.proj_in`, c);
    const selfIn = this.layerNorm(tokens, `${name}.ln1`);
    tokens = this.add(tokens, this.attention(selfIn, selfIn, `${name}.attn1`, heads));
    tokens = this.add(tokens, this.attention(this.layerNorm(tokens, `${name}.ln2`), cond, `${name}.attn2`, heads));
    const gated = this.gegluProj(this.layerNorm(tokens, `${name}.ln3`), `${name}.ff.proj`);
    tokens = this.add(tokens, this.linear(gated, `${name}.ff.out`, c));
    const out = this.linear(tokens, `${name}.proj_out`, c);
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

  const tdim = timeEmbedDim(config);
  const temb = w.linear(w.silu(w.linear({ name: tFeatures, dims: [base] }, 'time.linear1', tdim)), 'time.linear2', tdim);

  // space-to-depth and NHWC → NCHW in one transpose: [B, H/p, p(i), W/p, p(j), C] → [B, (i, j, C), H/p, W/p]
  const hp = height / patch;
  const wp = width / patch;
  const folded =
    patch === 1
      ? g.node('Transpose', [x], { perm: [0, 3, 1, 2] })
      : w.reshape(g.node('Transpose', [w.reshape(x, [0, hp, patch, wp, patch, cin])], { perm: [0, 2, 4, 5, 1, 3] }), [0, patch * patch * cin, hp, wp]);
  const condValue: Value = { name: cond, dims: [-1, config.condDim] };

  let h = w.conv({ name: folded, dims: [patch * patch * cin, hp, wp] }, 'conv_in', base, 3);
  const skips: Value[] = [h];
  levels.forEach((channels, level) => {
    for (let i = 0; i < config.resBlocksPerLevel; i++) {
      h = w.resBlock(h, temb, `down.${level}.res.${i}`, channels, groups);
      if (config.attentionLevels[level] === true) h = w.transformerBlock(h, condValue, `down.${level}.attn.${i}`, heads, groups);
      skips.push(h);
    }
    if (level < levels.length - 1) {
      h = w.conv(h, `down.${level}.downsample`, channels, 3, 2);
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
    if (level > 0) h = w.conv(w.upsample(h), `up.${level}.upsample`, channels, 3);
  }
  const cout = config.outChannels;
  const out = w.conv(w.groupNorm(h, 'norm_out', groups, true), 'conv_out', cout * patch * patch, 3);

  // depth-to-space and NCHW → NHWC: [B, (i, j, C), H/p, W/p] → [B, H/p, i, W/p, j, C] → [B, H, W, C]
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

  const inputs = ['x', 't_features', ...(vBody ? ['sigma', 'alpha'] : []), 'cond', ...w.loraInputs];
  return { model: g.encode(), inputs, loraWeights: w.loraNames() };
};
