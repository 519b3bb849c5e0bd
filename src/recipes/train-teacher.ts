import * as tf from '@tensorflow/tfjs';
import { randomNormal } from '../tensor/random-normal.js';
import { join } from 'node:path';
import { deriveSeed, Xoshiro128ss } from '../data/random.js';
import { PREVIEW_SEED, TEACHER_STREAM, tfjsSeed } from '../data/streams.js';
import { scheduledRate } from '../distill/learning-rate-schedule.js';
import { readSyntheticRecipe } from '../data/synthetic-recipe.js';
import { generateSyntheticSet } from '../data/synthetic-set.js';
import { addNoise, epsToX0 } from '../diffusion/parameterization.js';
import { ddimSample } from '../diffusion/samplers/ddim.js';
import { guided } from '../diffusion/guidance.js';
import { alphaBar, scaledLinearSchedule } from '../diffusion/schedule.js';
import { initUNet, unetDenoiser, unetForward, type UNet, type UNetConfig } from '../diffusion/unet/index.js';
import { Adam, emaDecay, emaUpdate } from '../distill/adam.js';
import { clipByGlobalNorm } from '../distill/objectives.js';
import { cloneNet, latestCheckpoint } from '../distill/trainer.js';
import { BadInputError, FailureError, MissingAssetError } from '../errors.js';
import { textEncoderFrom, type TextEncoder } from '../features/text-encoder.js';
import { textTowerForward, type TextTowerSpec } from '../features/text-tower.js';
import { WeightInitializer, WeightReader } from '../nn/params.js';
import { captionVocabulary, tokenizeBatch } from '../data/tokenizer.js';
import { selectBackend } from '../tensor/backend.js';
import { loadTeacher, saveTeacher } from '../teacher/bundle.js';
import { toUint8Images, writeGrid } from '../teacher/images.js';
import { loadSafetensors, saveSafetensors } from '../weights/safetensors.js';
import { writeModelManifest } from './model-manifest.js';
import type { TeacherRecipe } from './schema.js';

/**
 * Trains the embedded teacher: an ε-prediction UNet on the synthetic train images in [-1, 1], conditioned on
 * the hidden states of a transformer text encoder trained jointly with it (as GLIDE does; SD instead borrows a
 * frozen CLIP), the caption dropped for 10% of samples so classifier-free guidance works. Resumable from
 * checkpoints in `<out>/.work`.
 */
