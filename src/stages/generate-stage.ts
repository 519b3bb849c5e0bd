import * as tf from '@tensorflow/tfjs';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { sampleNoise } from '../diffusion/sample-noise.js';
import { loadCocoCaptions } from '../data/coco-load.js';
import { readCaptionList } from '../data/caption-list.js';
import { selectCaptions, type SelectedCaption } from '../data/caption-protocols.js';
import type { CellConfig } from '../config/schema.js';
import { guided } from '../diffusion/guidance.js';
import { ddimSample } from '../diffusion/samplers/ddim.js';
import { ddpmSample } from '../diffusion/samplers/ddpm.js';
import { dpmSolverPlusPlus2M } from '../diffusion/samplers/dpm-solver.js';
import { epsToX0 } from '../diffusion/parameterization.js';
import type { UNet, UNetConfig } from '../diffusion/unet/index.js';
import { engineDenoiser, type UNetEngine } from '../diffusion/unet/unet-engine.js';
import { openUNetEngine } from '../diffusion/unet/open-unet-engine.js';
import type { UNetEngineName } from '../diffusion/unet/engine-names.js';
import { studentX0, type StudentParameterization } from '../distill/student-output.js';
import { BadInputError } from '../errors.js';
import { selectBackend } from '../tensor/backend.js';
import { loadTeacher, type Teacher } from '../teacher/bundle.js';
import { isPipelineFolder } from '../models/sd/pipeline-folder.js';
import { loadSdEngine } from '../pipelines/sd/load-engine.js';
import { latentShape, sampleTeacher } from '../pipelines/sd/teacher-sampler.js';
import { sdUNetOn } from '../models/sd/unet-params.js';
import { scheduleFromConfig } from '../diffusion/scheduler-config.js';
import type { SdStudentMeta } from './distill-stage.js';
import { toUint8Images, writePng } from '../teacher/images.js';
import { writeJsonAtomically } from '../util/atomic-write.js';
import type { Stage } from '../tracking/stage.js';
import { loadSafetensors } from '../weights/safetensors.js';
import { commandInputs, runGenerateCommand } from './command-stage.js';
import { generateSharded } from './generate-shards.js';

/** The captions a cell generates for: the evaluation protocol's selection, first `num_samples`. */
export async function evaluationCaptions(config: CellConfig): Promise<{ captions: SelectedCaption[]; fingerprint: string; protocol: string }> {
  const c = config.evaluate.captions;
  if (!c) throw new BadInputError('CAPTIONS_MISSING', 'evaluate.captions is not set: generation needs the captions of the evaluation protocol', 'set evaluate.captions.annotations and protocol');
  const coco = existsSync(c.annotations) || c.protocol === 'first-caption-per-image' || c.protocol === 'random-n' ? await loadCocoCaptions(c.annotations) : null;
  const list = c.caption_list ? await readCaptionList(c.caption_list) : undefined;
  const selection = selectCaptions(c.protocol, coco, { n: c.count, seed: c.seed, ...(list ? { list } : {}) });
  const n = Math.min(config.generate.num_samples, selection.captions.length);
  return { captions: selection.captions.slice(0, n), fingerprint: selection.fingerprint, protocol: c.protocol };
}


interface Generator {
  (z: tf.Tensor4D, cond: tf.Tensor3D): tf.Tensor4D;
}

/** what a cell generates with: the starting noise's shape, and images in [−1, 1] from noise and captions */
interface ImageSource {
  noiseShape: readonly [number, number, number];
  generate(z: tf.Tensor4D, captions: readonly string[]): tf.Tensor4D | Promise<tf.Tensor4D>;
  dispose(): void | Promise<void>;
}

/** the engine an embedded teacher or student samples on: generate.engine's auto (or unset) is tfjs */
const embeddedEngine = (config: CellConfig): UNetEngineName => (config.generate.engine === 'onnx' ? 'onnx' : 'tfjs');

