// Gradient checkpointing (Chen et al. 2016; torch.utils.checkpoint): a segment of a network runs as one op that keeps
// only its inputs, and its backward recomputes the segment's forward and differentiates it there. Activation memory
// drops to the segment boundaries plus one segment's tape at a time, for one more forward per backward.
//
// The op's inputs are the segment's activations AND the weights it reads (base weights, LoRA A/B): a tfjs customGrad
// only hands gradients to its explicit inputs, and tf.variableGrads finds a weight's gradient only on a tape node that
// takes the weight as input. Which weights a segment reads is learned by running it once (tape paused) with a
// recording weight source, cached per segment under a scope object (the network's config: the same names and shapes
// whatever weight source a step reads them through).
//
// Bit-identity with the plain backward. Inside the segment the recomputed ops and their gradients are those of the
// plain forward, in the same order. At the boundary the engine sums the gradient contributions of a tensor in reverse
// tape order, one per consuming node; the checkpoint is one node, so a tensor the segment uses twice would get its two
// contributions pre-summed (a + b) instead of added one by one ((acc + b) + a), which rounds differently. So the
// caller passes a tensor once per use inside the segment, the later use first: the engine adds a node's input
// gradients in input order, which then is the plain backward's order.
import * as tf from '@tensorflow/tfjs';
import { gradientsInBackward, untaped } from '../tensor/tape.js';
import type { LoraAdapter } from './lora.js';
import type { LayerContext } from './layers.js';
import type { Init, ParamMap, WeightSource } from './params.js';

/** a segment's forward: the layers it calls read their weights from `layer` */
export type Segment<T extends tf.Tensor> = (layer: LayerContext, inputs: tf.Tensor[]) => T;

interface WeightUse {
  name: string;
  shape: number[];
  init: Init;
}

// scope (a config object, or the weight source) → segment key → the weights the segment reads, in reading order
const readsByScope = new WeakMap<object, Map<string, WeightUse[]>>();

const LORA_SUFFIXES = ['lora_a', 'lora_b'] as const;

/** the base weights a segment reads, with their tensors on first discovery */
function weightReads<T extends tf.Tensor>(layer: LayerContext, scope: object, key: string, inputs: tf.Tensor[], segment: Segment<T>): { uses: WeightUse[]; tensors: tf.Tensor[] } {
  let bySegment = readsByScope.get(scope);
  if (bySegment === undefined) {
    bySegment = new Map();
    readsByScope.set(scope, bySegment);
  }
  const known = bySegment.get(key);
  if (known !== undefined) return { uses: known, tensors: known.map((u) => layer.weights.get(u.name, u.shape, u.init)) };
  const uses: WeightUse[] = [];
  const tensors: tf.Tensor[] = [];
  const recorder: WeightSource = {
    get: (name, shape, init) => {
      const t = layer.weights.get(name, shape, init);
      uses.push({ name, shape: [...shape], init });
      tensors.push(t);
      return t;
    },
  };
  untaped(() => tf.tidy(() => void segment({ weights: recorder, lora: layer.lora }, inputs)));
  bySegment.set(key, uses);
  return { uses, tensors };
}

/** the LoRA parameter names of the adapted weights among `uses` while the adapter is on */
function loraReads(lora: LoraAdapter | undefined, uses: WeightUse[]): string[] {
  if (lora === undefined || !lora.enabled) return [];
  return uses.flatMap((u) => {
    const names = LORA_SUFFIXES.map((s) => `${u.name}.${s}`);
    return names.every((n) => lora.params[n] !== undefined) ? names : [];
  });
}

/** a layer context whose weights are exactly the given tensors (the op's inputs, or their saved copies) */
function boundContext(layer: LayerContext, uses: WeightUse[], weights: tf.Tensor[], loraNames: string[], loraTensors: tf.Tensor[]): LayerContext {
  const byName = new Map(uses.map((u, i) => [u.name, weights[i] as tf.Tensor]));
  const source: WeightSource = {
    get: (name) => {
      const t = byName.get(name);
      if (t === undefined) throw new Error(`checkpointed segment read weight ${name}, which its first run did not`);
      return t;
    },
  };
  if (layer.lora === undefined) return { weights: source };
  // the LoRA layers only read A and B as tensors; inside the recomputation they are the op's saved inputs, not variables
  const params = Object.fromEntries(loraNames.map((n, i) => [n, loraTensors[i]])) as unknown as ParamMap;
  return { weights: source, lora: { config: layer.lora.config, params, enabled: layer.lora.enabled } };
}

/**
 * `segment(layer, inputs)` as one checkpointed op while a gradient is being recorded; plainly otherwise. `key`
 * names the segment (its module path): the weights it reads are remembered under it and `scope`, an object that
 * fixes the architecture (the config; by default the weight source). Pass a tensor the segment uses twice as two
 * inputs, its later use first (see the file comment); the segment must read its weights only through `layer`, the
 * same names and shapes on every call with the same key, scope and input shapes.
 */
export function checkpointed<T extends tf.Tensor>(layer: LayerContext, key: string, inputs: tf.Tensor[], segment: Segment<T>, scope: object = layer.weights): T {
  if (!tf.engine().isTapeOn()) return segment(layer, inputs);
  const shapedKey = `${key}|${inputs.map((x) => x.shape.join('x')).join(',')}`;
  const { uses, tensors } = weightReads(layer, scope, shapedKey, inputs, segment);
  const loraNames = loraReads(layer.lora, uses);
  const loraTensors = loraNames.map((n) => layer.lora?.params[n] as tf.Tensor);
  const nIn = inputs.length;
  const nW = tensors.length;
  const split = (all: tf.Tensor[]): LayerContext & { acts: tf.Tensor[] } => ({
    ...boundContext(layer, uses, all.slice(nIn, nIn + nW), loraNames, all.slice(nIn + nW)),
    acts: all.slice(0, nIn),
  });
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args.pop() as tf.GradSaveFunc;
    const all = args as tf.Tensor[];
    // the engine runs this with the tape paused: the segment's activations are freed as it goes
    const ctx = split(all);
    const value = segment(ctx, ctx.acts);
    save(all);
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const seed = Array.isArray(dy) ? dy[0] : dy;
        if (seed === undefined) throw new Error(`checkpointed ${key}: backward without dy`);
        const again = split(saved);
        return gradientsInBackward(() => segment(again, again.acts), saved, seed);
      },
    };
  });
  return op(...inputs, ...tensors, ...loraTensors) as T;
}
