import { captionWords, grammarWords } from './caption-grammar.js';

export const PAD = '<pad>';
export const BOS = '<bos>';
export const EOS = '<eos>';
export const UNK = '<unk>';
export const PAD_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
export const UNK_ID = 3;

export interface Vocabulary {
  /** id → token: <pad> <bos> <eos> <unk>, then every grammar word sorted by code unit */
  readonly tokens: readonly string[];
  readonly ids: ReadonlyMap<string, number>;
}

let cached: Vocabulary | undefined;

/** the fixed word-level vocabulary of the synthetic caption grammar */
export function captionVocabulary(): Vocabulary {
  if (cached === undefined) {
    const tokens = [PAD, BOS, EOS, UNK, ...grammarWords()];
    cached = { tokens, ids: new Map(tokens.map((t, i) => [t, i])) };
  }
  return cached;
}

/**
 * Caption → `maxLen` token ids: <bos>, one id per word (lowercased, split on anything outside [a-z0-9], unknown
 * words → <unk>), <eos>, then <pad>. Too long: cut, and the last slot is forced to <eos> (as CLIP truncates).
 */
export function tokenize(caption: string, maxLen: number, vocab: Vocabulary = captionVocabulary()): Int32Array {
  if (!Number.isInteger(maxLen) || maxLen < 2) throw new RangeError(`maxLen must be an integer ≥ 2, got ${maxLen}`);
  const out = new Int32Array(maxLen); // zero-filled = <pad>
  const ids = [BOS_ID, ...captionWords(caption).map((w) => vocab.ids.get(w) ?? UNK_ID), EOS_ID];
  for (let i = 0; i < Math.min(ids.length, maxLen); i++) out[i] = ids[i] as number;
  if (ids.length > maxLen) out[maxLen - 1] = EOS_ID;
  return out;
}

/** a batch of captions as one row-major [n, maxLen] Int32Array */
export function tokenizeBatch(captions: readonly string[], maxLen: number, vocab: Vocabulary = captionVocabulary()): Int32Array {
  const out = new Int32Array(captions.length * maxLen);
  captions.forEach((c, i) => out.set(tokenize(c, maxLen, vocab), i * maxLen));
  return out;
}

/** ids → words, stopping at <eos> and skipping <bos>/<pad> */
export function detokenize(ids: ArrayLike<number>, vocab: Vocabulary = captionVocabulary()): string {
  const words: string[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as number;
    if (id === EOS_ID) break;
    if (id === BOS_ID || id === PAD_ID) continue;
    words.push(vocab.tokens[id] ?? UNK);
  }
  return words.join(' ');
}
