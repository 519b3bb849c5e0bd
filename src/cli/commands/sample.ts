import type { Argv } from 'yargs';
import { join, resolve } from 'node:path';
import { BadInputError } from '../../errors.js';
import { readCaptionList } from '../../data/caption-list.js';
import { BACKEND_CHOICES, type BackendChoice } from '../../tensor/backend-choices.js';
import { writeFileAtomically } from '../../util/atomic-write.js';
import { hashValue, sha256File } from '../../util/hash.js';
import { ONNX_DEVICES, SD_ENGINE_CHOICES, type OnnxDevice, type SdEngineChoice } from '../../pipelines/sd/engine-names.js';
import { SD_SAMPLERS, type SdSampler } from '../../pipelines/sd/sampler-names.js';
import type { Io } from '../io.js';

export const command = 'sample <model>';
export const describe = 'images from a diffusers Stable Diffusion folder (SD 2.1-base, the released SwiftBrush student, ...) or its ONNX export';

export const builder = (y: Argv) =>
  y
    .positional('model', { type: 'string', demandOption: true, description: 'a diffusers pipeline folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/), or Optimum\'s ONNX export of one (unet/model.onnx, vae_decoder/, ...)' })
    .option('engine', { choices: SD_ENGINE_CHOICES, default: 'auto' as SdEngineChoice, description: 'tfjs (the diffusers weights), or onnx (ONNX Runtime on Optimum\'s layout); auto: onnx where unet/model.onnx is' })
    .option('device', { choices: ONNX_DEVICES, default: 'auto' as const, description: 'onnx engine: execution provider; auto = cuda when the CUDA build of onnxruntime-node is installed' })
    .option('prompt', { type: 'string', array: true, description: 'a prompt (repeatable)' })
    .option('captions', { type: 'string', description: 'a caption list: one caption per line, or SwiftBrush v2\'s dataset.json' })
    .option('sampler', { choices: SD_SAMPLERS, description: "default: the scheduler_config.json's class where the engine has it, else ddim" })
    .option('steps', { type: 'number', default: 25 })
    .option('guidance', { type: 'number', default: 7.5, description: 'classifier-free guidance scale (one-step runs without guidance)' })
    .option('one-step-alpha-bar', { type: 'string', default: 'schedule', description: "ᾱ at t = T − 1 for one-step: 'schedule' or a number (SwiftBrush's released code: 0.0047)" })
    .option('seed', { type: 'number', default: 0, description: 'seed of the initial latents (and of DDPM noise)' })
    .option('latents', { type: 'string', description: 'start from these latents: .npy [N, 4, h, w] float32 as diffusers takes them' })
    .option('height', { type: 'number', description: 'image height (default: the UNet\'s sample_size × the VAE factor)' })
    .option('width', { type: 'number', description: 'image width (default as height)' })
    .option('batch-size', { type: 'number', default: 1 })
    .option('variant', { type: 'string', description: 'weights variant to read where present, e.g. fp16 (computed in float32)' })
    .option('tokenizer-cleaning', { choices: ['ftfy', 'basic'] as const, default: 'ftfy' as const, description: "transformers' CLIPTokenizer with ftfy installed, or without (BasicTokenizer)" })
    .option('output-type', { choices: ['png', 'npy'] as const, default: 'png' as const, description: 'png files, or images.npy [N, H, W, 3] in [0, 1] as diffusers\' output_type="np"' })
    .option('out', { type: 'string', demandOption: true, description: 'output folder' })
    .option('backend', { choices: BACKEND_CHOICES, default: 'auto' as const, description: "tfjs backend; SD 2.1's full-size UNet does not fit wasm's 4 GiB heap: use cpu, or tensorflow-gpu" })
    .example('$0 sample ./stable-diffusion-2-1-base --prompt "a photo of a cat" --steps 25 --guidance 7.5 --out samples/', 'DDIM with CFG, as the pipeline')
    .example('$0 sample ./swiftbrush --sampler one-step --one-step-alpha-bar 0.0047 --captions captions.txt --out samples/', "the released SwiftBrush student as its inference code");

