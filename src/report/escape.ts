// every string a user or a run wrote passes through one of these before it reaches a rendered file

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => HTML[c] ?? c);

/** for a GFM table cell: markdown syntax and raw HTML become literal text */
export const escapeMarkdown = (s: string): string =>
  s
    .replace(/[\\`*_[\]|#~]/g, (c) => `\\${c}`)
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r?\n/g, ' ');

const LATEX: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '{': '\\{',
  '}': '\\}',
  $: '\\$',
  '&': '\\&',
  '#': '\\#',
  '%': '\\%',
  _: '\\_',
  '^': '\\textasciicircum{}',
  '~': '\\textasciitilde{}',
  '<': '\\textless{}',
  '>': '\\textgreater{}',
  '|': '\\textbar{}',
  // the few non-ASCII characters labels and papers use, so pdflatex needs no unicode setup
  'ε': '$\\varepsilon$',
  'α': '$\\alpha$',
  'Δ': '$\\Delta$',
  '₀': '$_0$',
  '±': '$\\pm$',
  '↑': '$\\uparrow$',
  '↓': '$\\downarrow$',
  '×': '$\\times$',
  '–': '--',
  '—': '---',
  '…': '\\ldots{}',
  '†': '\\dag{}',
  '‡': '\\ddag{}',
  '’': "'",
};
// a line break in user text would end a table row's source line, and a blank line a paragraph (an error inside a cell)
export const escapeLatex = (s: string): string => s.replace(/[\\{}$&#%_^~<>|εαΔ₀±↑↓×–—…†‡’]/g, (c) => LATEX[c] ?? c).replace(/\r\n?|\n/g, ' ');
