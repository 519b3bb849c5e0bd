// When a log line about progress is worth writing: logs (Slurm, CI, pipes) get a line every `everyMs` or each
// time another tenth is done, whichever comes first, and always the last one; never more than one per `minMs`.
export interface ProgressThrottle {
  /** true when a line for `done` of `total` should be written now */
  due(done: number, total: number, now?: number): boolean;
}

export function progressThrottle(everyMs: number, minMs = Math.min(1000, everyMs)): ProgressThrottle {
  let lastAt = Number.NEGATIVE_INFINITY;
  let lastDecile = -1;
  return {
    due(done, total, now = Date.now()) {
      const decile = total > 0 ? Math.floor((10 * done) / total) : 0;
      const last = done >= total;
      const wanted = last || lastAt === Number.NEGATIVE_INFINITY || now - lastAt >= everyMs || decile > lastDecile;
      if (!wanted || (!last && now - lastAt < minMs)) return false;
      lastAt = now;
      lastDecile = decile;
      return true;
    },
  };
}

/** seconds between plain progress lines: $VSDLAB_PROGRESS_SECONDS, else 10 */
export function progressSeconds(): number {
  const s = Number(process.env.VSDLAB_PROGRESS_SECONDS);
  return process.env.VSDLAB_PROGRESS_SECONDS !== undefined && Number.isFinite(s) && s >= 0 ? s : 10;
}
