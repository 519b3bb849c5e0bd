// `vsdlab` as a child process whose NDJSON events the test reads as they come (test/helpers/cli.ts waits for the end)
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fromRoot } from '../helpers/paths.js';

export interface RunEvent {
  event: string;
  cell?: string;
  stage?: string;
  cached?: boolean;
  outcome?: string;
  done?: number;
}

export interface Running {
  child: ChildProcess;
  events: RunEvent[];
  /** resolves at the first event that `match` accepts */
  waitFor(match: (e: RunEvent) => boolean): Promise<RunEvent>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

export function spawnVsdlab(args: readonly string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [fromRoot('bin/vsdlab.js'), ...args], { cwd: fromRoot(), env: { ...process.env, CI: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: RunEvent[] = [];
  const waiters: Array<{ match: (e: RunEvent) => boolean; resolve: (e: RunEvent) => void }> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let e: RunEvent;
    try {
      e = JSON.parse(line) as RunEvent;
    } catch {
      return;
    }
    events.push(e);
    for (const w of waiters.splice(0)) (w.match(e) ? w.resolve(e) : waiters.push(w));
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
  const waitFor = (match: (e: RunEvent) => boolean): Promise<RunEvent> => {
    const seen = events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      waiters.push({ match, resolve });
      void exit.then((r) => reject(new Error(`vsdlab ${args.join(' ')} exited (${r.code ?? r.signal}) before the awaited event: ${r.stderr}`)));
    });
  };
  return { child, events, waitFor, exit };
}
