import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Stage, StageName } from '../../src/tracking/stage.js';
import { metricRecord } from '../../src/tracking/results.js';

export interface TestStageOptions {
  /** every execution appends `<stage> <cell slug>` here, so tests can count what really ran */
  journal: string;
  /** steps the distill stage takes, checkpointing after each */
  steps?: number;
  stepMs?: number;
  /** while this file exists, evaluate throws */
  failFlag?: string;
}

/**
 * Test-only stages with the real plumbing: distill "trains" by counting steps with a checkpoint per step in
 * its work folder (so a killed run resumes), generate and evaluate derive numbers from upstream results.
 */
export function testStages(o: TestStageOptions): Stage[] {
  const note = (stage: StageName, slug: string): void => appendFileSync(o.journal, `${stage} ${slug} ${process.pid} ${randomUUID()}\n`);
  return [
    {
      name: 'distill',
      version: 't1',
      assets: ['teacher'],
      inputs: (c) => ({ teacher: c.teacher, distill: c.distill, seed: c.seed }),
      async run(ctx) {
        note('distill', ctx.cell.slug);
        const ckpt = join(ctx.workDir, 'checkpoint.json');
        const startedFrom = existsSync(ckpt) ? (JSON.parse(readFileSync(ckpt, 'utf8')) as { step: number }).step : 0;
        const total = o.steps ?? 3;
        for (let step = startedFrom + 1; step <= total; step++) {
          if (ctx.signal.aborted) throw ctx.signal.reason;
          await new Promise((r) => setTimeout(r, o.stepMs ?? 0));
          ctx.log({ step, loss: 1 / step });
          writeFileSync(ckpt, JSON.stringify({ step }));
          ctx.progress(step, total);
        }
        return { started_from: startedFrom, steps: total, weight: ctx.cell.config.seed + total };
      },
    },
    {
      name: 'generate',
      version: 't1',
      assets: ['teacher', 'evaluate.captions'],
      inputs: (c) => ({ generate: c.generate, captions: c.evaluate.captions ?? null, seed: c.seed }),
      async run(ctx) {
        note('generate', ctx.cell.slug);
        mkdirSync(join(ctx.workDir, 'images'), { recursive: true });
        writeFileSync(join(ctx.workDir, 'images', '0.txt'), String(ctx.upstream.distill?.result.weight));
        return { images: 1 };
      },
    },
    {
      name: 'evaluate',
      version: 't1',
      assets: ['evaluate'],
      inputs: (c) => c.evaluate,
      async run(ctx) {
        note('evaluate', ctx.cell.slug);
        if (o.failFlag && existsSync(o.failFlag)) throw new Error('evaluation failed on purpose');
        const weight = Number(ctx.upstream.distill?.result.weight);
        const protocol = { dataset: 'test', n_samples: 1, metric_count: ctx.cell.config.evaluate.metrics.length };
        return { metrics: [metricRecord('fid', 100 / (1 + weight), 'lower', protocol), metricRecord('clip-score', weight / 10, 'higher', protocol)] };
      },
    },
  ];
}

export const journalLines = (journal: string): string[] =>
  existsSync(journal) ? readFileSync(journal, 'utf8').trim().split('\n').filter(Boolean).map((l) => l.split(' ').slice(0, 2).join(' ')) : [];
