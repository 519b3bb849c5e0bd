// CLIP text tokens from a tokenizer.json (@huggingface/tokenizers, pure js), laid out as open_clip.tokenize does:
// [start-of-text] + tokens + [end-of-text], cut to the context length with end-of-text forced into the last slot,
// zero padded.
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { BadInputError } from '../../errors.js';

export const CLIP_CONTEXT_LENGTH = 77;

// open_clip cleans with ftfy + html unescape, collapses whitespace and lower-cases; the tokenizer.json normaliser
// does NFC + whitespace + lowercase. we add the whitespace trim and the common html entities (ftfy is not ported:
// only mojibake repairs differ).
const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&apos;': "'" };
export function cleanCaption(text: string): string {
  let t = text;
  for (let i = 0; i < 2; i++) t = t.replace(/&(amp|lt|gt|quot|apos|#39);/g, (m) => ENTITIES[m] ?? m);
  return t.replace(/\s+/g, ' ').trim().toLowerCase();
}

export class ClipTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    /** id of <|startoftext|> */
    readonly sot: number,
    /** id of <|endoftext|> */
    readonly eot: number,
    readonly contextLength: number,
  ) {}

  static fromJson(json: unknown, contextLength = CLIP_CONTEXT_LENGTH, name = 'tokenizer.json'): ClipTokenizer {
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(json as object, {});
    } catch (err) {
      throw new BadInputError('TOKENIZER_BAD', `cannot build a tokenizer from ${name}: ${(err as Error).message}`);
    }
    const sot = tokenizer.token_to_id('<|startoftext|>');
    const eot = tokenizer.token_to_id('<|endoftext|>');
    if (sot === undefined || eot === undefined) {
      throw new BadInputError('TOKENIZER_BAD', `${name} has no <|startoftext|> / <|endoftext|> tokens: not a CLIP tokenizer`);
    }
    if (!Number.isInteger(contextLength) || contextLength < 2) throw new RangeError(`context length must be >= 2, got ${contextLength}`);
    return new ClipTokenizer(tokenizer, sot, eot, contextLength);
  }

  static fromFile(path: string, contextLength = CLIP_CONTEXT_LENGTH): ClipTokenizer {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new BadInputError('TOKENIZER_UNREADABLE', `cannot read tokenizer ${path}: ${(err as Error).message}`);
    }
    return ClipTokenizer.fromJson(json, contextLength, path);
  }

  /** the bpe ids of a caption, without start/end tokens */
  pieces(text: string): number[] {
    return this.tokenizer.encode(cleanCaption(text), { add_special_tokens: false }).ids;
  }

  /** one row of contextLength ids (open_clip truncation: the last kept slot becomes end-of-text). */
  encode(text: string): Int32Array {
    const ids = [this.sot, ...this.pieces(text), this.eot];
    const row = new Int32Array(this.contextLength);
    if (ids.length > this.contextLength) {
      ids.length = this.contextLength;
      ids[this.contextLength - 1] = this.eot;
    }
    row.set(ids);
    return row;
  }

  /** rows x contextLength ids, row-major */
  encodeBatch(texts: readonly string[]): Int32Array {
    const out = new Int32Array(texts.length * this.contextLength);
    texts.forEach((t, i) => out.set(this.encode(t), i * this.contextLength));
    return out;
  }
}
