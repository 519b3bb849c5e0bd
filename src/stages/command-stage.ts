// `distill.command` / `generate.command`: a user's own program (the official PyTorch trainer, another sampler) run
// as a tracked stage. The argv list is spawned as it is, with no shell, after `{placeholder}` substitution; its
// stdout and stderr go to the stage's log files; an interrupt is forwarded as SIGTERM (SIGKILL after a grace
// period); a non-zero exit is a FailureError naming the command and the log; the output is checked (a diffusers
// UNet folder, or a folder of num_samples images) and fingerprinted, and the stage is cached by its inputs as the
// built-in ones are (the argv, env and cwd are config fields; a workspace file in argv is an asset: plan/identity.ts).
import { spawn } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, openSync, readdirSync, readFileSync, readSync, statSync, type WriteStream } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { CellConfig } from '../config/schema.js';
import type { SelectedCaption } from '../data/caption-protocols.js';
import { BadInputError, FailureError, MissingAssetError } from '../errors.js';
import type { StageContext } from '../tracking/stage.js';
import { writeFileAtomically, writeJsonAtomically } from '../util/atomic-write.js';
import { fillTemplate } from '../util/argv-template.js';
import { sha256Path } from '../util/hash.js';
import { headerLength, parseHeader } from '../weights/safetensors-header.js';

type CommandStage = 'distill' | 'generate';
type Command = NonNullable<CellConfig['distill']['command']>;

/** joins a command stage's inputs: bump when what it checks or records changes */
const COMMAND_STAGE_VERSION = 'command-1';
/** seconds between the forwarded SIGTERM and SIGKILL: $VSDLAB_COMMAND_GRACE_SECONDS, else 30 */
const graceMs = (): number => 1000 * (Number(process.env.VSDLAB_COMMAND_GRACE_SECONDS) || 30);
/** a line the program may print on stdout to show its progress */
const PROGRESS_LINE = /^vsdlab-progress:\s*(\d+)\s*\/\s*(\d+)\s*$/;
const IMAGE_FILE = /\.(png|jpe?g|webp|bmp)$/i;

/** what determines a command stage's output: everything its placeholders can read, and the command itself */
export function commandInputs(stage: CommandStage, c: CellConfig): unknown {
  return stage === 'distill'
    ? { kind: COMMAND_STAGE_VERSION, teacher: c.teacher, distill: { ...c.distill, checkpoint_every: undefined, log_every: undefined }, seed: c.seed }
    : { kind: COMMAND_STAGE_VERSION, teacher: c.teacher, generate: c.generate, captions: c.evaluate.captions ?? null, seed: c.seed, student: c.distill.enabled };
}

/** runs `distill.command`; its {out_dir} must hold a diffusers UNet folder when it exits */
export async function runDistillCommand(ctx: StageContext): Promise<Record<string, unknown>> {
  const c = ctx.cell.config;
  const command = c.distill.command!;
  const outDir = join(ctx.workDir, 'unet');
  const run = await runCommand('distill', command, ctx, {
    teacher: resolve(c.teacher.model),
    prompts: resolve(c.distill.prompts),
    out_dir: outDir,
    work_dir: ctx.workDir,
    seed: String(c.seed),
    steps: String(c.distill.steps),
    batch_size: String(c.distill.batch_size),
    guidance_scale: String(c.distill.guidance_scale),
  });
  const weights = checkUnetFolder(outDir, run.log);
  return { student: 'unet', format: 'diffusers-unet', weights, unet_sha256: await sha256Path(outDir), command: command.argv[0], seconds: run.seconds };
}

/** runs `generate.command` on the evaluation captions; its {out_dir} must hold one image per caption, in caption order by file name */
export async function runGenerateCommand(ctx: StageContext, selection: { captions: SelectedCaption[]; fingerprint: string; protocol: string }): Promise<Record<string, unknown>> {
  const c = ctx.cell.config;
  const command = c.generate.command!;
  const captions = selection.captions;
  const outDir = join(ctx.workDir, 'images');
  // one caption per line for programs that read lines (a caption's own line breaks become spaces), exact in the JSON
  const promptsTxt = join(ctx.workDir, 'prompts.txt');
  const promptsJson = join(ctx.workDir, 'prompts.json');
  await writeFileAtomically(promptsTxt, captions.map((s) => `${s.caption.replace(/\r?\n|\r/g, ' ')}\n`).join(''));
  await writeJsonAtomically(promptsJson, captions.map((s) => s.caption));
  const student = ctx.upstream.distill?.result.student;
  const run = await runCommand('generate', command, ctx, {
    teacher: resolve(c.teacher.model),
    student: typeof student === 'string' ? join(ctx.upstream.distill!.dir, student === 'unet' ? 'unet' : '') : '',
    prompts: promptsTxt,
    prompts_json: promptsJson,
    out_dir: outDir,
    work_dir: ctx.workDir,
    seed: String(c.seed),
    steps: String(c.generate.steps),
    num_samples: String(captions.length),
    batch_size: String(c.generate.batch_size),
    guidance_scale: String(c.generate.guidance_scale),
    sampler: c.generate.sampler,
  });
  const files = existsSync(outDir) ? readdirSync(outDir).filter((f) => IMAGE_FILE.test(f) && !f.startsWith('.')).sort() : [];
  if (files.length !== captions.length) {
    throw new FailureError('COMMAND_OUTPUT', `generate.command wrote ${files.length} image(s) to ${outDir}, expected ${captions.length} (one per caption of prompts.txt)`, `its log: ${run.log}`);
  }
  const samples = files.map((f, index) => {
    const cap = captions[index]!;
    return { index, caption: cap.caption, file: join('images', f), ...(cap.imageId === null || cap.imageId === undefined ? {} : { image_id: cap.imageId }) };
  });
  await writeJsonAtomically(join(ctx.workDir, 'samples.json'), { samples });
  return { images: samples.length, captions_fingerprint: selection.fingerprint, protocol: selection.protocol, model: 'command', images_sha256: await sha256Path(outDir), command: command.argv[0], seconds: run.seconds };
}