export async function trainTeacher(recipeFile: string, r: TeacherRecipe, log: (line: string) => void, signal?: AbortSignal, options: { snapshotTo?: string } = {}): Promise<void> {
  const backend = await selectBackend(r.backend);
  const data = await readSyntheticRecipe(r.dataset);
  const set = generateSyntheticSet(data.options);
  const size = data.options.size;
  const textSpec: TextTowerSpec = { vocab: captionVocabulary().tokens.length, ...r.text_encoder };
  const textInit = new WeightInitializer(r.seed + 1, true);
  tf.tidy(() => void textTowerForward({ weights: textInit }, 'text', tf.zeros([1, textSpec.length], 'int32'), textSpec));
  const textParams = textInit.params;
  const textCtx = { weights: new WeightReader(textParams) };
  const schedule = scaledLinearSchedule();
  const config: UNetConfig = {
    inChannels: 3,
    outChannels: 3,
    baseChannels: r.unet.base_channels,
    channelMults: r.unet.channel_mults,
    resBlocksPerLevel: r.unet.res_blocks,
    attentionLevels: r.unet.attention_levels,
    heads: r.unet.heads,
    condDim: textSpec.width,
    groups: r.unet.groups,
    ...(r.unet.patch_size === 1 ? {} : { patchSize: r.unet.patch_size }),
    ...(r.unet.body_predicts === 'eps' ? {} : { bodyPredicts: r.unet.body_predicts }),
  };
  const unet = initUNet(config, r.seed);
  const trainable = { ...unet.params, ...textParams };
  if (r.init_from !== undefined) startFrom(r.init_from, config, textSpec, trainable, recipeFile);
  const ema = cloneNet({ config, params: trainable });
  const adam = new Adam(r.learning_rate);
  const work = join(r.out, '.work');
  let start = 0;
  const ckpt = latestCheckpoint(work);
  if (ckpt) {
    const { tensors, metadata } = loadSafetensors(ckpt);
    for (const [k, v] of Object.entries(trainable)) v.assign(tensors[`unet/${k}`] as tf.Tensor);
    for (const [k, v] of Object.entries(ema.params)) v.assign(tensors[`ema/${k}`] as tf.Tensor);
    adam.restore('adam/', tensors, Number(metadata.adam_step));
    start = Number(metadata.step);
    log(`teacher: resuming from step ${start}`);
  }
  const images = set.train.images;
  const pixels = tf.tensor4d(
    Float32Array.from(images.flatMap((img) => Array.from(img.pixels, (v) => v / 127.5 - 1))),
    [images.length, size, size, 3],
  );
  const t0 = Date.now();
  // a snapshot writes the latest checkpoint's EMA as a teacher folder and trains nothing (a look at a running training)
  const last = options.snapshotTo === undefined ? r.steps : start;
  if (options.snapshotTo !== undefined && ckpt === undefined) throw new MissingAssetError('TEACHER_NO_CHECKPOINT', `no checkpoint in ${work} to snapshot`, 'train the recipe first; a snapshot copies its latest checkpoint');
  for (let step = start + 1; step <= last; step++) {
    if (signal?.aborted) throw signal.reason;
    const rng = Xoshiro128ss.fromSeed(deriveSeed(r.seed, step));
    const idx = Array.from({ length: r.batch_size }, () => rng.nextUint32() % images.length);
    const captions = idx.map((i) => {
      if (rng.nextFloat() < r.null_prompt_prob) return '';
      const options = (images[i] as (typeof images)[number]).captions;
      return (options[rng.nextUint32() % options.length] as { caption: string }).caption;
    });
    const t = idx.map(() => rng.nextUint32() % schedule.numTrainTimesteps);
    adam.lr = learningRateAt(r, step);
    const { loss, norm } = tf.tidy(() => {
      const x0 = tf.gather(pixels, tf.tensor1d(idx, 'int32'));
      const noise = randomNormal(x0.shape, 0, 1, 'float32', tfjsSeed(deriveSeed(r.seed, step, TEACHER_STREAM.noise)));
      const xt = addNoise(schedule, x0, noise, t) as tf.Tensor4D;
      const ids = tf.tensor2d(tokenizeBatch(captions, textSpec.length), [captions.length, textSpec.length], 'int32');
      let value = 0;
      const { grads } = tf.variableGrads(() => {
        const cond = textTowerForward(textCtx, 'text', ids, textSpec).hidden;
        const eps = unetForward(unet, xt, t, cond);
        // a v body trains on the v loss |v − v̂|² = |ε − ε̂|² / α_t² (SD 2.1-768's objective); an ε body on the ε loss
        const l = (
          config.bodyPredicts === 'v'
            ? tf.mean(tf.div(tf.square(tf.sub(noise, eps)), tf.tensor4d(t.map((ti) => alphaBar(schedule, ti)), [t.length, 1, 1, 1])))
            : tf.losses.meanSquaredError(noise, eps)
        ) as tf.Scalar;
        value = l.dataSync()[0] as number;
        return l;
      }, Object.values(trainable));
      const named: Record<string, tf.Tensor> = {};
      for (const [k, v] of Object.entries(trainable)) if (grads[v.name]) named[k] = grads[v.name] as tf.Tensor;
      const clipped = clipByGlobalNorm(named, 1);
      adam.apply(trainable, clipped.grads);
      emaUpdate(ema.params, trainable, emaDecay(step, r.ema_decay));
      return { loss: value, norm: clipped.norm };
    });
    if (!Number.isFinite(loss)) throw new FailureError('TEACHER_NON_FINITE', `step ${step}: teacher loss is ${loss}`);
    if (step % 50 === 0 || step === r.steps) {
      const rate = (step - start) / ((Date.now() - t0) / 1000);
      log(`teacher: step ${step}/${r.steps} loss ${loss.toFixed(4)} grad-norm ${norm.toFixed(3)} (${rate.toFixed(2)} steps/s, eta ${Math.round((r.steps - step) / rate)}s)`);
    }
    if (step % r.checkpoint_every === 0 || step === r.steps) {
      const tensors: Record<string, tf.Tensor> = {};
      for (const [k, v] of Object.entries(trainable)) tensors[`unet/${k}`] = v;
      for (const [k, v] of Object.entries(ema.params)) tensors[`ema/${k}`] = v;
      const st = adam.state('adam/');
      Object.assign(tensors, st.tensors);
      await saveSafetensors(join(work, `checkpoint-${step}.safetensors`), tensors, { step: String(step), adam_step: String(st.step) });
    }
    await new Promise((res) => setImmediate(res));
  }
  pixels.dispose();
  const split = (prefix: boolean) => Object.fromEntries(Object.entries(ema.params).filter(([k]) => k.startsWith('text.') === prefix));
  const emaUnet: UNet = { config, params: split(false) };
  const text = textEncoderFrom(textSpec, split(true));
  const dir = options.snapshotTo ?? r.out;
  await saveTeacher(dir, emaUnet, text, { height: size, width: size, channels: 3 }, { recipe: recipeFile, backend: backend.name, ...(r.init_from === undefined ? {} : { init_from: r.init_from }), steps: last, batch_size: r.batch_size, learning_rate: r.learning_rate, learning_rate_schedule: r.learning_rate_schedule, dataset_fingerprint: set.fingerprint.set });
  await writeSamples(dir, emaUnet, text, set.val.images.slice(0, 16).map((i) => i.captions[0]?.caption ?? ''), size);
  await writeModelManifest(dir, recipeFile, {});
}

