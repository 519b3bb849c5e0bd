import cliProgress from 'cli-progress';
import type { Reporter } from '../reporter.js';
import { plainReporter } from './plain.js';

/** A progress bar with ETA per running stage; event lines are printed above it. */
export function ttyReporter(stream: NodeJS.WriteStream = process.stderr): Reporter {
  let bar: cliProgress.SingleBar | undefined;
  const log = (line: string): void => {
    if (bar) bar.stop();
    stream.write(`${line}\n`);
    bar = undefined;
  };
  const lines = plainReporter(log, Number.POSITIVE_INFINITY);
  return {
    ...lines,
    onProgress(cell, stage, done, total) {
      if (!bar) {
        bar = new cliProgress.SingleBar(
          { format: `  ${cell.slug} ${stage} [{bar}] {percentage}% {value}/{total} eta {eta_formatted}`, stream, hideCursor: true, etaBuffer: 50 },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, done);
      } else bar.update(done);
      if (done >= total) {
        bar.stop();
        bar = undefined;
      }
    },
    onStageEnd(...args) {
      if (bar) {
        bar.stop();
        bar = undefined;
      }
      lines.onStageEnd?.(...args);
    },
  };
}
