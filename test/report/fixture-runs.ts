import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { planExperiment } from '../../src/plan/plan.js';
import { runPlan } from '../../src/exec/run-plan.js';
import { RunStore } from '../../src/tracking/run-store.js';
import { metricRecord } from '../../src/tracking/results.js';
import type { Stage } from '../../src/tracking/stage.js';
import type { CellSummary } from '../../src/exec/reporter.js';
import { fromRoot } from '../helpers/paths.js';

export const FIXTURE_EXPERIMENT = 'test/fixtures/report/ablation.yaml';

export const CAPTIONS = ['a red circle on the left', 'a blue square <script>alert("x")</script> & friends', 'a green triangle | top right'];

const SHA_EXTRACTOR = 'a'.repeat(64);
const SHA_CLIP = 'b'.repeat(64);
const FID_PROTOCOL = { dataset: 'synthetic-shapes-val', captions: 'first-caption-per-image', n_samples: 3, reference: 'synthetic-shapes-val', resolution: 32, mode: 'clean', extractor_sha256: SHA_EXTRACTOR };
const FID_LEGACY = { ...FID_PROTOCOL, mode: 'legacy-pytorch' };
const CLIP_PROTOCOL = { dataset: 'synthetic-shapes-val', captions: 'first-caption-per-image', n_samples: 3, model: 'embedded-dual-encoder', image_encoder_sha256: SHA_CLIP, convention: 'cosine-mean', prefix: 'A photo depicts ' };

interface Group {
  fid: number;
  clip: number;
  colour: [number, number, number];
}

const groupOf = (lora: boolean, param: string): Group =>
  lora && param === 'eps' ? { fid: 20, clip: 0.3012, colour: [200, 40, 40] } : lora ? { fid: 24, clip: 0.3012, colour: [40, 160, 40] } : { fid: 30, clip: 0.28, colour: [40, 40, 200] };

/**
 * Stages that write what the real ones do (history.jsonl with loss and grad norm, samples.json with PNGs,
 * metrics under named protocols), with numbers chosen to exercise ties, best and second. SDS seed 2 fails.
 */
export function reportStages(): Stage[] {
  return [
    {
      name: 'distill',
      version: 'r1',
      assets: ['teacher'],
      inputs: (c) => ({ teacher: c.teacher, distill: c.distill, seed: c.seed }),
      async run(ctx) {
        const { steps } = ctx.cell.config.distill;
        for (let step = 1; step <= steps; step++) {
          ctx.log({ step, loss: (1 + ctx.cell.config.seed * 0.1) / step, grad_norm: 2 / Math.sqrt(step), lora_loss: 0.5 / step });
        }
        return { steps, backend: 'wasm' };
      },
    },
    {
      name: 'generate',
      version: 'r1',
      assets: ['teacher'],
      inputs: (c) => ({ distill: c.distill, generate: c.generate, seed: c.seed }),
      async run(ctx) {
        const { enabled } = ctx.cell.config.distill.lora_teacher;
        const g = groupOf(enabled, ctx.cell.config.distill.student.parameterization);
        mkdirSync(join(ctx.workDir, 'images'), { recursive: true });
        // SDS lists its captions in another order: the grid must match by caption, not by position
        const captions = enabled ? CAPTIONS : [...CAPTIONS].reverse();
        const samples = [];
        for (const [index, caption] of captions.entries()) {
          const file = `images/${index}.png`;
          const shade = 40 * CAPTIONS.indexOf(caption);
          await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: (g.colour[0] + shade) % 256, g: g.colour[1], b: (g.colour[2] + shade) % 256 } } })
            .png()
            .toFile(join(ctx.workDir, file));
          samples.push({ index, caption, file });
        }
        writeFileSync(join(ctx.workDir, 'samples.json'), JSON.stringify({ samples }));
        return { images: samples.length, backend: 'onnxruntime-cpu' };
      },
    },
    {
      name: 'evaluate',
      version: 'r1',
      assets: ['evaluate'],
      inputs: (c) => ({ evaluate: c.evaluate, distill: c.distill, seed: c.seed }),
      async run(ctx) {
        const { seed } = ctx.cell.config;
        const { enabled } = ctx.cell.config.distill.lora_teacher;
        if (!enabled && seed === 2) throw new Error('onnxruntime: out of memory <while> scoring');
        const g = groupOf(enabled, ctx.cell.config.distill.student.parameterization);
        const offset = seed - 1;
        const metrics = [
          metricRecord('fid', g.fid + 0.3 * offset, 'lower', FID_PROTOCOL),
          metricRecord('clip-score', g.clip + 0.001 * offset, 'higher', CLIP_PROTOCOL),
        ];
        // only seed 0 was also scored with the legacy FID: a second FID protocol, its own column
        if (seed === 0) metrics.push(metricRecord('fid', g.fid + 1.5, 'lower', FID_LEGACY));
        return { metrics };
      },
    },
  ];
}

/** Runs the fixture ablation into `<dir>/runs` with the real runner; returns the run store and summaries. */
export async function buildFixtureRuns(dir: string): Promise<{ store: RunStore; summaries: CellSummary[]; experiment: string }> {
  const store = new RunStore(join(dir, 'runs'));
  const plan = await planExperiment(fromRoot(FIXTURE_EXPERIMENT));
  const summaries = await runPlan(plan, { store, stages: reportStages(), heartbeatMs: 60_000 });
  return { store, summaries, experiment: fromRoot(FIXTURE_EXPERIMENT) };
}