/** the learning rate of a (1-based) step: constant, or a cosine from the recipe's rate to 0 at the last step */
export function learningRateAt(r: Pick<TeacherRecipe, 'learning_rate' | 'learning_rate_schedule' | 'steps'>, step: number): number {
  return scheduledRate(r.learning_rate, r.learning_rate_schedule, r.steps, step);
}

/**
 * A fine-tuning stage starts from a finished teacher: its UNet and text-encoder weights replace the fresh ones,
 * which must have the same names and shapes (the recipe's architecture must be the teacher's).
 */
function startFrom(dir: string, config: UNetConfig, textSpec: TextTowerSpec, trainable: Record<string, tf.Variable>, recipeFile: string): void {
  const base = loadTeacher(dir);
  const mismatch = (what: string): never => {
    throw new BadInputError('TEACHER_INIT_MISMATCH', `${recipeFile}: init_from ${dir}: ${what}`, 'give the recipe the architecture (unet, text_encoder) of the teacher it starts from');
  };
  if (JSON.stringify(base.unet.config) !== JSON.stringify(config)) mismatch(`its UNet is ${JSON.stringify(base.unet.config)}, the recipe's ${JSON.stringify(config)}`);
  if (JSON.stringify(base.text.spec) !== JSON.stringify(textSpec)) mismatch(`its text encoder is ${JSON.stringify(base.text.spec)}, the recipe's ${JSON.stringify(textSpec)}`);
  const source: Record<string, tf.Variable> = { ...base.unet.params, ...base.text.params };
  if (Object.keys(source).length !== Object.keys(trainable).length) mismatch(`it has ${Object.keys(source).length} weights, the recipe ${Object.keys(trainable).length}`);
  for (const [name, v] of Object.entries(trainable)) {
    const w = source[name];
    if (w === undefined) mismatch(`it has no weight ${name}`);
    else if (w.shape.join('x') !== v.shape.join('x')) mismatch(`${name} is ${w.shape.join('×')} there, ${v.shape.join('×')} in the recipe`);
    else v.assign(w);
  }
  tf.dispose([...Object.values(source), base.nullText]);
}

/**
 * The teacher's many-step samples and its one-step sample (the x0 it predicts from pure noise at t = T − 1, the
 * study's "teacher, one-step" row and the ε-student's starting point) for the same captions, to look at.
 */
async function writeSamples(dir: string, unet: UNet, text: TextEncoder, captions: string[], size: number): Promise<void> {
  const schedule = scaledLinearSchedule();
  const cond = text.encode(captions);
  const nullCond = text.encode(['']);
  const xT = randomNormal([captions.length, size, size, 3], 0, 1, 'float32', PREVIEW_SEED.teacher);
  const model = guided(unetDenoiser(unet), { scale: 4.5, nullCond });
  const many = ddimSample({ model, cond, schedule, steps: 50, xT }) as tf.Tensor4D;
  await writeGrid(join(dir, 'samples-ddim50.png'), toUint8Images(many), size, size, 8);
  const last = schedule.numTrainTimesteps - 1;
  const one = tf.tidy(() => epsToX0(schedule, xT, model(xT, last, cond) as tf.Tensor, last) as tf.Tensor4D);
  await writeGrid(join(dir, 'samples-one-step.png'), toUint8Images(one), size, size, 8);
  tf.dispose([many, one]);
  await saveSafetensors(join(dir, '.work', 'sample-noise.safetensors'), { xT });
}
