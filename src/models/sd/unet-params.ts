// A diffusers UNet's weights as trainable tf.Variables, keyed by the names the nn layers ask for (`conv_in.w`,
// `down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.w`, ...) and laid out channels-last as they use them.
// This naming is a contract: the distill trainer's checkpoints, LoRA targeting (`.to_q.w`) and the diffusers /
// PEFT writers all key on it. A frozen teacher, a student trained whole and its EMA are three such maps run
// through the same sdUNetForward.
import * as tf from '@tensorflow/tfjs';
import { BadInputError } from '../../errors.js';
import type { LoraAdapter } from '../../nn/lora.js';
import { WeightReader, type Init, type ParamMap, type WeightSource } from '../../nn/params.js';
import { componentWeights } from './component-weights.js';
import type { ModelComponent } from './pipeline-folder.js';
import { sdUNetForward, type UNetForwardOptions } from './unet.js';
import type { UNetConfig } from './unet-config.js';

/** passes every request through and records its name and shape, in the order the forward asks */
class RecordingWeights implements WeightSource {
  readonly asked = new Map<string, number[]>();
  constructor(private readonly inner: WeightSource) {}
  get(name: string, shape: number[], init: Init): tf.Tensor {
    this.asked.set(name, [...shape]);
    return this.inner.get(name, shape, init);
  }
}

/**
 * Every weight sdUNetForward reads from `weights`, as variables: one forward on the smallest latent the config
 * takes asks for each layer's weight once (the forward is the only list of names, so this cannot drift from it).
 */
export function recordSdUNetParams(weights: WeightSource, config: UNetConfig, trainable: boolean): ParamMap {
  const recorder = new RecordingWeights(weights);
  const side = 2 ** (config.block_out_channels.length - 1);
  const contextDim = typeof config.cross_attention_dim === 'number' ? config.cross_attention_dim : (config.cross_attention_dim[0] as number);
  tf.tidy(() => {
    sdUNetForward({ weights: recorder }, config, tf.zeros([1, side, side, config.in_channels]) as tf.Tensor4D, [0], tf.zeros([1, 1, contextDim]) as tf.Tensor3D);
  });
  const params: ParamMap = {};
  for (const [name, shape] of recorder.asked) params[name] = tf.variable(weights.get(name, shape, 'zeros'), trainable);
  return params;
}

/**
 * The UNet component of a pipeline folder as a ParamMap (float32 whatever the file's dtype). A tensor of the file
 * that no layer reads is refused: it would silently be dropped from the student written back.
 */
export function loadSdUNetParams(component: ModelComponent<UNetConfig>, trainable: boolean): ParamMap {
  const { weights, view } = componentWeights(component);
  try {
    const params = recordSdUNetParams(weights, component.config, trainable);
    const unused = weights.unused(view.names());
    if (unused.length > 0) {
      for (const p of Object.values(params)) p.dispose();
      throw new BadInputError('SD_UNET_UNREAD', `${component.weights.path}: ${unused.length} tensors no layer reads (first ${unused[0]}); distilling would drop them from the student`, 'the UNet config and weights disagree: re-save the UNet with diffusers');
    }
    return params;
  } finally {
    weights.dispose();
    view.close();
  }
}

/** the UNet on the weights `params` (a teacher, a student, an EMA), the adapter applied where it targets */
export const sdUNetOn = (config: UNetConfig, params: ParamMap, x: tf.Tensor4D, t: number | readonly number[], cond: tf.Tensor3D, lora?: LoraAdapter, options: UNetForwardOptions = {}): tf.Tensor4D =>
  sdUNetForward({ weights: new WeightReader(params), lora }, config, x, typeof t === 'number' ? [t] : t, cond, options);

