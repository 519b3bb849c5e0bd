import cliProgress from 'cli-progress';
import type { Reporter } from '../reporter.js';
import { plainReporter } from './plain.js';

/** A progress bar with ETA per running stage or task; event lines are printed above it. */
export function ttyReporter(stream: NodeJS.WriteStream = process.stderr): Reporter {
  let bar: cliProgress.SingleBar | undefined;
  const stopBar = (): void => {
    bar?.stop();
    bar = undefined;
  };
  const log = (line: string): void => {
    stopBar();
    stream.write(`${line}\n`);
  };
  const lines = plainReporter(log, Number.POSITIVE_INFINITY);
  const show = (label: string, unit: string, done: number, total: number): void => {
    if (!bar) {
      bar = new cliProgress.SingleBar(
        { format: `  ${label} [{bar}] {percentage}% {value}/{total} ${unit} eta {eta_formatted}`, stream, hideCursor: true, etaBuffer: 50 },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, done);
    } else bar.update(done);
    if (done >= total) stopBar();
  };
  return {
    ...lines,
    onProgress: (cell, stage, done, total) => show(`${cell.slug} ${stage}`, '', done, total),
    onStageEnd(...args) {
      stopBar();
      lines.onStageEnd?.(...args);
    },
    onTaskStart: () => stopBar(),
    onTaskProgress: (task, done) => show(`${task.task} ${task.label}`, task.unit, done, task.total),
    onTaskEnd(task, done) {
      stopBar();
      lines.onTaskEnd?.(task, done);
    },
  };
}