function embeddedSource(config: CellConfig, studentDir: string | undefined): ImageSource {
  if (config.generate.one_step_alpha_bar !== undefined) {
    throw new BadInputError('GENERATE_ALPHA_BAR', `generate.one_step_alpha_bar: set for ${config.teacher.model}, an embedded teacher; it applies to a diffusers SD folder's one-step sample`, 'leave generate.one_step_alpha_bar unset');
  }
  const teacher = loadTeacher(config.teacher.model);
  const student = studentDir ? readEmbeddedStudent(studentDir, config.generate.use_ema) : undefined;
  // the student's weights (or the teacher's) exported once per cell when the engine is onnx
  const engine = openUNetEngine(student?.net ?? teacher.unet, embeddedEngine(config), { provider: config.generate.device ?? 'auto' });
  const generator = student ? studentGenerator(teacher, student, engine) : teacherGenerator(teacher, config, engine);
  return {
    noiseShape: teacher.imageShape,
    generate: (z, captions) => tf.tidy(() => generator(z, teacher.text.encode([...captions]))),
    dispose: () => {
      engine.dispose();
      tf.disposeVariables();
    },
  };
}

/** a diffusers SD folder (or its Optimum ONNX export) as the teacher: its rows sample latents, decoded by its VAE */
async function pipelineSource(config: CellConfig): Promise<ImageSource> {
  const g = config.generate;
  if (g.one_step_alpha_bar !== undefined && g.sampler !== 'one-step') {
    throw new BadInputError('GENERATE_ALPHA_BAR', `generate.one_step_alpha_bar: set with generate.sampler ${g.sampler}; it applies to the one-step sample`, 'leave generate.one_step_alpha_bar unset, or set generate.sampler: one-step');
  }
  const engine = await loadSdEngine(config.teacher.model, { ...(g.engine ? { engine: g.engine } : {}), ...(g.device ? { device: g.device } : {}) });
  return {
    noiseShape: latentShape(engine),
    generate: (z, captions) => sampleTeacher(engine, { sampler: g.sampler, steps: g.steps, guidance: g.guidance_scale, seed: config.seed, ...(g.one_step_alpha_bar !== undefined ? { oneStepAlphaBar: g.one_step_alpha_bar } : {}) }, z, captions),
    dispose: () => engine.dispose(),
  };
}

/** an SD student (distill-stage.ts): its UNet on the teacher folder's text encoder, VAE and schedule, one step from noise */
async function sdStudentSource(config: CellConfig, dir: string): Promise<ImageSource> {
  const meta = JSON.parse(readFileSync(join(dir, 'student.json'), 'utf8')) as SdStudentMeta;
  const g = config.generate;
  const engine = await loadSdEngine(config.teacher.model, { ...(g.engine ? { engine: g.engine } : {}), ...(g.device ? { device: g.device } : {}) });
  const { tensors } = loadSafetensors(join(dir, g.use_ema ? 'student-ema.safetensors' : 'student.safetensors'));
  const params = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, tf.variable(t, false)]));
  const schedule = scheduleFromConfig(engine.scheduler);
  return {
    noiseShape: latentShape(engine),
    generate: async (z, captions) => {
      const cond = await engine.encodePrompts(captions);
      const x0 = tf.tidy(() => studentX0(meta.parameterization, schedule, meta.input_timestep, z, sdUNetOn(meta.unet, params, z, meta.input_timestep, cond)) as tf.Tensor4D);
      cond.dispose();
      try {
        return await engine.decode(x0);
      } finally {
        x0.dispose();
      }
    },
    dispose: async () => {
      await engine.dispose();
      tf.disposeVariables();
    },
  };
}

interface EmbeddedStudent {
  net: UNet;
  parameterization: StudentParameterization;
  inputTimestep: number;
}

/** a distilled embedded student (distill-stage.ts wrote student.json and its weights) */
function readEmbeddedStudent(dir: string, useEma: boolean): EmbeddedStudent {
  const meta = JSON.parse(readFileSync(join(dir, 'student.json'), 'utf8')) as { unet: UNetConfig; parameterization: StudentParameterization; input_timestep: number };
  const { tensors } = loadSafetensors(join(dir, useEma ? 'student-ema.safetensors' : 'student.safetensors'));
  const net: UNet = { config: meta.unet, params: Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, tf.variable(t, false)])) };
  return { net, parameterization: meta.parameterization, inputTimestep: meta.input_timestep };
}

