// What one forward + backward of sdUNetForward keeps in memory on tfjs, op by op, without running it: the tensors the
// gradient tape saves (each tfjs gradient's inputsToSave / outputsToSave; one buffer per tensor, as reshapes and the
// tape's clones share theirs) and the activation gradients the backward holds until it ends (tfjs frees nothing
// inside a backward pass: every input gradient an op returns stays alive, a reshape's or a same-shape add's shares
// dy's buffer); and the peak of a forward without a tape (the teacher passes), whose block scopes free what each
// block made. The walk mirrors unet.ts block by block; test/models/sd/memory-budget.test.ts checks it against the
// engine's own counts (tensor/tape.ts, tensor/buffer-peak.ts): the tape exactly, at several sizes, plain,
// checkpointed, with sliced attention and LoRA; the peaks within stated bounds.
import { attentionHeads, CROSS_ATTN_DOWN, CROSS_ATTN_UP, type UNetForwardOptions } from './unet.js';
import type { UNetConfig } from './unet-config.js';
import { layerKernelsActive } from '../../tensor/layer-kernels.js';

/** an activation: its buffer's label and element count; `fromWeights` when the backward differentiates it */
interface Act {
  label: string;
  n: number;
  fromWeights: boolean;
}

export interface TapeBytes {
  /** the tensors the tape saves during the forward, held until the backward ends */
  saved: number;
  /** the activation gradients the backward holds until it ends */
  gradients: number;
  /** checkpointing: the largest segment's own tape and gradients during its recomputation (0 without) */
  segmentPeak: number;
}

const F32 = 4;

/** one tape: saved buffers by label, and the gradient buffers of its backward */
class Tape {
  private readonly saved = new Map<string, number>();
  private readonly firstOwn = new Map<string, number>();
  private readonly summed = new Set<string>();
  private readonly outside = new Set<string>();
  private gradients = 0;
  private next = 0;
  /** a forward without a tape: elements alive now (each tf.tidy scope frees what it made but its output), and the most */
  private live = 0;
  peakLive = 0;
  /** false: a forward without a gradient tape (the fused group norm keeps no gate) */
  constructor(private readonly prefix: string, readonly taped = true) {}

  fresh(n: number, fromWeights = true): Act {
    this.live += n;
    this.peakLive = Math.max(this.peakLive, this.live);
    return { label: `${this.prefix}${this.next++}`, n, fromWeights };
  }
  keep(...acts: Array<Act | undefined>): void {
    for (const a of acts) if (a !== undefined && !this.outside.has(a.label) && !this.saved.has(a.label)) this.saved.set(a.label, a.n);
  }
  /**
   * the backward gives `a` a gradient for this use: a new buffer, or (`shared`) a reshape of dy's. From the second
   * use on, the running sum is a new buffer that replaces the previous one (freed when it was a buffer of its own).
   */
  grad(a: Act | undefined, shared = false): void {
    if (a === undefined || !a.fromWeights) return;
    const own = shared ? 0 : a.n;
    const firstOwn = this.firstOwn.get(a.label);
    if (firstOwn === undefined) {
      this.firstOwn.set(a.label, own);
      this.gradients += own;
    } else if (!this.summed.has(a.label)) {
      this.summed.add(a.label);
      this.gradients += own + a.n - firstOwn;
    } else {
      this.gradients += own;
    }
  }
  /** a buffer another tape already holds (a checkpointed segment's inputs): not counted again */
  external(a: Act): Act {
    this.outside.add(a.label);
    return a;
  }
  /** a tf.tidy: what f makes is freed when it returns, but its output */
  scope(f: () => Act): Act {
    const before = this.live;
    const out = f();
    this.live = before + out.n;
    return out;
  }
  /** buffers released outright (a block's consumed inputs) */
  release(...acts: Act[]): void {
    for (const a of acts) this.live -= a.n;
  }
  bytes(): { saved: number; gradients: number } {
    let s = 0;
    for (const n of this.saved.values()) s += n;
    return { saved: s * F32, gradients: this.gradients * F32 };
  }

