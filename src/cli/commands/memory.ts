import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { BadInputError } from '../../errors.js';
import type { Io } from '../io.js';

export const command = 'memory <unet>';
export const describe = "print the memory budget of latent VSD training on a UNet (a diffusers unet/ folder or a pipeline folder), from its config.json";

export const builder = (y: Argv) =>
  y
    .positional('unet', { type: 'string', demandOption: true, description: 'a diffusers unet/ folder, or the pipeline folder holding one' })
    .option('batch', { type: 'array', number: true, default: [1, 4, 16], description: 'batch sizes (one column each)' })
    .option('latent', { type: 'number', description: "latent height and width (default: the config's sample_size)" })
    .option('checkpoint', { type: 'boolean', default: false, description: 'gradient checkpointing of the UNet blocks' })
    .option('attention-slice', { type: 'number', description: 'sliced attention, this many (batch · head) rows at a time' })
    .option('lora-rank', { type: 'number', default: 64, description: 'the LoRA teacher\'s rank (0: no LoRA teacher, SDS)' })
    .option('lora-targets', { type: 'string', default: 'to_q,to_v', description: 'comma-separated layer names the LoRA adapts' })
    .option('ema', { type: 'boolean', default: true, description: 'an EMA copy of the student' })
    .option('teacher-fp16', { type: 'boolean', default: false, description: 'ask for a float16 frozen teacher (tfjs holds it in float32: shown in the table)' })
    .example('$0 memory models/sd21-base --checkpoint --attention-slice 1', "SD 2.1-base at its 64×64 latents, batch 1, 4 and 16");

interface Args {
  unet: string;
  batch: number[];
  latent?: number;
  checkpoint: boolean;
  attentionSlice?: number;
  loraRank: number;
  loraTargets: string;
  ema: boolean;
  teacherFp16: boolean;
}

export async function handler(args: Args, io: Io): Promise<number> {
  const { readJsonObject } = await import('../../models/sd/config-file.js');
  const { parseUNetConfig } = await import('../../models/sd/unet-config.js');
  const { memoryBudget } = await import('../../models/sd/memory-budget.js');
  const dir = existsSync(join(args.unet, 'unet', 'config.json')) ? join(args.unet, 'unet') : args.unet;
  const path = join(dir, 'config.json');
  const { config } = parseUNetConfig(path, readJsonObject(path, 'UNet config'));
  const latent = args.latent ?? config.sample_size ?? 64;
  const batches = args.batch.map(Number);
  if (batches.some((b) => !Number.isInteger(b) || b < 1)) throw new BadInputError('USAGE', `--batch ${args.batch.join(' ')}: batch sizes are positive integers`, 'e.g. --batch 1 4 16');
  if (!Number.isInteger(latent) || latent < 1) throw new BadInputError('USAGE', `--latent ${latent}: a positive integer`, 'the image size / 8, e.g. 64 for 512²');
  const targets = args.loraTargets.split(',').map((t) => t.trim()).filter((t) => t !== '');
  const lora = args.loraRank > 0 ? { rank: args.loraRank, targets } : undefined;
  const forward = { checkpoint: args.checkpoint, ...(args.attentionSlice === undefined ? {} : { attentionSlice: args.attentionSlice }) };
  const budgets = batches.map((batch) => memoryBudget(config, { batch, latent, forward, lora, ema: args.ema, teacherPrecision: args.teacherFp16 ? 'float16' : 'float32' }));
  const first = budgets[0];
  if (first === undefined) return 0;
  // one unit for the whole table: GiB at SD scale, MiB for small configs
  const [unit, scale] = Math.max(...budgets.map((b) => b.total)) >= 2 ** 30 ? ['GiB', 2 ** 30] : ['MiB', 2 ** 20];
  const gib = (b: number): string => (b / scale).toFixed(2);
  io.out(`${path}: ${first.parameters.unet.toLocaleString('en-US')} parameters${lora ? `, LoRA rank ${lora.rank} on ${targets.join(', ')}: ${first.parameters.lora.toLocaleString('en-US')}` : ''}; latents ${latent}×${latent}; ${args.checkpoint ? 'checkpointing' : 'no checkpointing'}${args.attentionSlice === undefined ? '' : `, attention slices of ${args.attentionSlice}`}`);
  io.out(`| item | ${batches.map((b) => `batch ${b} (${unit})`).join(' | ')} |`);
  io.out(`|---|${batches.map(() => '---').join('|')}|`);
  first.rows.forEach((row, i) => io.out(`| ${row.item}${row.note ? ` (${row.note})` : ''} | ${budgets.map((b) => gib(b.rows[i]?.bytes ?? 0)).join(' | ')} |`));
  io.out(`| **peak** | ${budgets.map((b) => `**${gib(b.total)}**`).join(' | ')} |`);
  return 0;
}
