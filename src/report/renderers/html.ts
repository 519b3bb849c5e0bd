import { escapeHtml as h } from '../escape.js';
import type { Report } from '../types.js';
import { aggregationLine, comparableLines, headers, paperValue, protocolLine, tableCell } from './cells.js';
import type { Renderer } from './renderer.js';

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.6rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}h3{font-size:1.05rem}
table{border-collapse:collapse;margin:.6rem 0 1rem}th,td{padding:.3rem .6rem;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}thead th{border-bottom:2px solid #333}tbody tr:last-child td{border-bottom:2px solid #333}
tbody tr:nth-child(even){background:#f6f6f6}.best{font-weight:700}.second{text-decoration:underline}.ci{color:#666;font-size:.85em}
.note{color:#555}.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:.4rem .8rem}code{font-size:.9em}
figure{margin:1rem 0}figure img{max-width:100%;border:1px solid #ddd}figcaption{color:#555;font-size:.9em}
table.text td,table.text th{text-align:left}table.paper td:last-child,table.paper th:last-child{text-align:left}.small{font-size:.85em}`;

const tr = (cells: readonly string[], tag: 'td' | 'th' = 'td'): string => `<tr>${cells.map((c) => `<${tag}>${c}</${tag}>`).join('')}</tr>`;

function table(head: readonly string[], body: ReadonlyArray<readonly string[]>, cls = ''): string {
  return `<table${cls ? ` class="${cls}"` : ''}><thead>${tr(head, 'th')}</thead><tbody>${body.map((r) => tr(r)).join('')}</tbody></table>`;
}

const list = (items: readonly string[]): string => `<ul>${items.map((i) => `<li>${h(i)}</li>`).join('')}</ul>`;

/** index.html: one self-contained page (inline CSS, images as files beside it, no script, no network) */
export function renderHtml(report: Report): string {
  const parts: string[] = [];
  parts.push(`<h1>${h(report.title)}</h1>`);
  if (report.description) parts.push(`<p>${h(report.description)}</p>`);
  const source = report.source.kind === 'experiment' ? `experiment file ${report.source.file}` : `${report.source.dirs.length} run folder(s)`;
  parts.push(`<p class="note">From ${h(source)}; generated ${h(report.generated)}. ${h(aggregationLine(report))}</p>`);

  parts.push('<h2 id="results">Results</h2>');
  if (report.columns.length === 0) parts.push('<p class="warn">No run has metrics yet.</p>');
  else {
    const body = report.rows.map((r) => [
      h(r.label),
      String(r.n),
      ...report.columns.map((c) => {
        const cell = tableCell(r, c);
        const text = cell.rank ? `<span class="${cell.rank}">${h(cell.text)}</span>` : h(cell.text);
        return text + (cell.ci ? ` <span class="ci">${h(cell.ci)}</span>` : '');
      }),
    ]);
    parts.push(table(['Cell', 'n', ...headers(report).map(h)], body, 'results'));
    parts.push('<h3>Protocols</h3>', list(report.columns.map(protocolLine)));
  }
  if (report.notes.length > 0) parts.push(`<div class="warn">${list(report.notes)}</div>`);
  if (report.incomplete.length > 0) {
    parts.push(`<h2 id="incomplete">Incomplete runs (${report.incomplete.length})</h2>`);
    parts.push(table(['Run', 'Cell', 'Seed', 'State', 'Error'], report.incomplete.map((i) => [h(i.run), h(i.row), String(i.seed ?? '—'), h(i.state), h(i.error ?? '')]), 'text'));
  }

  if (report.references.tables.length > 0) {
    parts.push('<h2 id="paper">Against the paper</h2>');
    const lines = comparableLines(report);
    parts.push(
      lines.length > 0
        ? table(['Paper row', 'Our cell', 'Metric', 'Paper', 'Ours', 'Δ (ours − paper)'], lines.map((l) => [h(l.reference), h(l.row), h(l.metric), h(l.paper), h(l.ours), h(l.delta)]), 'comparison')
        : '<p class="warn">No paper number shares a protocol with our columns, so none is put beside ours.</p>',
    );
    if (report.references.notes.length > 0) parts.push(list(report.references.notes));
    for (const t of report.references.tables) {
      parts.push(`<h3>${h(t.title)}</h3>`);
      parts.push(`<p class="note small">Source: ${h(t.source)}${t.url ? ` — <a href="${h(t.url)}">${h(t.url)}</a>` : ''}. Protocol: ${h(t.protocol_description)}.${t.note ? ` ${h(t.note)}.` : ''}</p>`);
      const head = ['Model', ...t.columns.map((c) => `${h(c.label)} ${c.direction === 'lower' ? '↓' : '↑'}`), 'Note'];
      parts.push(table(head, t.rows.map((r) => [h(r.label), ...t.columns.map((c) => h(paperValue(r.values[c.metric], c.decimals))), `<span class="note small">${h(r.note ?? '')}</span>`]), 'paper'));
    }
  }

  const charts = report.figures.filter((f) => f.kind !== 'grid');
  if (charts.length > 0) {
    parts.push('<h2 id="charts">Charts</h2>');
    for (const f of charts) parts.push(`<figure><img class="chart" src="${h(f.file)}" alt="${h(f.alt)}"><figcaption>${h(f.title)}</figcaption></figure>`);
  }
  if (report.grids.length > 0) {
    parts.push('<h2 id="samples">Samples</h2>');
    for (const g of report.grids) {
      parts.push(`<figure><img class="grid" src="${h(g.file)}" alt="image grid"><figcaption>${h(g.title)}; columns: ${h(g.columns.join(' | '))}</figcaption></figure>`);
      parts.push(`<p class="note">Captions, top to bottom:</p><ol class="captions">${g.captions.map((c) => `<li>${h(c)}</li>`).join('')}</ol>`);
    }
  }

  const p = report.provenance;
  parts.push('<h2 id="provenance">Provenance</h2>');
  parts.push(`<p>Runs started ${h(p.started ?? '—')}, last ended ${h(p.ended ?? '—')}.</p>`);
  parts.push('<h3>Code</h3>', table(['Commit', 'Branch', 'Dirty', 'Runs'], p.commits.map((c) => [`<code>${h(c.commit ?? 'unknown')}</code>`, h(c.branch ?? '—'), c.dirty === null ? 'unknown' : c.dirty ? '<strong>yes</strong>' : 'no', String(c.runs)]), 'text'));
  parts.push('<h3>Hosts</h3>', table(['Host', 'Runs'], p.hosts.map((x) => [h(x.host), String(x.runs)]), 'text'));
  if (p.backends.length > 0) parts.push('<h3>Backends</h3>', table(['What', 'Value', 'Runs'], p.backends.map((b) => [h(b.name), h(b.value), String(b.runs)]), 'text'));
  if (p.fingerprints.length > 0) {
    parts.push('<h3>Extractors, datasets and protocol fingerprints</h3>');
    parts.push(table(['Field', 'Value', 'Columns'], p.fingerprints.map((f) => [h(f.key), `<code>${h(f.value)}</code>`, h(f.columns.join(', '))]), 'text'));
  }
  parts.push('<h3>Runs</h3>');
  const runRows = report.runs.map((r) => {
    const t = p.runs.find((x) => x.run === r.name);
    return [h(r.name), String(r.seed ?? '—'), h(r.state), `<code>${h((t?.commit ?? '').slice(0, 12) || '—')}</code>${t?.dirty ? ' (dirty)' : ''}`, h(t?.host ?? '—'), h(r.started ?? '—'), t ? t.seconds.toFixed(1) : '—'];
  });
  parts.push(table(['Run', 'Seed', 'State', 'Commit', 'Host', 'Started', 'Stage seconds'], runRows, 'text small'));

  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // no script runs and nothing loads from outside the report folder, even if a string slipped through
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self' data: file:; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${h(report.title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    ...parts,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

export const htmlRenderer: Renderer = {
  name: 'html',
  describe: 'index.html (self-contained: inline CSS, images beside it, no network request)',
  render: async (report) => [{ path: 'index.html', content: renderHtml(report) }],
};