  // ---- the ops, as tfjs records them (x: activation input; weights are neither saved here nor given dx here)
  reshape(x: Act): Act {
    this.keep(x);
    this.grad(x, true);
    return x;
  }
  add(a: Act, b?: Act, n = a.n): Act {
    this.keep(a, b);
    this.grad(a, a.n === n);
    this.grad(b, b !== undefined && b.n === n);
    return this.fresh(n, a.fromWeights || b?.fromWeights === true || b === undefined);
  }
  /** a · b, or a · scalar */
  mul(a: Act, b?: Act, n = a.n): Act {
    this.keep(a, b);
    this.grad(a);
    this.grad(b);
    return this.fresh(n);
  }
  /** a matrix product of an activation with a weight (b undefined) or another activation */
  matMul(a: Act, n: number, b?: Act): Act {
    this.keep(a, b);
    this.grad(a);
    this.grad(b);
    return this.fresh(n);
  }
  conv(x: Act, n: number): Act {
    this.keep(x);
    this.grad(x);
    return this.fresh(n);
  }
  /**
   * tensor/linear-kernel.ts: one node keeping x, and with a LoRA pair x·A (a second output, made only while a tape
   * records); dx is a buffer of its own. With LoRA the backward also holds dy·α/r, its product with Bᵀ and the zero
   * dy the engine hands the unused x·A output.
   */
  linearKernel(x: Act, n: number, loraN: number): Act {
    this.keep(x);
    if (loraN > 0 && this.taped) {
      this.keep(this.fresh(loraN));
      this.unusedOutputs(true, n + 2 * loraN);
    }
    this.grad(x);
    return this.fresh(n);
  }
  /** tensor/conv-bias-kernel.ts: one node keeping x (the chain's Add kept the conv's output too) */
  convKernel(x: Act, n: number): Act {
    this.keep(x);
    this.grad(x);
    return this.fresh(n);
  }
  transpose(x: Act): Act {
    this.grad(x);
    return this.fresh(x.n, x.fromWeights);
  }
  softmax(x: Act): Act {
    this.grad(x);
    // its gradient computes dy · y outside the closure the engine tidies
    this.unusedOutputs(x.fromWeights, x.n);
    const y = this.fresh(x.n);
    this.keep(y);
    return y;
  }
  unary(x: Act): Act {
    this.keep(x);
    this.grad(x);
    return this.fresh(x.n);
  }
  /** erf's gradient builds 2/√π · exp(−x²) eagerly: square, neg, exp, mul, four buffers the backward keeps */
  erf(x: Act): Act {
    this.unusedOutputs(x.fromWeights, 4 * x.n);
    return this.unary(x);
  }
  concat(a: Act, b: Act): Act {
    this.keep(a, b);
    this.grad(a);
    this.grad(b);
    return this.fresh(a.n + b.n);
  }
  split(x: Act): [Act, Act] {
    this.grad(x);
    return [this.fresh(x.n / 2), this.fresh(x.n / 2)];
  }
  /** the fused group norm: x, mean and rstd [B, G], and σ(z) when it applies SiLU */
  groupNorm(x: Act, batch: number, groups: number, silu: boolean): Act {
    this.keep(x, this.fresh(batch * groups), this.fresh(batch * groups));
    if (silu && this.taped) this.keep(this.fresh(x.n));
    this.grad(x);
    this.unusedOutputs(x.fromWeights, 2 * batch * groups + (silu ? x.n : 0));
    return this.fresh(x.n);
  }
  layerNorm(x: Act, rows: number): Act {
    this.keep(x, this.fresh(rows), this.fresh(rows));
    this.grad(x);
    this.unusedOutputs(x.fromWeights, 2 * rows);
    return this.fresh(x.n);
  }
  /**
   * buffers a gradient makes outside what the engine tidies: the zero dy it hands outputs nothing depends on (a fused
   * norm's statistics and gate), and what a gradient function computes before its closures
   */
  private unusedOutputs(differentiated: boolean, n: number): void {
    if (differentiated) this.gradients += n;
  }
}