interface SampleArgs {
  model: string;
  prompt?: string[];
  captions?: string;
  sampler?: SdSampler;
  steps: number;
  guidance: number;
  'one-step-alpha-bar': string;
  seed: number;
  latents?: string;
  height?: number;
  width?: number;
  'batch-size': number;
  variant?: string;
  'tokenizer-cleaning': 'ftfy' | 'basic';
  'output-type': 'png' | 'npy';
  out: string;
  backend: BackendChoice;
  engine: SdEngineChoice;
  device: OnnxDevice;
}

const positiveInt = (name: string, v: number): number => {
  if (!Number.isInteger(v) || v < 1) throw new BadInputError('USAGE', `--${name} must be a positive integer, got ${v}`);
  return v;
};

function oneStepAlphaBar(text: string): 'schedule' | number {
  if (text === 'schedule') return text;
  const v = Number(text);
  if (!(v > 0 && v < 1)) throw new BadInputError('USAGE', `--one-step-alpha-bar must be 'schedule' or a number in (0, 1), got ${text}`);
  return v;
}

export async function handler(args: SampleArgs, io: Io, signal?: AbortSignal): Promise<number> {
  const prompts = [...(args.prompt ?? []), ...(args.captions ? (await readCaptionList(args.captions)).captions : [])];
  if (prompts.length === 0) throw new BadInputError('USAGE', 'give --prompt TEXT or --captions FILE');
  const batchSize = positiveInt('batch-size', args['batch-size']);
  const steps = positiveInt('steps', args.steps);
  const alphaBar = oneStepAlphaBar(args['one-step-alpha-bar']);
  // tfjs, onnxruntime and the networks load here, not when the CLI starts
  const { selectBackend } = await import('../../tensor/index.js');
  const { loadSdEngine, resolveSdEngine } = await import('../../pipelines/sd/load-engine.js');
  const { sampleToFolder } = await import('../../pipelines/sd/sample-to-folder.js');
  await selectBackend(args.backend);
  const engine = resolveSdEngine(args.model, args.engine);
  if (engine === 'onnx' && args.variant) io.err('warning: --variant is for the tfjs engine; the ONNX graphs hold their own weights');
  const pipeline = await loadSdEngine(args.model, { engine, device: args.device, tokenizerCleaning: args['tokenizer-cleaning'], ...(args.variant ? { variant: args.variant } : {}) });
  try {
    for (const w of pipeline.warnings) io.err(`warning: ${w}`);
    const started = Date.now();
    const result = await sampleToFolder(pipeline, {
      prompts,
      out: args.out,
      outputType: args['output-type'],
      batchSize,
      steps,
      guidance: args.guidance,
      oneStepAlphaBar: alphaBar,
      seed: args.seed,
      ...(args.sampler ? { sampler: args.sampler } : {}),
      ...(args.height !== undefined ? { height: args.height } : {}),
      ...(args.width !== undefined ? { width: args.width } : {}),
      ...(args.latents ? { latentsFile: args.latents } : {}),
      ...(signal ? { signal } : {}),
      // a rerun of the same command into the same folder resumes: finished images are kept
      resume: hashValue({ model: resolve(args.model), engine, variant: args.variant ?? null, cleaning: args['tokenizer-cleaning'], prompts, seed: args.seed, sampler: args.sampler ?? null, steps, guidance: args.guidance, alphaBar, height: args.height ?? null, width: args.width ?? null, latents: args.latents ? await sha256File(args.latents) : null, batchSize }),
      onProgress: (done, total) => {
        const eta = done < total ? `, eta ${Math.round((((Date.now() - started) / done) * (total - done)) / 1000)}s` : '';
        io.err(`sample: ${done}/${total} images${eta}`);
      },
    });
    await writeFileAtomically(join(args.out, 'samples.json'), `${JSON.stringify({ model: args.model, engine, ...result, steps, guidance: args.guidance, seed: args.seed, prompts }, null, 2)}\n`);
    io.out(args.out);
    return 0;
  } finally {
    await pipeline.dispose();
  }
}