/** the student's one step from noise; `engine` runs the student's weights */
function studentGenerator(teacher: Teacher, student: EmbeddedStudent, engine: UNetEngine): Generator {
  return (z, cond) => tf.tidy(() => studentX0(student.parameterization, teacher.schedule, student.inputTimestep, z, engine.forward(z, student.inputTimestep, cond)) as tf.Tensor4D);
}

/** the teacher's sampler; `engine` runs the teacher's weights */
function teacherGenerator(teacher: Teacher, config: CellConfig, engine: UNetEngine): Generator {
  const g = config.generate;
  const model = guided(engineDenoiser(engine), { scale: g.guidance_scale, nullCond: teacher.nullText });
  const last = teacher.schedule.numTrainTimesteps - 1;
  return (z, cond) => {
    switch (g.sampler) {
      // the teacher's one-step sample: its x0 prediction from pure noise at t = T − 1
      case 'one-step':
        return tf.tidy(() => epsToX0(teacher.schedule, z, model(z, last, cond), last) as tf.Tensor4D);
      case 'ddim':
        return ddimSample({ model, cond, schedule: teacher.schedule, steps: g.steps, xT: z }) as tf.Tensor4D;
      case 'ddpm':
        return ddpmSample({ model, cond, schedule: teacher.schedule, steps: g.steps, xT: z, seed: config.seed }) as tf.Tensor4D;
      case 'dpm-solver++':
        return dpmSolverPlusPlus2M({ model, cond, schedule: teacher.schedule, steps: g.steps, xT: z }) as tf.Tensor4D;
    }
  };
}

const imageName = (index: number): string => `${String(index).padStart(6, '0')}.png`;
const FINISHED = /^\d{6}\.png$/;

/** the images [start, end) of a cell's captions: all of them, or one shard's whole batches */
export interface ImageRange {
  start: number;
  end: number;
}

/**
 * The images a killed run finished (relative to the work folder). Each was written to a temporary name and renamed
 * into place, so one under its final name is whole; a temporary file left by the kill is deleted here. A shard
 * deletes only the temporary files of its own images: the other shards write into the same folder at the same time.
 */
function finishedImages(dir: string, owned?: ImageRange): Set<string> {
  if (!existsSync(dir)) return new Set();
  const names = readdirSync(dir);
  const ownedTemp = (name: string): boolean => {
    if (!owned) return true;
    const m = /^\.?(\d{6})\.png/.exec(name); // the image itself, or its hidden temp name (`.<name>.<hex>.tmp`)
    return m !== null && Number(m[1]) >= owned.start && Number(m[1]) < owned.end;
  };
  for (const name of names.filter((n) => !FINISHED.test(n) && ownedTemp(n))) rmSync(join(dir, name), { force: true });
  return new Set(names.filter((n) => FINISHED.test(n)).map((n) => join('images', n)));
}

/** what samples.json lists: every caption with its image file, in index order */
export function sampleEntries(captions: readonly SelectedCaption[]): Array<{ index: number; caption: string; file: string; image_id?: number }> {
  return captions.map((cap, index) => ({ index, caption: cap.caption, file: join('images', imageName(index)), ...(cap.imageId === null || cap.imageId === undefined ? {} : { image_id: cap.imageId }) }));
}

export interface GenerateImagesOptions {
  signal: AbortSignal;
  progress(done: number, total: number): void;
}

/**
 * Writes the images `range` of the captions into `workDir`/images, batch after batch from `range.start` (a batch
 * boundary). Image i is a function of (seed, i) and of the batch it is generated in, so a shard that starts on a
 * batch boundary writes the same bytes as one process writing every image.
 */