/**
 * Spawns the command (no shell) with its placeholders filled, stdout and stderr appended to the work folder's
 * command.stdout.log / command.stderr.log; resolves when it exits 0.
 */
async function runCommand(stage: CommandStage, command: Command, ctx: StageContext, values: Record<string, string>): Promise<{ log: string; seconds: number }> {
  const fill = (t: string): string => fillTemplate(t, values);
  const argv = command.argv.map(fill);
  const env = { ...process.env, ...Object.fromEntries(Object.entries(command.env ?? {}).map(([k, v]) => [k, fill(v)])) };
  const cwd = command.cwd ? resolve(fill(command.cwd)) : process.cwd();
  if (!existsSync(cwd) || !statSync(cwd).isDirectory()) throw new BadInputError('COMMAND_CWD', `${stage}.command.cwd: ${cwd} is not a folder`);
  const stdoutLog = join(ctx.workDir, 'command.stdout.log');
  const stderrLog = join(ctx.workDir, 'command.stderr.log');
  const header = `=== ${new Date().toISOString()} ${JSON.stringify(argv)} (cwd ${cwd})\n`;
  const out = await openLog(stdoutLog, header);
  const err = await openLog(stderrLog, header);
  const started = Date.now();
  const name = `${stage}.command ${argv[0]}`;
  try {
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolvePromise, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], shell: false });
      let killTimer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        child.kill('SIGTERM');
        killTimer = setTimeout(() => child.kill('SIGKILL'), graceMs());
        killTimer.unref();
      };
      if (ctx.signal.aborted) onAbort();
      else ctx.signal.addEventListener('abort', onAbort, { once: true });
      child.stdout.pipe(out, { end: false });
      child.stderr.pipe(err, { end: false });
      createInterface({ input: child.stdout }).on('line', (line) => {
        const m = PROGRESS_LINE.exec(line);
        if (m) ctx.progress(Number(m[1]), Number(m[2]));
      });
      child.on('error', (e: NodeJS.ErrnoException) => {
        ctx.signal.removeEventListener('abort', onAbort);
        if (e.code === 'ENOENT') reject(new MissingAssetError('COMMAND_NOT_FOUND', `${name}: no such program (cwd ${cwd})`, 'give a path to the program, or a program on PATH'));
        else if (e.code === 'EACCES') reject(new BadInputError('COMMAND_NOT_EXECUTABLE', `${name}: not executable`, `chmod +x ${argv[0]}, or run it through its interpreter`));
        else reject(new FailureError('COMMAND_SPAWN', `${name}: cannot start (${e.code ?? e.message})`));
      });
      // 'close': both pipes have been read to their end, so the logs are whole
      child.on('close', (code, signal) => {
        ctx.signal.removeEventListener('abort', onAbort);
        if (killTimer) clearTimeout(killTimer);
        resolvePromise({ code, signal });
      });
    });
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (exit.code !== 0) {
      const how = exit.signal ? `was killed by ${exit.signal}` : `exited with status ${exit.code}`;
      throw new FailureError('COMMAND_FAILED', `${name} ${how}; its log: ${stderrLog}`, `the last lines of ${basename(stderrLog)} and ${basename(stdoutLog)} say why; fix the program or its arguments and run again`);
    }
    return { log: stderrLog, seconds: (Date.now() - started) / 1000 };
  } finally {
    await Promise.all([closeLog(out), closeLog(err)]);
  }
}

function openLog(path: string, header: string): Promise<WriteStream> {
  return new Promise((resolvePromise, reject) => {
    const s = createWriteStream(path, { flags: 'a' });
    s.once('error', reject);
    s.write(header, () => resolvePromise(s));
  });
}

const closeLog = (s: WriteStream): Promise<void> => new Promise((r) => s.end(r));

/** a diffusers UNet folder: config.json (a JSON object) and its weights as safetensors (one file, or shards with an index) */
function checkUnetFolder(dir: string, log: string): string[] {
  const fail = (why: string): FailureError => new FailureError('COMMAND_OUTPUT', `distill.command left no diffusers UNet in ${dir}: ${why}`, `its log: ${log}`);
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw fail('config.json is missing');
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (e) {
    throw fail(`config.json is not JSON (${(e as Error).message})`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw fail('config.json is not a JSON object');
  const weights = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
  if (weights.length === 0) throw fail('no .safetensors weights');
  for (const f of weights) {
    try {
      checkSafetensorsHeader(join(dir, f));
    } catch (e) {
      throw fail((e as Error).message);
    }
  }
  return weights;
}

/** the file's header parses (the tensors themselves are read by whoever loads the UNet) */
function checkSafetensorsHeader(path: string): void {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const first8 = new Uint8Array(8);
    readSync(fd, first8, 0, 8, 0);
    const n = headerLength(first8, size, path);
    const json = new Uint8Array(n);
    readSync(fd, json, 0, n, 8);
    parseHeader(json, size, path);
  } finally {
    closeSync(fd);
  }
}
