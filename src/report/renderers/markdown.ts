import { escapeMarkdown as md } from '../escape.js';
import type { Report } from '../types.js';
import { aggregationLine, comparableLines, headers, paperValue, protocolLine, tableCell } from './cells.js';
import type { Renderer } from './renderer.js';

const row = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;

const mark = (text: string, rank: 'best' | 'second' | null): string => (rank === 'best' ? `**${text}**` : rank === 'second' ? `<ins>${text}</ins>` : text);

/** table.md: GitHub-flavoured Markdown, for PR comments and READMEs */
export function renderMarkdown(report: Report): string {
  const out: string[] = [`# ${md(report.title)}`, ''];
  if (report.description) out.push(md(report.description), '');
  out.push(aggregationLine(report), '');
  if (report.columns.length === 0) out.push('_No run has metrics yet._', '');
  else {
    out.push(row(['Cell', 'n', ...headers(report).map(md)]), row([':---', '---:', ...report.columns.map(() => '---:')]));
    for (const r of report.rows) {
      const cells = report.columns.map((c) => {
        const cell = tableCell(r, c);
        return mark(md(cell.text), cell.rank) + (cell.ci ? ` ${md(cell.ci)}` : '');
      });
      out.push(row([md(r.label), String(r.n), ...cells]));
    }
    out.push('', 'Protocols:', ...report.columns.map((c) => `- ${md(protocolLine(c))}`), '');
  }
  if (report.notes.length > 0) out.push('Notes:', ...report.notes.map((n) => `- ${md(n)}`), '');
  if (report.incomplete.length > 0) {
    out.push(`## Incomplete runs (${report.incomplete.length})`, '', row(['Run', 'Cell', 'Seed', 'State', 'Error']), row(['---', '---', '---:', '---', '---']));
    for (const i of report.incomplete) out.push(row([md(i.run), md(i.row), String(i.seed ?? '—'), i.state, md(i.error ?? '')]));
    out.push('');
  }
  if (report.references.tables.length > 0) {
    out.push('## Against the paper', '');
    const lines = comparableLines(report);
    if (lines.length > 0) {
      out.push(row(['Paper row', 'Our cell', 'Metric', 'Paper', 'Ours', 'Δ (ours − paper)']), row(['---', '---', '---', '---:', '---:', '---:']));
      for (const l of lines) out.push(row([md(l.reference), md(l.row), md(l.metric), l.paper, l.ours, l.delta]));
      out.push('');
    } else out.push('No paper number shares a protocol with our columns, so none is put beside ours.', '');
    out.push(...report.references.notes.map((n) => `- ${md(n)}`), '');
    out.push('### Paper numbers (their protocols, shown apart)', '');
    for (const t of report.references.tables) {
      out.push(`#### ${md(t.title)}`, '', `Source: ${md(t.source)}${t.url ? ` (<${t.url}>)` : ''}. Protocol: ${md(t.protocol_description)}.${t.note ? ` ${md(t.note)}.` : ''}`, '');
      out.push(row(['Model', ...t.columns.map((c) => `${md(c.label)} ${c.direction === 'lower' ? '↓' : '↑'}`), 'Note']), row(['---', ...t.columns.map(() => '---:'), '---']));
      for (const r of t.rows) out.push(row([md(r.label), ...t.columns.map((c) => paperValue(r.values[c.metric], c.decimals)), md(r.note ?? '')]));
      out.push('');
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

export const markdownRenderer: Renderer = {
  name: 'md',
  describe: 'table.md (GitHub-flavoured Markdown)',
  render: async (report) => [{ path: 'table.md', content: renderMarkdown(report) }],
};
