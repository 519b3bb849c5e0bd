// ftfy.fix_text (6.x, default settings) as transformers' CLIPTokenizer applies it before BPE, less the mojibake
// repair (fix_encoding: re-decoding text that was decoded with the wrong codec), which needs ftfy's codec tables and
// heuristics. Ported: the per-line segments, HTML entities ('auto': not from the first line holding a '<' on),
// C1 controls as windows-1252, Latin ligatures, full/half-width forms, curly quotes, line breaks, lone surrogates,
// terminal escapes, control characters, NFC; all repeated until nothing changes, as ftfy does. Named entities are
// the HTML 4 Latin-1 set and the common typographic ones (ftfy knows all of HTML5's); numeric ones are complete.

// U+00A0..U+00FF in order (HTML 4)
const LATIN1_NAMES = (
  'nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn sup2 sup3 acute micro ' +
  'para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute Acirc Atilde Auml Aring AElig Ccedil ' +
  'Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde Ouml times Oslash Ugrave ' +
  'Uacute Ucirc Uuml Yacute THORN szlig agrave aacute acirc atilde auml aring aelig ccedil egrave eacute ecirc euml ' +
  'igrave iacute icirc iuml eth ntilde ograve oacute ocirc otilde ouml divide oslash ugrave uacute ucirc uuml yacute thorn yuml'
).split(' ');

const OTHER_ENTITIES: Record<string, number> = {
  amp: 0x26, lt: 0x3c, gt: 0x3e, quot: 0x22, apos: 0x27, hellip: 0x2026, mdash: 0x2014, ndash: 0x2013,
  lsquo: 0x2018, rsquo: 0x2019, sbquo: 0x201a, ldquo: 0x201c, rdquo: 0x201d, bdquo: 0x201e, lsaquo: 0x2039,
  rsaquo: 0x203a, trade: 0x2122, euro: 0x20ac, bull: 0x2022, dagger: 0x2020, Dagger: 0x2021, permil: 0x2030,
  prime: 0x2032, Prime: 0x2033, OElig: 0x152, oelig: 0x153, Scaron: 0x160, scaron: 0x161, Yuml: 0x178, fnof: 0x192,
  circ: 0x2c6, tilde: 0x2dc, ensp: 0x2002, emsp: 0x2003, thinsp: 0x2009, zwnj: 0x200c, zwj: 0x200d, lrm: 0x200e,
  rlm: 0x200f, larr: 0x2190, uarr: 0x2191, rarr: 0x2192, darr: 0x2193, harr: 0x2194, minus: 0x2212, infin: 0x221e,
  ne: 0x2260, le: 0x2264, ge: 0x2265, hearts: 0x2665, spades: 0x2660, clubs: 0x2663, diams: 0x2666,
};

const ENTITIES: ReadonlyMap<string, string> = (() => {
  const named = new Map<string, string>();
  LATIN1_NAMES.forEach((name, i) => named.set(name, String.fromCodePoint(0xa0 + i)));
  for (const [name, cp] of Object.entries(OTHER_ENTITIES)) named.set(name, String.fromCodePoint(cp));
  // ftfy also reads an all-caps spelling of a lower-case name (P&EACUTE;REZ) as the upper-case letter
  for (const [name, char] of [...named]) {
    const upper = name.toUpperCase();
    if (name === name.toLowerCase() && !named.has(upper)) named.set(upper, char.toUpperCase());
  }
  return named;
})();

// windows-1252 at 0x80..0x9F; its five holes stay as they are ("sloppy" windows-1252)
const CP1252_C1 = '€\x81‚ƒ„…†‡ˆ‰Š‹Œ\x8dŽ\x8f\x90‘’“”•–—˜™š›œ\x9džŸ';

// python's html.unescape for a numeric reference
const numericReference = (num: number): string => {
  if (num === 0) return '\ufffd';
  if (num === 0x0d) return '\r';
  if (num >= 0x80 && num <= 0x9f) return CP1252_C1[num - 0x80] as string;
  if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return '\ufffd';
  const invalid =
    (num >= 0x1 && num <= 0x8) || num === 0xb || (num >= 0xe && num <= 0x1f) || (num >= 0x7f && num <= 0x9f) ||
    (num >= 0xfdd0 && num <= 0xfdef) || (num & 0xfffe) === 0xfffe;
  return invalid ? '' : String.fromCodePoint(num);
};

const unescapeEntity = (entity: string): string => {
  const known = ENTITIES.get(entity.slice(1, -1));
  if (known !== undefined) return known;
  const numeric = /^&#(?:([0-9]+)|[xX]([0-9a-fA-F]+));$/.exec(entity);
  if (numeric === null) return entity;
  const num = numeric[1] !== undefined ? Number(numeric[1]) : parseInt(numeric[2] as string, 16);
  return numericReference(num);
};

const LIGATURES: Record<string, string> = {
  'Ĳ': 'IJ', 'ĳ': 'ij', 'ŉ': 'ʼn', 'Ǳ': 'DZ', 'ǲ': 'Dz', 'ǳ': 'dz', 'Ǆ': 'DŽ', 'ǅ': 'Dž', 'ǆ': 'dž', 'Ǉ': 'LJ', 'ǈ': 'Lj',
  'ǉ': 'lj', 'Ǌ': 'NJ', 'ǋ': 'Nj', 'ǌ': 'nj', 'ﬀ': 'ff', 'ﬁ': 'fi', 'ﬂ': 'fl', 'ﬃ': 'ffi', 'ﬄ': 'ffl', 'ﬅ': 'ſt', 'ﬆ': 'st',
};

// ftfy's width map: NFKC of U+FF01..U+FFEF, and the ideographic space as a space
const widthForm = (char: string): string => (char === '\u3000' ? ' ' : char.normalize('NFKC'));

const fixSegment = (segment: string, unescapeHtml: boolean): string => {
  let text = segment;
  for (;;) {
    const before = text;
    if (unescapeHtml) text = text.replace(/&#?[0-9A-Za-z]{1,24};/g, unescapeEntity);
    text = text
      .replace(/[\x80-\x9f]/g, (c) => CP1252_C1[c.charCodeAt(0) - 0x80] as string)
      .replace(/[Ĳĳŉ\u01c4-\u01cc\u01f1-\u01f3ﬀ-ﬆ]/g, (c) => LIGATURES[c] ?? c)
      .replace(/[\u3000\uff01-\uffef]/g, widthForm)
      .replace(/[\u201c-\u201f]/g, '"')
      .replace(/[\u02bc\u2018-\u201b]/g, "'")
      .replace(/\r\n|[\r\u2028\u2029\u0085]/g, '\n')
      .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
      .replace(/\x1b\[((?:\d|;)*)([a-zA-Z])/g, '')
      .replace(/[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g, '')
      .normalize('NFC');
    if (text === before) return text;
  }
};

/** ftfy.fix_text(text) with default settings, without the mojibake repair (see the top of this file) */
export const fixText = (text: string): string => {
  let unescapeHtml = true;
  let out = '';
  let pos = 0;
  while (pos < text.length) {
    const newline = text.indexOf('\n', pos);
    const end = newline < 0 ? text.length : newline + 1;
    const segment = text.slice(pos, end);
    // ftfy turns HTML unescaping off for good at the first line that looks like markup
    if (segment.includes('<')) unescapeHtml = false;
    out += fixSegment(segment, unescapeHtml);
    pos = end;
  }
  return out;
};
