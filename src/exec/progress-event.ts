// The NDJSON events of `vsdlab run --json`: the json reporter writes them, a local pool reads its workers' lines back.
import { z } from 'zod';
import type { StageName } from '../tracking/stage.js';
import type { CellOutcome } from './reporter.js';

// Records, so that a stage or outcome added to its type and missing here fails to compile
const STAGES: Record<StageName, true> = { distill: true, generate: true, evaluate: true };
const OUTCOMES: Record<CellOutcome, true> = { completed: true, cached: true, 'skipped-running-elsewhere': true, failed: true, interrupted: true };
const stage = z.enum(Object.keys(STAGES) as [StageName, ...StageName[]]);
const outcome = z.enum(Object.keys(OUTCOMES) as [CellOutcome, ...CellOutcome[]]);

export const progressEventSchema = z.discriminatedUnion('event', [
  z.object({ event: z.literal('run-start'), time: z.string(), experiment: z.string(), cells: z.array(z.string()) }),
  z.object({ event: z.literal('cell-start'), time: z.string(), cell: z.string(), run_dir: z.string(), attempt: z.number() }),
  z.object({ event: z.literal('stage-start'), time: z.string(), cell: z.string(), stage, cached: z.boolean() }),
  z.object({ event: z.literal('progress'), time: z.string(), cell: z.string(), stage, done: z.number(), total: z.number() }),
  z.object({ event: z.literal('stage-end'), time: z.string(), cell: z.string(), stage, seconds: z.number(), cached: z.boolean() }),
  z.object({ event: z.literal('cell-end'), time: z.string(), cell: z.string(), outcome, run_dir: z.string(), seconds: z.number(), error: z.string().optional() }),
  z.object({ event: z.literal('run-end'), time: z.string(), outcomes: z.array(z.object({ cell: z.string(), outcome })) }),
  // a command's long task (exec/progress.ts): `fid`, `kid`, `clip-score`, `sample`, `datasets prepare`, `verify`
  z.object({ event: z.literal('task-start'), time: z.string(), task: z.string(), label: z.string(), total: z.number(), unit: z.string() }),
  z.object({
    event: z.literal('task-progress'),
    time: z.string(),
    task: z.string(),
    label: z.string(),
    done: z.number(),
    total: z.number(),
    unit: z.string(),
    /** units per second since the task started */
    rate: z.number(),
    /** seconds left at that rate; null before the first unit */
    eta_s: z.number().nullable(),
  }),
  z.object({ event: z.literal('task-end'), time: z.string(), task: z.string(), label: z.string(), done: z.number(), total: z.number(), unit: z.string(), seconds: z.number() }),
  z.object({ event: z.literal('note'), time: z.string(), message: z.string() }),
]);

export type ProgressEvent = z.infer<typeof progressEventSchema>;
export type ProgressEventName = ProgressEvent['event'];
/** what an event carries besides its name and time */
export type ProgressEventData<E extends ProgressEventName> = Omit<Extract<ProgressEvent, { event: E }>, 'event' | 'time'>;

/** one line of a worker's stdout as an event; anything else it prints (or a malformed event) is undefined */
export function parseProgressEvent(line: string): ProgressEvent | undefined {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return undefined;
  }
  const parsed = progressEventSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