interface Walk {
  config: UNetConfig;
  batch: number;
  tokens: number;
  lora: ReadonlySet<string>;
  rank: number;
  options: UNetForwardOptions;
  /** linear and conv + bias as the layer kernels (tensor/layer-kernels.ts), not op chains */
  layerKernels: boolean;
}

/** nn/layers.ts linear: reshape, x W, LoRA (x A) B · α/r, + b, reshape */
function linear(t: Tape, w: Walk, name: string, x: Act, rows: number, out: number, bias = true): Act {
  if (w.layerKernels) return t.linearKernel(x, rows * out, w.lora.has(name) ? rows * w.rank : 0);
  const x2 = t.reshape(x);
  let y = t.matMul(x2, rows * out);
  if (w.lora.has(name)) {
    const down = t.matMul(x2, rows * w.rank);
    const up = t.matMul(down, rows * out);
    y = t.add(y, t.mul(up));
  }
  if (bias) y = t.add(y, undefined, rows * out);
  return t.reshape(y);
}

/** nn/layers.ts conv: conv2d, LoRA conv (A k×k, B 1×1) · α/r, + b */
function conv(t: Tape, w: Walk, name: string, x: Act, outN: number, rankN: number): Act {
  // with a LoRA delta nn/layers.ts keeps the chain
  if (w.layerKernels && !w.lora.has(name)) return t.convKernel(x, outN);
  let y = t.conv(x, outN);
  if (w.lora.has(name)) {
    const down = t.conv(x, rankN);
    y = t.add(y, t.mul(t.conv(down, outN)));
  }
  return t.add(y, undefined, outN);
}

function attention(t: Tape, w: Walk, q: Act, k: Act, v: Act, n: number, m: number, heads: number, inner: number): Act {
  return t.scope(() => attentionIn(t, w, q, k, v, n, m, heads, inner));
}

function attentionIn(t: Tape, w: Walk, q: Act, k: Act, v: Act, n: number, m: number, heads: number, inner: number): Act {
  const b = w.batch;
  const split = (a: Act): Act => t.reshape(t.transpose(t.reshape(a)));
  const [q3, k3, v3] = [split(q), split(k), split(v)];
  const slice = w.options.attentionSlice;
  let out: Act;
  if (slice !== undefined && slice < b * heads && !t.taped) {
    // forwardBySlice: each slice (its rows of q, k, v, scores, scaled scores, probabilities) in its own scope
    const d = inner / heads;
    const parts: Act[] = [];
    for (let r = 0; r < b * heads; r += slice) {
      const rows = Math.min(slice, b * heads - r);
      parts.push(t.scope(() => {
        [n, m, m].forEach((len) => t.fresh(rows * len * d));
        [0, 1, 2].forEach(() => t.fresh(rows * n * m));
        return t.fresh(rows * n * d);
      }));
    }
    out = t.fresh(b * n * inner);
    t.release(...parts);
  } else if (slice !== undefined && slice < b * heads) {
    // one op keeping q, k, v; its backward recomputes a slice at a time (counted in sliceTransient)
    t.keep(q3, k3, v3);
    [q3, k3, v3].forEach((a) => t.grad(a));
    out = t.fresh(b * n * inner);
  } else {
    const scores = t.mul(t.matMul(q3, b * heads * n * m, k3));
    out = t.matMul(t.softmax(scores), b * n * inner, v3);
  }
  return t.reshape(t.transpose(t.reshape(out)));
}

function crossAttention(t: Tape, w: Walk, name: string, x: Act, keysFrom: Act, valuesFrom: Act, n: number, m: number, dim: number, heads: number): Act {
  const b = w.batch;
  const q = linear(t, w, `${name}.to_q`, x, b * n, dim, false);
  const k = linear(t, w, `${name}.to_k`, keysFrom, b * m, dim, false);
  const v = linear(t, w, `${name}.to_v`, valuesFrom, b * m, dim, false);
  return linear(t, w, `${name}.to_out.0`, attention(t, w, q, k, v, n, m, heads, dim), b * n, dim);
}

