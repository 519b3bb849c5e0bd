import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadReferences, compareWithReferences, referenceFileSchema } from '../../src/report/references.js';
import { BadInputError } from '../../src/errors.js';
import { IssuesError } from '../../src/util/issues.js';
import { metricRecord } from '../../src/tracking/results.js';
import type { Column, Row, RunRecord } from '../../src/report/types.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';

test('the bundled SwiftBrush reference file validates and carries Table 1 and the SBv2 re-evaluation', () => {
  const refs = loadReferences(fromRoot('experiments/references/swiftbrush.yaml'));
  const table1 = refs.tables.find((t) => t.id === 'sb-table1');
  assert.deepEqual(table1?.rows.find((r) => r.label === 'SwiftBrush')?.values, { fid: 16.67, 'clip-score': 0.29 });
  const sbv2 = refs.tables.find((t) => t.id === 'sbv2-reeval');
  assert.deepEqual(sbv2?.rows.find((r) => r.label.startsWith('SwiftBrush (SBv2'))?.values, { fid: 15.46, 'clip-score': 0.3, precision: 0.47, recall: 0.46 });
  assert.equal(refs.protocols['sbv2-coco30k']?.metrics.fid?.captions, 'sbv2-first-30k');
});

test('a reference file with unknown ids, stray values or a YAML slip is rejected: every problem with its line and path', () => {
  const dir = tempDir({
    'bad.yaml': `name: bad
title: t
sources: { s: { citation: c } }
protocols: { p: { description: d, metrics: { fid: { dataset: x } } } }
tables:
  - id: t1
    title: T
    source: nope
    protocol: p
    columns: [{ metric: fid, direction: lower }]
    rows: [{ label: Guided (Meng et al., 2023), values: { fid: 1, clip-score: 2 } }]
`,
  });
  const file = join(dir, 'bad.yaml');
  assert.throws(() => loadReferences(file), (e: unknown) => {
    assert.ok(e instanceof IssuesError);
    assert.equal(e.code, 'REFERENCES_INVALID');
    assert.deepEqual(e.message.split('\n'), [
      '3 problems in the reference numbers:',
      `  ${file}:8  tables[0].source  unknown source "nope"`,
      // an unquoted comma in a flow mapping makes a stray key
      `  ${file}:11  tables[0].rows[0].2023)  unknown key`,
      `  ${file}:11  tables[0].rows[0].values.clip-score  clip-score is not a column of t1`,
    ]);
    return true;
  });
});

test('every YAML slip in a reference file is reported with its line; a missing file is one line', () => {
  const dir = tempDir({ 'slip.yaml': 'name: a\nname: b\ntables: [{id: t1\n' });
  assert.throws(() => loadReferences(join(dir, 'slip.yaml')), (e: unknown) => {
    assert.ok(e instanceof IssuesError);
    assert.ok(e.issues.length >= 2, e.message);
    assert.ok(e.issues.every((i) => i.code === 'yaml_syntax' && i.line !== undefined));
    assert.match(e.message, /slip\.yaml:2 {2}\(root\) {2}Map keys must be unique/);
    return true;
  });
  assert.throws(() => loadReferences(join(dir, 'nope.yaml')), (e: unknown) => {
    assert.ok(e instanceof BadInputError);
    assert.equal(e.code, 'REFERENCES_NOT_FOUND');
    return true;
  });
});

const protocol = {
  dataset: 'coco2014-val', captions: 'sbv2-first-30k', n_samples: 30000, reference: 'coco2014-val', reference_resize: 'center-crop-lanczos-256',
  generated_resize: 'center-crop-lanczos-256', resolution: 256, mode: 'clean', extractor_sha256: 'e',
};

function fixture(fidProtocol: Record<string, string | number>) {
  const m = metricRecord('fid', 16, 'lower', fidProtocol);
  const column: Column = { id: `fid@${m.fingerprint.slice(0, 8)}`, name: 'fid', label: 'FID', direction: 'lower', fingerprint: m.fingerprint, protocol: m.protocol, decimals: 2 };
  const row: Row = { key: 'k', label: 'VSD (LoRA teacher), ε-param.', varying: {}, runs: ['r'], seeds: [0], n: 1, cells: { [column.id]: { n: 1, mean: 16, std: null, ci: null, values: [], rank: null } } };
  const run = { name: 'r', config: { distill: { enabled: true, lora_teacher: { enabled: true }, student: { parameterization: 'eps' } } } } as unknown as RunRecord;
  return { rows: [row], columns: [column], runs: [run] };
}

test('a paper number sits beside ours with a difference only under the same protocol', () => {
  const refs = [loadReferences(fromRoot('experiments/references/swiftbrush.yaml'))];
  const same = fixture(protocol);
  const section = compareWithReferences(refs, same.rows, same.columns, same.runs);
  const sbv2 = section.comparisons.find((c) => c.table === 'swiftbrush/sbv2-reeval' && c.metric === 'fid');
  assert.equal(sbv2?.comparable, true);
  assert.ok(Math.abs((sbv2?.delta ?? 0) - (16 - 15.46)) < 1e-12);
  const v1 = section.comparisons.find((c) => c.table === 'swiftbrush/sb-table1' && c.metric === 'fid');
  assert.equal(v1?.comparable, false, 'v1 does not state its caption subset');
  assert.equal(v1?.delta, null);
  assert.ok(v1?.reasons.includes('captions: the paper does not state it'));

  const embedded = fixture({ ...protocol, dataset: 'synthetic-shapes-val', n_samples: 64 });
  const apart = compareWithReferences(refs, embedded.rows, embedded.columns, embedded.runs);
  assert.ok(apart.comparisons.length > 0 && apart.comparisons.every((c) => !c.comparable && c.delta === null));
  assert.match(apart.notes.join(' '), /dataset: coco2014-val in the paper vs synthetic-shapes-val in ours/);
  assert.equal(apart.tables.length, 4, 'the paper tables are still shown, apart');
});

test('the schema is exported for tools (JSON-schema generation, editors)', () => {
  assert.equal(referenceFileSchema.safeParse({}).success, false);
});

test('a comparable paper number is rendered beside ours with the signed difference', async () => {
  const { renderMarkdown } = await import('../../src/report/renderers/markdown.js');
  const { buildReport } = await import('../../src/report/build-report.js');
  const same = fixture(protocol);
  const run = {
    ...same.runs[0], dir: '/r', experiment: 'e', varying: { seed: 0 }, seed: 0, state: 'completed', stage: null, error: null, started: null, ended: null, host: null,
    metrics: [metricRecord('fid', 16, 'lower', protocol)], provenance: null, stages: {}, history: {}, samples: [],
  } as RunRecord;
  const report = buildReport({ experiment: 'e', description: null, varyingKeys: ['seed'], runs: [run], notes: [] }, {
    source: { kind: 'runs', dirs: ['/r'] }, aggregation: { kind: 'mean_std', ci: null }, references: [loadReferences(fromRoot('experiments/references/swiftbrush.yaml'))], generated: 't',
  });
  const md = renderMarkdown(report);
  assert.match(md, /\| SwiftBrush \(SBv2 re-evaluation\) \(swiftbrush\/sbv2-reeval\) \| all runs \| FID \\\[[0-9a-f]{8}\\\] \| 15\.46 \| 16\.00 \| \+0\.54 \|/);
  assert.doesNotMatch(md, /\| 16\.67 \| 16\.00 \|/, 'the v1 number (captions unstated) gets no difference');
});
