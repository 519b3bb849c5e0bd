// A diffusers Stable Diffusion folder, ready to sample: the checked folder, its tokenizer, the three networks on
// their weights (read lazily, tensor by tensor, in float32 whatever the file's float dtype) and its scheduler config.
import type { LayerContext } from '../../nn/layers.js';
import type { TorchLayoutWeights } from '../../nn/torch-layout.js';
import { parseSchedulerConfig, type SchedulerConfig } from '../../diffusion/scheduler-config.js';
import { componentWeights } from '../../models/sd/component-weights.js';
import type { ClipBpeTokenizer, ClipTextCleaning } from '../../models/sd/clip-bpe-tokenizer.js';
import { readPipelineFolder, type ModelComponent, type PipelineFolder } from '../../models/sd/pipeline-folder.js';
import { loadClipBpeTokenizer } from '../../models/sd/tokenizer-folder.js';
import type { TextEncoderConfig } from '../../models/sd/text-encoder-config.js';
import type { UNetConfig } from '../../models/sd/unet-config.js';
import type { VaeConfig } from '../../models/sd/vae-config.js';
import type { WeightView } from '../../weights/weight-view.js';

export interface Network<C> {
  layer: LayerContext;
  config: C;
}

export interface SdPipeline {
  folder: PipelineFolder;
  tokenizer: ClipBpeTokenizer;
  textEncoder: Network<TextEncoderConfig>;
  unet: Network<UNetConfig>;
  vae: Network<VaeConfig>;
  scheduler: SchedulerConfig;
  /** the VAE's downsampling factor: image side = latent side × this */
  vaeScale: number;
  /** frees the converted weights and closes the files */
  dispose(): void;
}

export interface LoadPipelineOptions {
  /** a weights variant (e.g. fp16), read where a component has it */
  variant?: string;
  /** transformers' CLIPTokenizer cleaning: 'ftfy' (ftfy installed, as in SwiftBrush's environment) or 'basic' */
  tokenizerCleaning?: ClipTextCleaning;
}

export function loadSdPipeline(dir: string, options: LoadPipelineOptions = {}): SdPipeline {
  const folder = readPipelineFolder(dir, options.variant === undefined ? {} : { variant: options.variant });
  const scheduler = parseSchedulerConfig(folder.scheduler.config, folder.scheduler.configPath);
  const tokenizer = loadClipBpeTokenizer(folder.tokenizer.dir, options.tokenizerCleaning === undefined ? {} : { cleaning: options.tokenizerCleaning });
  const opened: Array<{ weights: TorchLayoutWeights; view: WeightView }> = [];
  const network = <C>(component: ModelComponent<C>, prefix = ''): Network<C> => {
    const w = componentWeights(component, prefix);
    opened.push(w);
    return { layer: { weights: w.weights }, config: component.config };
  };
  return {
    folder,
    tokenizer,
    textEncoder: network(folder.textEncoder, 'text_model.'),
    unet: network(folder.unet),
    vae: network(folder.vae),
    scheduler,
    vaeScale: 2 ** (folder.vae.config.block_out_channels.length - 1),
    dispose: () => {
      for (const w of opened) {
        w.weights.dispose();
        w.view.close();
      }
    },
  };
}