/** Transformer2DModel up to its residual add */
function transformerBody(t: Tape, w: Walk, name: string, x: Act, ch: number, positions: number, heads: number, contextK: Act, contextV: Act): Act {
  const b = w.batch;
  const rows = b * positions;
  const h = t.groupNorm(x, b, w.config.norm_num_groups, false);
  let tokens = w.config.use_linear_projection ? linear(t, w, `${name}.proj_in`, t.reshape(h), rows, ch) : t.reshape(conv(t, w, `${name}.proj_in`, h, rows * ch, rows * w.rank));
  const blk = `${name}.transformer_blocks.0`;
  let n1 = t.layerNorm(tokens, rows);
  let hh = t.add(tokens, crossAttention(t, w, `${blk}.attn1`, n1, n1, n1, positions, positions, ch, heads));
  n1 = t.layerNorm(hh, rows);
  hh = t.add(hh, crossAttention(t, w, `${blk}.attn2`, n1, contextK, contextV, positions, w.tokens, ch, heads));
  n1 = t.layerNorm(hh, rows);
  const proj = linear(t, w, `${blk}.ff.net.0.proj`, n1, rows, 8 * ch);
  // gegluErf: split; value · (gate · 0.5) · (1 + erf(gate · √½))
  const gated = t.scope(() => {
    const [value, gate] = t.split(proj);
    const gelu = t.scope(() => {
      const half = t.mul(gate);
      const onePlus = t.add(t.erf(t.mul(gate)));
      return t.mul(half, onePlus);
    });
    return t.mul(value, gelu);
  });
  const ff = linear(t, w, `${blk}.ff.net.2`, gated, rows, ch);
  tokens = t.add(hh, ff);
  return w.config.use_linear_projection ? t.reshape(linear(t, w, `${name}.proj_out`, tokens, rows, ch)) : conv(t, w, `${name}.proj_out`, t.reshape(tokens), rows * ch, rows * w.rank);
}

function resnetBranch(t: Tape, w: Walk, name: string, x: Act, positions: number, out: number, temb: Act): Act {
  const b = w.batch;
  const g = w.config.norm_num_groups;
  let h = conv(t, w, `${name}.conv1`, t.groupNorm(x, b, g, true), b * positions * out, b * positions * w.rank);
  const te = t.reshape(linear(t, w, `${name}.time_emb_proj`, t.unary(temb), b, out));
  h = t.add(h, te, b * positions * out);
  return conv(t, w, `${name}.conv2`, t.groupNorm(h, b, g, true), b * positions * out, b * positions * w.rank);
}

/**
 * a checkpointed segment on the outer tape: one op saving its inputs, whose backward returns a gradient for every
 * input (the context's too, computed though unused); the segment's own tape lives only while it is recomputed
 */
function checkpointed(t: Tape, inputs: Act[], outN: number, inner: (s: Tape) => void, peak: { bytes: number }): Act {
  t.keep(...inputs);
  for (const a of inputs) t.grad(a.fromWeights ? a : { ...a, fromWeights: true });
  const s = new Tape('seg');
  inner(s);
  const b = s.bytes();
  peak.bytes = Math.max(peak.bytes, b.saved + b.gradients);
  return t.fresh(outN);
}

/** the bytes one forward + backward of sdUNetForward keeps, for a batch of latents of H × W, every weight trained */
export function unetTapeBytes(config: UNetConfig, o: WalkOptions): TapeBytes {
  return walk(config, o, true).tape;
}

/**
 * the buffer peak of one forward without a gradient tape (the teacher passes): the block outputs still needed (the
 * skips) and the largest block's intermediates, which sdUNetForward frees as each block ends
 */
export function unetForwardPeakBytes(config: UNetConfig, o: WalkOptions): number {
  return walk(config, { ...o, options: { ...o.options, checkpoint: false } }, false).forwardPeak;
}

