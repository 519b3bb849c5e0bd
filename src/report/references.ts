import { z } from 'zod';
import { readYamlFile, type YamlFileKind } from '../util/yaml-file.js';
import { protocolSchema } from '../tracking/results.js';
import { metricLabel } from './format.js';
import { flatConfig } from './collect-runs.js';
import { incomparableReasons } from './protocol-diff.js';
import type { Column, PaperTable, ReferenceComparison, Row, RunRecord } from './types.js';

const id = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'use lowercase letters, digits and "-"');
const scalar = z.union([z.string(), z.number(), z.boolean()]);

const referenceRowSchema = z.strictObject({
  label: z.string().min(1),
  group: z.string().optional(),
  steps: z.number().int().positive().optional(),
  /** metric → number as printed in the source; null where the source prints none (or an unusable one) */
  values: z.record(z.string(), z.number().nullable()),
  note: z.string().optional(),
  /** cell config keys (dotted) whose values reproduce this row */
  match: z.record(z.string(), scalar).optional(),
});

const referenceTableSchema = z.strictObject({
  id,
  title: z.string().min(1),
  source: id,
  protocol: id,
  note: z.string().optional(),
  columns: z
    .array(
      z.strictObject({
        metric: z.string().min(1),
        label: z.string().optional(),
        direction: z.enum(['lower', 'higher']),
        /** decimals the source prints (YAML drops trailing zeros); absent: the shortest form */
        decimals: z.number().int().min(0).max(6).optional(),
      }),
    )
    .min(1),
  rows: z.array(referenceRowSchema).min(1),
});

/** A file of published numbers: every table names where its numbers were read and how they were measured. */
export const referenceFileSchema = z
  .strictObject({
    name: id,
    title: z.string().min(1),
    sources: z.record(id, z.strictObject({ citation: z.string().min(1), url: z.url().optional(), note: z.string().optional() })),
    protocols: z.record(id, z.strictObject({ description: z.string().min(1), metrics: z.record(z.string(), protocolSchema) })),
    tables: z.array(referenceTableSchema).min(1),
  })
  .superRefine((file, ctx) => {
    file.tables.forEach((table, t) => {
      if (!(table.source in file.sources)) ctx.addIssue({ code: 'custom', path: ['tables', t, 'source'], message: `unknown source "${table.source}"` });
      const protocol = file.protocols[table.protocol];
      if (!protocol) ctx.addIssue({ code: 'custom', path: ['tables', t, 'protocol'], message: `unknown protocol "${table.protocol}"` });
      const metrics = table.columns.map((c) => c.metric);
      for (const m of metrics) {
        if (protocol && !(m in protocol.metrics)) ctx.addIssue({ code: 'custom', path: ['tables', t, 'columns'], message: `protocol "${table.protocol}" says nothing about ${m}` });
      }
      table.rows.forEach((row, r) => {
        for (const m of Object.keys(row.values)) {
          if (!metrics.includes(m)) ctx.addIssue({ code: 'custom', path: ['tables', t, 'rows', r, 'values', m], message: `${m} is not a column of ${table.id}` });
        }
      });
    });
  });
export type ReferenceFile = z.infer<typeof referenceFileSchema>;

const REFERENCE_FILE: YamlFileKind = {
  noun: 'reference numbers',
  code: 'REFERENCES_INVALID',
  hint: 'fix the listed keys; experiments/references/swiftbrush.yaml is a working file',
  unreadable: 'REFERENCES_NOT_FOUND',
};

/** Reads and validates a reference file; every problem is reported with its line and path. */
export function loadReferences(path: string): ReferenceFile {
  return readYamlFile(path, referenceFileSchema, REFERENCE_FILE);
}

export interface ReferenceSection {
  comparisons: ReferenceComparison[];
  tables: PaperTable[];
  notes: string[];
}

/**
 * Puts paper rows beside our rows whose config matches the paper row's `match`, metric by metric; the
 * difference is given only when the paper's protocol for that metric equals our column's protocol.
 */
export function compareWithReferences(files: readonly ReferenceFile[], rows: readonly Row[], columns: readonly Column[], runs: readonly RunRecord[]): ReferenceSection {
  const comparisons: ReferenceComparison[] = [];
  const tables: PaperTable[] = [];
  const notes: string[] = [];
  const configOf = new Map(rows.map((row) => [row.key, flatConfig(runs.find((r) => row.runs.includes(r.name))?.config ?? {})]));
  for (const file of files) {
    for (const table of file.tables) {
      const protocol = file.protocols[table.protocol];
      const source = file.sources[table.source];
      if (!protocol || !source) continue; // the schema rules these out
      tables.push({
        id: `${file.name}/${table.id}`,
        title: table.title,
        source: source.citation,
        url: source.url ?? null,
        protocol: table.protocol,
        protocol_description: protocol.description,
        note: [table.note, source.note].filter(Boolean).join('; ') || null,
        columns: table.columns.map((c) => ({ metric: c.metric, label: c.label ?? metricLabel(c.metric), direction: c.direction, decimals: c.decimals ?? null })),
        rows: table.rows.map((r) => ({ label: r.label, group: r.group ?? null, steps: r.steps ?? null, values: r.values, note: r.note ?? null })),
      });
      const blocked = new Set<string>();
      for (const ref of table.rows) {
        if (!ref.match) continue;
        const match = ref.match;
        for (const row of rows) {
          const config = configOf.get(row.key) ?? {};
          if (!Object.entries(match).every(([k, v]) => config[k] === v)) continue;
          for (const column of columns) {
            const paper = ref.values[column.name];
            const paperProtocol = protocol.metrics[column.name];
            if (paper === undefined || paper === null || !paperProtocol) continue;
            const reasons = incomparableReasons(paperProtocol, column.protocol);
            const ours = row.cells[column.id]?.mean ?? null;
            const comparable = reasons.length === 0;
            if (!comparable) for (const r of reasons) blocked.add(r);
            comparisons.push({ table: `${file.name}/${table.id}`, reference: ref.label, row: row.label, column: column.id, metric: column.name, paper, ours, delta: comparable && ours !== null ? ours - paper : null, comparable, reasons });
          }
        }
      }
      if (blocked.size > 0) {
        notes.push(`${table.title}: not comparable with our columns, so no difference is shown (${[...blocked].slice(0, 4).join('; ')}${blocked.size > 4 ? '; …' : ''}).`);
      }
    }
  }
  return { comparisons, tables, notes };
}
