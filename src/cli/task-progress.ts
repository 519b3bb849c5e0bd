/**
 * Progress of a long command that is not a run (datasets prepare): a bar on a terminal, a plain line every
 * `everyMs` (and at each phase's end) in logs and pipes, NDJSON `{"event":"progress","task",...}` lines on stdout
 * with --json. One function per sink, chosen like the run reporters (src/exec/reporters): tty when stderr is a
 * terminal outside CI, else plain. Lines go to stderr, so stdout keeps the command's result.
 */
import cliProgress from 'cli-progress';
import type { Io } from './io.js';

export interface TaskProgress {
  update(phase: string, done: number, total: number): void;
  /** a finding to show as it happens (one line) */
  note(line: string): void;
  stop(): void;
}

export function taskProgress(task: string, io: Io, json: boolean, everyMs = 10_000): TaskProgress {
  if (json) {
    const last = new Map<string, number>();
    return {
      update(phase, done, total) {
        if (done < total && done > 0 && Date.now() - (last.get(phase) ?? 0) < 1000) return;
        last.set(phase, Date.now());
        io.out(JSON.stringify({ event: 'progress', time: new Date().toISOString(), task, phase, done, total }));
      },
      note: (line) => io.out(JSON.stringify({ event: 'warning', time: new Date().toISOString(), task, message: line })),
      stop: () => undefined,
    };
  }
  if (process.stderr.isTTY && !process.env.CI) {
    let bar: cliProgress.SingleBar | undefined;
    let barPhase = '';
    const stop = (): void => {
      bar?.stop();
      bar = undefined;
    };
    return {
      update(phase, done, total) {
        if (!bar || barPhase !== phase) {
          stop();
          barPhase = phase;
          bar = new cliProgress.SingleBar({ format: `${task} ${phase} [{bar}] {percentage}% {value}/{total} eta {eta_formatted}`, stream: process.stderr, hideCursor: true, etaBuffer: 50 }, cliProgress.Presets.shades_classic);
          bar.start(total, done);
        } else bar.update(done);
      },
      note(line) {
        const shown = bar;
        stop();
        io.err(line);
        if (shown) barPhase = '';
      },
      stop,
    };
  }
  const last = new Map<string, number>();
  const started = new Map<string, number>();
  return {
    update(phase, done, total) {
      const now = Date.now();
      if (!started.has(phase)) started.set(phase, now);
      if (done < total && now - (last.get(phase) ?? 0) < everyMs) return;
      if (done >= total && last.get(phase) === -1) return;
      last.set(phase, done >= total ? -1 : now);
      const seconds = Math.round((now - started.get(phase)!) / 1000);
      io.err(`${task} ${phase}: ${done}/${total} (${Math.floor((100 * done) / Math.max(total, 1))}%) ${seconds}s`);
    },
    note: (line) => io.err(line),
    stop: () => undefined,
  };
}