export interface WalkOptions {
  batch: number;
  height: number;
  width: number;
  tokens: number;
  options?: UNetForwardOptions | undefined;
  lora?: { targets: readonly string[]; rank: number } | undefined;
  /** whether linear and conv + bias run as the layer kernels; by default as on the active backend */
  layerKernels?: boolean | undefined;
}

function walk(config: UNetConfig, o: WalkOptions, taped: boolean): { tape: TapeBytes; forwardPeak: number } {
  const options = o.options ?? {};
  const t = new Tape('t', taped);
  // sdUNetForward's block scopes, freeing what a block made but its output, and its inputs after their last use
  const block = (f: () => Act, ...consumed: Act[]): Act => {
    const out = t.scope(f);
    t.release(...consumed);
    return out;
  };
  const loraNames = new Set<string>();
  const w: Walk = { config, batch: o.batch, tokens: o.tokens, lora: loraNames, rank: o.lora?.rank ?? 0, options, layerKernels: o.layerKernels ?? layerKernelsActive() };
  const peak = { bytes: 0 };
  const b = o.batch;
  const c0 = config.block_out_channels[0] as number;
  const heads = attentionHeads(config);
  const layers = typeof config.layers_per_block === 'number' ? config.down_block_types.map(() => config.layers_per_block as number) : [...config.layers_per_block];
  const last = config.block_out_channels.length - 1;
  const d = typeof config.cross_attention_dim === 'number' ? config.cross_attention_dim : (config.cross_attention_dim[0] as number);
  const ckpt = options.checkpoint === true;
  const adapt = (name: string): void => {
    if (o.lora !== undefined && o.lora.targets.some((tg) => name.endsWith(`.${tg}`))) loraNames.add(name);
  };

  const sample = t.fresh(b * o.height * o.width * config.in_channels, false);
  const context = t.fresh(b * o.tokens * d, false);
  const features = t.fresh(b * c0, false);
  const temb = linear(t, w, 'time_embedding.linear_2', t.unary(linear(t, w, 'time_embedding.linear_1', features, b, 4 * c0)), b, 4 * c0);

  const resnet = (name: string, x: Act, positions: number, cin: number, out: number): Act => {
    ['conv1', 'conv2', 'time_emb_proj', 'conv_shortcut'].forEach((l) => adapt(`${name}.${l}`));
    const n = b * positions * out;
    const branch = ckpt ? checkpointed(t, [x, temb], n, (s) => resnetBranch(s, w, name, s.external({ ...x, label: 'x', fromWeights: true }), positions, out, s.external({ ...temb, label: 'temb', fromWeights: true })), peak) : resnetBranch(t, w, name, x, positions, out, temb);
    const skip = cin === out ? x : conv(t, w, `${name}.conv_shortcut`, x, n, b * positions * w.rank);
    return t.add(skip, branch);
  };
  const transformer = (name: string, x: Act, positions: number, ch: number, hds: number): Act => {
    const blk = `${name}.transformer_blocks.0`;
    ['proj_in', 'proj_out', ...['attn1', 'attn2'].flatMap((a) => ['to_q', 'to_k', 'to_v', 'to_out.0'].map((p) => `${blk}.${a}.${p}`)), `${blk}.ff.net.0.proj`, `${blk}.ff.net.2`].forEach((l) =>
      adapt(l.startsWith(blk) ? l : `${name}.${l}`),
    );
    const n = b * positions * ch;
    const body = ckpt
      ? checkpointed(t, [x, context, context], n, (s) => transformerBody(s, w, name, s.external({ ...x, label: 'x', fromWeights: true }), ch, positions, hds, s.external({ ...context, label: 'contextK', fromWeights: true }), s.external({ ...context, label: 'contextV', fromWeights: true })), peak)
      : transformerBody(t, w, name, x, ch, positions, hds, context, context);
    return t.add(body, x);
  };

  let hgt = o.height;
  let wid = o.width;
  adapt('conv_in');
  let h = block(() => conv(t, w, 'conv_in', sample, b * hgt * wid * c0, b * hgt * wid * w.rank));
  let ch = c0;
  const skips: Array<{ act: Act; ch: number }> = [{ act: h, ch }];
  config.down_block_types.forEach((type, i) => {
    const out = config.block_out_channels[i] as number;
    for (let j = 0; j < (layers[i] as number); j++) {
      const x = h;
      h = block(() => resnet(`down_blocks.${i}.resnets.${j}`, x, hgt * wid, ch, out));
      ch = out;
      const y = h;
      if (type === CROSS_ATTN_DOWN) h = block(() => transformer(`down_blocks.${i}.attentions.${j}`, y, hgt * wid, out, heads[i] as number), y);
      skips.push({ act: h, ch });
    }
    if (i < last) {
      hgt /= 2;
      wid /= 2;
      adapt(`down_blocks.${i}.downsamplers.0.conv`);
      const x = h;
      h = block(() => conv(t, w, `down_blocks.${i}.downsamplers.0.conv`, x, b * hgt * wid * out, b * hgt * wid * w.rank));
      skips.push({ act: h, ch });
    }
  });
  const deepest = config.block_out_channels[last] as number;
  const m0 = h;
  const m1 = block(() => resnet('mid_block.resnets.0', m0, hgt * wid, ch, deepest));
  const m2 = block(() => transformer('mid_block.attentions.0', m1, hgt * wid, deepest, heads[last] as number), m1);
  h = block(() => resnet('mid_block.resnets.1', m2, hgt * wid, deepest, deepest), m2);
  const reversed = [...config.block_out_channels].reverse();
  const reversedHeads = [...heads].reverse();
  const reversedLayers = [...layers].reverse();
  config.up_block_types.forEach((type, i) => {
    const out = reversed[i] as number;
    for (let j = 0; j <= (reversedLayers[i] as number); j++) {
      const skip = skips.pop();
      if (skip === undefined) throw new Error('unetTapeBytes: skip connections exhausted');
      const x = h;
      const cin = ch + skip.ch;
      h = block(() => resnet(`up_blocks.${i}.resnets.${j}`, t.concat(x, skip.act), hgt * wid, cin, out), x, skip.act);
      ch = out;
      const y = h;
      if (type === CROSS_ATTN_UP) h = block(() => transformer(`up_blocks.${i}.attentions.${j}`, y, hgt * wid, out, reversedHeads[i] as number), y);
    }
    if (i < last) {
      // upsampleNearest2x: reshape, concat, reshape, concat, reshape
      hgt *= 2;
      wid *= 2;
      adapt(`up_blocks.${i}.upsamplers.0.conv`);
      const x = h;
      h = block(() => {
        const cols = t.reshape(x);
        const wide = t.reshape(t.concat(cols, cols));
        return conv(t, w, `up_blocks.${i}.upsamplers.0.conv`, t.reshape(t.concat(wide, wide)), b * hgt * wid * out, b * hgt * wid * w.rank);
      }, x);
    }
  });
  adapt('conv_out');
  const last_ = h;
  block(() => conv(t, w, 'conv_out', t.groupNorm(last_, b, config.norm_num_groups, true), b * hgt * wid * config.out_channels, b * hgt * wid * w.rank), last_);
  const bytes = t.bytes();
  return { tape: { saved: bytes.saved, gradients: bytes.gradients, segmentPeak: peak.bytes + sliceTransient(config, o, heads) }, forwardPeak: t.peakLive * F32 };
}

/** sliced attention's backward: one slice's scores, probabilities and their gradients at a time */
function sliceTransient(config: UNetConfig, o: { batch: number; height: number; width: number; tokens: number; options?: UNetForwardOptions }, heads: number[]): number {
  const slice = o.options?.attentionSlice;
  if (slice === undefined) return 0;
  const top = o.height * o.width;
  const rows = Math.min(slice, o.batch * Math.max(...heads));
  return 4 * rows * top * top * F32;
}
