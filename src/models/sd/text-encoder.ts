// transformers' CLIPTextModel as the SD pipelines run it (no attention mask beyond the causal one: SD's text encoders
// do not set use_attention_mask), on the nn layers, weights by transformers' state-dict names (`text_model.…`).
// The output is last_hidden_state (after final_layer_norm), what StableDiffusionPipeline passes to the UNet. For SD 2
// that is open_clip ViT-H's penultimate block: diffusers' conversion keeps 23 of its 24 layers, so the config's
// num_hidden_layers already says how deep to go.
import * as tf from '@tensorflow/tfjs';
import { attention, geluErf, layerNorm, linear, quickGelu, type LayerContext } from '../../nn/layers.js';
import type { TextEncoderConfig } from './text-encoder-config.js';

// added to the scores above the diagonal: softmax gives those positions exactly 0, as transformers' finfo.min does
const MASKED = -1e30;

/** [L, L] additive causal mask: position i attends to positions ≤ i */
export const causalMask = (length: number): tf.Tensor2D =>
  tf.tidy(() => tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([length, length]), -1, 0)), MASKED) as tf.Tensor2D);

/** token ids [B, L] (L ≤ max_position_embeddings) → last_hidden_state [B, L, hidden_size] */
export function sdTextEncode(layer: LayerContext, config: TextEncoderConfig, ids: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const [, length] = ids.shape;
    const d = config.hidden_size;
    const tokens = tf.gather(layer.weights.get('embeddings.token_embedding.table', [config.vocab_size, d], 'fanIn'), ids.toInt());
    const positions = layer.weights.get('embeddings.position_embedding.table', [config.max_position_embeddings, d], 'fanIn').slice([0, 0], [length, d]);
    let h = tf.add(tokens, positions) as tf.Tensor3D;
    const mask = causalMask(length);
    const eps = config.layer_norm_eps;
    const act = config.hidden_act === 'gelu' ? geluErf : quickGelu;
    for (let i = 0; i < config.num_hidden_layers; i++) {
      const name = `encoder.layers.${i}`;
      let n = layerNorm(layer, `${name}.layer_norm1`, h, { eps }) as tf.Tensor3D;
      const q = linear(layer, `${name}.self_attn.q_proj`, n, d) as tf.Tensor3D;
      const k = linear(layer, `${name}.self_attn.k_proj`, n, d) as tf.Tensor3D;
      const v = linear(layer, `${name}.self_attn.v_proj`, n, d) as tf.Tensor3D;
      h = tf.add(h, linear(layer, `${name}.self_attn.out_proj`, attention(q, k, v, config.num_attention_heads, mask), d));
      n = layerNorm(layer, `${name}.layer_norm2`, h, { eps }) as tf.Tensor3D;
      h = tf.add(h, linear(layer, `${name}.mlp.fc2`, act(linear(layer, `${name}.mlp.fc1`, n, config.intermediate_size)), d));
    }
    return layerNorm(layer, 'final_layer_norm', h, { eps }) as tf.Tensor3D;
  });
}
