// The cleaning transformers' CLIPTokenizer uses when ftfy is *not* installed: BERT's BasicTokenizer with
// strip_accents=False and do_split_on_punc=False, joined back with spaces. Differs from the ftfy path in that it
// drops every Unicode category C character (ZWJ, zero-width space, soft hyphen …), puts spaces around CJK
// ideographs (each becomes its own word) and neither unescapes HTML nor uncurls quotes nor splits ligatures.

// BasicTokenizer._is_chinese_char's blocks
const CJK = /([\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff\u{20000}-\u{2a6df}\u{2a700}-\u{2b73f}\u{2b740}-\u{2b81f}\u{2b820}-\u{2ceaf}\u{2f800}-\u{2fa1f}])/gu;
// python's str.split() separators left after the cleaning below (Zs became ' '; Zl, Zp remain)
const SPLIT = /[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;

/** " ".join(BasicTokenizer(strip_accents=False, do_split_on_punc=False).tokenize(text)) */
export const basicClean = (text: string): string => {
  let cleaned = '';
  for (const char of text) {
    // _clean_text: NUL, U+FFFD and control characters (category C, except \t \n \r) go; whitespace becomes ' '
    if (char === '\0' || char === '\ufffd') continue;
    if (char === ' ' || char === '\t' || char === '\n' || char === '\r' || /\p{Zs}/u.test(char)) cleaned += ' ';
    else if (!/\p{C}/u.test(char)) cleaned += char;
  }
  const words = cleaned.replace(CJK, ' $1 ').normalize('NFC').split(SPLIT).filter((w) => w !== '');
  return words.map((w) => w.toLowerCase()).join(' ');
};
