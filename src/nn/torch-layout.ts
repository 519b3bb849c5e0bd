// PyTorch state dicts (diffusers, transformers) read as the nn layers' weights. The layers name their weights
// `<module>.w|b|gamma|beta|table` and keep them channels-last (conv [kh, kw, in, out], linear [in, out]); torch names
// them `<module>.weight|bias` with conv [out, in, kh, kw] and linear [out, in]. Mapping names and layouts here lets
// every model family reuse the same layers (fused norms, LoRA) on weights exactly as their reference code saved them.
import * as tf from '@tensorflow/tfjs';
import { BadInputError } from '../errors.js';
import type { WeightSource } from './params.js';

/** a tensor of a torch state dict, in torch's layout, handed over (the reader keeps no reference); undefined when the file has no such name */
export type TorchTensorReader = (torchName: string) => tf.Tensor | undefined;

const SUFFIX: Record<string, string> = { w: 'weight', b: 'bias', gamma: 'weight', beta: 'bias', table: 'weight' };

/** the torch name of a layer weight `module.kind` (`conv_in.w` → `conv_in.weight`) */
export function torchNameOf(name: string): string {
  const dot = name.lastIndexOf('.');
  const suffix = SUFFIX[name.slice(dot + 1)];
  if (dot < 0 || suffix === undefined) throw new Error(`torch layout: no torch name for weight ${name}`);
  return `${name.slice(0, dot)}.${suffix}`;
}

/** torch's shape of a weight the layers ask for channels-last: conv kernels and linear matrices are transposed */
export function torchShapeOf(name: string, shape: readonly number[]): number[] {
  if (!name.endsWith('.w')) return [...shape];
  if (shape.length === 4) return [shape[3], shape[2], shape[0], shape[1]] as number[];
  if (shape.length === 2) return [shape[1], shape[0]] as number[];
  throw new Error(`torch layout: weight ${name} of rank ${shape.length}`);
}

/**
 * A WeightSource over a torch state dict: `get('down_blocks.0.resnets.0.conv1.w', [3, 3, 320, 320])` reads
 * `down_blocks.0.resnets.0.conv1.weight` [320, 320, 3, 3] and hands it over channels-last. Each tensor is read and
 * converted once; `unused()` lists the state dict's names no layer asked for (a misnamed layer shows up there).
 */
export class TorchLayoutWeights implements WeightSource {
  private readonly converted = new Map<string, tf.Tensor>();

  constructor(
    private readonly read: TorchTensorReader,
    /** the file or folder the tensors come from, for messages */
    private readonly source: string,
    /** a prefix the state dict puts before every module name (e.g. `text_model.`) */
    private readonly prefix = '',
  ) {}

  get(name: string, shape: number[]): tf.Tensor {
    const cached = this.converted.get(name);
    if (cached !== undefined) return cached;
    const torchName = torchNameOf(`${this.prefix}${name}`);
    const torchShape = torchShapeOf(name, shape);
    const raw = this.read(torchName);
    if (raw === undefined) throw new BadInputError('WEIGHTS_MISMATCH', `${this.source}: no tensor ${torchName} (the architecture needs [${torchShape.join(', ')}])`, 'the weights do not fit the config.json beside them');
    if (raw.shape.length !== torchShape.length || raw.shape.some((d, i) => d !== torchShape[i])) {
      throw new BadInputError('WEIGHTS_MISMATCH', `${this.source}: ${torchName} has shape [${raw.shape.join(', ')}], the config needs [${torchShape.join(', ')}]`, 'the weights do not fit the config.json beside them');
    }
    const value = tf.tidy(() => {
      if (shape.length === 4 && name.endsWith('.w')) return tf.transpose(raw, [2, 3, 1, 0]);
      if (shape.length === 2 && name.endsWith('.w')) return tf.transpose(raw);
      return raw.clone();
    });
    raw.dispose();
    // kept past the caller's tidy: the next forward reuses it
    this.converted.set(name, tf.keep(value));
    return value;
  }

  /** torch names of the given state dict that no layer read */
  unused(allTorchNames: readonly string[]): string[] {
    const read = new Set([...this.converted.keys()].map((n) => torchNameOf(`${this.prefix}${n}`)));
    return allTorchNames.filter((n) => !read.has(n));
  }

  dispose(): void {
    for (const t of this.converted.values()) t.dispose();
    this.converted.clear();
  }
}
