import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate, rankValues } from '../../src/report/aggregate.js';
import { bootstrapMeanCi, mean, quantile, sampleStd } from '../../src/report/stats.js';
import { metricRecord, type Protocol } from '../../src/tracking/results.js';
import type { Aggregation, RunRecord } from '../../src/report/types.js';

const P: Protocol = { dataset: 'd', n_samples: 10 };
const MEAN_STD: Aggregation = { kind: 'mean_std', ci: null };

function run(name: string, varying: Record<string, unknown>, metrics: Array<[string, number, 'lower' | 'higher', Protocol?]>, state: RunRecord['state'] = 'completed'): RunRecord {
  const seed = typeof varying.seed === 'number' ? varying.seed : null;
  return {
    name, dir: `/runs/x/${name}`, experiment: 'x', varying, config: { seed, ...varying }, seed, state, stage: null,
    error: state === 'completed' ? null : 'evaluate: boom', started: null, ended: null, host: null,
    metrics: state === 'completed' ? metrics.map(([n, v, d, p]) => metricRecord(n, v, d, p ?? P)) : [],
    provenance: null, stages: {}, history: {}, samples: [],
  };
}

test('mean and sample std (n − 1) match hand-computed values; one value has no std', () => {
  assert.equal(mean([1, 2, 3, 4]), 2.5);
  assert.ok(Math.abs((sampleStd([1, 2, 3, 4]) ?? 0) - Math.sqrt(5 / 3)) < 1e-12);
  assert.ok(Math.abs((sampleStd([20.3, 19.7, 20]) ?? 0) - 0.3) < 1e-12);
  assert.equal(sampleStd([5]), null);
  assert.equal(mean([]), null);
  assert.equal(quantile([0, 10], 0.25), 2.5);
});

test('best and second follow the direction; equal at the shown precision is a tie', () => {
  assert.deepEqual(rankValues([20.004, 24, 20.001, 30], 'lower', 2), ['best', 'second', 'best', null]);
  assert.deepEqual(rankValues([0.30121, 0.30119, 0.2795, null], 'higher', 4), ['best', 'best', 'second', null]);
  assert.deepEqual(rankValues([0.30121, 0.30119], 'higher', 5), ['best', 'second']);
  assert.deepEqual(rankValues([3, 2, 1], 'higher', 0), ['best', 'second', null]);
  assert.deepEqual(rankValues([7, null], 'lower', 2), [null, null], 'one value: nothing to compare');
  assert.deepEqual(rankValues([7, 7], 'lower', 2), ['best', 'best']);
});

test('runs group over seeds; columns split by protocol fingerprint and a note says why; failed runs are listed', () => {
  const other: Protocol = { dataset: 'd', n_samples: 20 };
  const runs = [
    run('a-s0', { lora: true, seed: 0 }, [['fid', 10, 'lower'], ['clip-score', 0.3, 'higher']]),
    run('a-s1', { lora: true, seed: 1 }, [['fid', 12, 'lower'], ['clip-score', 0.32, 'higher'], ['fid', 9, 'lower', other]]),
    run('b-s0', { lora: false, seed: 0 }, [['fid', 20, 'lower'], ['clip-score', 0.25, 'higher']]),
    run('b-s1', { lora: false, seed: 1 }, [], 'failed'),
  ];
  const agg = aggregate(runs, ['lora', 'seed'], MEAN_STD);
  assert.equal(agg.rows.length, 2);
  assert.deepEqual(agg.rows.map((r) => [r.label, r.n, r.runs.length]), [['lora', 2, 2], ['no lora', 1, 2]]);
  assert.deepEqual(agg.columns.map((c) => c.name), ['fid', 'fid', 'clip-score']);
  const [fid, fid20, clip] = agg.columns;
  const a = agg.rows[0]!;
  assert.equal(a.cells[fid!.id]?.mean, 11);
  assert.ok(Math.abs((a.cells[fid!.id]?.std ?? 0) - Math.SQRT2) < 1e-12);
  assert.equal(a.cells[fid20!.id]?.n, 1, 'the n=20 FID is its own column, never averaged with the n=10 one');
  assert.equal(a.cells[fid20!.id]?.std, null);
  assert.equal(a.cells[clip!.id]?.rank, 'best');
  assert.equal(agg.rows[1]?.cells[clip!.id]?.rank, 'second');
  assert.equal(agg.rows[1]?.cells[fid20!.id]?.n, 0);
  assert.match(agg.notes.join(' '), /FID was measured under 2 protocols.*n_samples: 10 vs 20/);
  assert.deepEqual(agg.incomplete.map((i) => [i.run, i.row, i.state]), [['b-s1', 'no lora', 'failed']]);
});

test('bootstrap interval: seeded, reproducible, brackets the mean, absent below two values', () => {
  const xs = [20.3, 19.7, 20.0, 20.6, 19.4];
  const opts = { level: 0.95, resamples: 2000, seed: 7 };
  const ci = bootstrapMeanCi(xs, opts);
  assert.ok(ci);
  assert.deepEqual(bootstrapMeanCi(xs, opts), ci, 'same seed, same interval');
  assert.notDeepEqual(bootstrapMeanCi(xs, { ...opts, seed: 8 }), ci, 'the seed matters');
  const m = mean(xs) ?? 0;
  assert.ok(ci.low < m && m < ci.high && ci.low >= 19.4 && ci.high <= 20.6);
  assert.equal(bootstrapMeanCi([1], opts), null);
  const agg = aggregate([run('a-s0', { seed: 0 }, [['fid', 1, 'lower']]), run('a-s1', { seed: 1 }, [['fid', 3, 'lower']])], ['seed'], { kind: 'mean_std', ci: { method: 'bootstrap-percentile', level: 0.95, resamples: 500, seed: 0 } });
  const cell = Object.values(agg.rows[0]!.cells)[0];
  assert.ok(cell?.ci && cell.ci.low >= 1 && cell.ci.high <= 3);
});