export async function generateImages(config: CellConfig, studentDir: string | undefined, workDir: string, captions: readonly string[], range: ImageRange, o: GenerateImagesOptions): Promise<void> {
  const batch = config.generate.batch_size;
  const done = finishedImages(join(workDir, 'images'), range.start === 0 && range.end === captions.length ? undefined : range);
  let source: ImageSource | undefined;
  try {
    for (let first = range.start; first < range.end; first += batch) {
      if (o.signal.aborted) throw o.signal.reason;
      const chunk = captions.slice(first, Math.min(first + batch, range.end));
      const files = chunk.map((_, i) => join('images', imageName(first + i)));
      const missing = files.filter((f) => !done.has(f));
      // resume: a batch whose images are all on disk is not generated again. A batch with a missing image runs
      // whole, as the uninterrupted run ran it (ddpm's step noise and batched kernels depend on the batch), and
      // only its missing images are written: a finished image is never rewritten
      if (missing.length > 0) {
        source ??= isPipelineFolder(config.teacher.model) ? await (studentDir ? sdStudentSource(config, studentDir) : pipelineSource(config)) : embeddedSource(config, studentDir);
        const z = sampleNoise(config.seed, first, chunk.length, source.noiseShape);
        const batchImages = await source.generate(z, chunk);
        z.dispose();
        const [, h, w] = batchImages.shape;
        const images = toUint8Images(batchImages);
        batchImages.dispose();
        for (const [i, px] of images.entries()) {
          if (!done.has(files[i]!)) await writePng(join(workDir, files[i]!), px, w, h);
        }
      }
      o.progress(Math.min(first + batch, range.end) - range.start, range.end - range.start);
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    await source?.dispose();
  }
}

/** Generates one image per evaluation caption: from the one-step student, or from the teacher's sampler. */
export const generateStage: Stage = {
  name: 'generate',
  // generate.engine: onnx for an embedded teacher needs no new version: the engine is in the inputs (onnx cells get
  // new keys), and unset (auto) it is tfjs, as before
  version: 'generate-2', // 2: run seeds derived independently (deriveRunSeed)
  assets: ['teacher', 'evaluate.captions', 'generate.command'],
  // generate.shards is operational: every shard count writes the same bytes (batch-aligned shards)
  inputs: (c) => c.generate.command ? commandInputs('generate', c) : ({ generate: { ...c.generate, batch_size: undefined, shards: undefined }, captions: c.evaluate.captions ?? null, seed: c.seed, teacher: c.teacher, student: c.distill.enabled }),
  async run(ctx) {
    const config = ctx.cell.config;
    if (config.generate.command) return runGenerateCommand(ctx, await evaluationCaptions(config));
    if (ctx.upstream.distill?.result.format === 'diffusers-unet') throw new BadInputError('GENERATE_COMMAND_STUDENT', 'distill.command left a diffusers UNet: generate it with generate.command (its {student} is the UNet folder)');
    const backend = await selectBackend(config.distill.backend);
    const { captions, fingerprint, protocol } = await evaluationCaptions(config);
    const studentDir = ctx.upstream.distill?.result.student ? ctx.upstream.distill.dir : undefined;
    if (config.distill.enabled && !studentDir) throw new Error('generate: the distill stage left no student');
    if (studentDir && config.generate.sampler !== 'one-step') {
      throw new BadInputError('GENERATE_SAMPLER', `generate.sampler: ${config.generate.sampler} samples the teacher; a distilled student generates in one step`, 'use generate.sampler: one-step for student cells');
    }
    if (config.generate.shards > 1) await generateSharded(ctx, { config, student: studentDir ?? null, captions: captions.map((c) => c.caption), shards: config.generate.shards });
    else await generateImages(config, studentDir, ctx.workDir, captions.map((c) => c.caption), { start: 0, end: captions.length }, { signal: ctx.signal, progress: ctx.progress });
    const samples = sampleEntries(captions);
    await writeJsonAtomically(join(ctx.workDir, 'samples.json'), { samples });
    // an embedded UNet's engine (a diffusers folder's is resolved by its loader and logged there)
    const unetEngine = isPipelineFolder(config.teacher.model) ? {} : { engine: embeddedEngine(config) };
    return { images: samples.length, captions_fingerprint: fingerprint, protocol, backend: backend.name, model: studentDir ? 'student' : 'teacher', ...unetEngine };
  },
};
