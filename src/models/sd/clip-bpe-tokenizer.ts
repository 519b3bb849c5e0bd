// The token ids Stable Diffusion pipelines feed their CLIP text encoder: transformers' slow CLIPTokenizer from
// vocab.json + merges.txt, called as tokenizer(prompt, padding="max_length", max_length=77, truncation=True).
//
// Written by hand rather than on @huggingface/tokenizers: that library can build the same BPE from vocab + merges
// (as transformers' CLIPTokenizerFast does), but it reproduces the fast tokenizer, whose normaliser is not the slow
// one's cleaning, and the slow tokenizer's order of work (special tokens cut out first, each piece between cleaned
// on its own) cannot be expressed with its normaliser. The BPE itself is ~40 lines.
//
// The slow tokenizer, step by step (transformers' PreTrainedTokenizer.tokenize and CLIPTokenizer._tokenize):
//  1. every special token string (bos, eos, unk and pad: SD 2.x's pad "!") is split out of the raw text and maps to
//     its id; so in SD 2.x every "!" in a prompt becomes id 0, not the "!</w>" BPE token (diffusers issue #4153);
//  2. each piece between is cleaned: with ftfy installed (SwiftBrush's requirements.txt lists it; open_clip_torch
//     depends on it) by ftfy.fix_text, then \s+ → ' ', strip, lower() — the default here; without ftfy by BERT's
//     BasicTokenizer (cleaning 'basic', see basic-clean.ts). open_clip's own tokenizer additionally html.unescape()s
//     twice (entities without ';' too) and does not split "!" out;
//  3. CLIP's pre-tokenisation regex, each match as UTF-8 bytes mapped to printable characters, BPE with '</w>' on
//     the last symbol, ids from vocab.json (unknown → unk);
//  4. truncation to bos + the first max_length − 2 tokens + eos, padding with the pad token's id.
import { BadInputError } from '../../errors.js';
import { basicClean } from './basic-clean.js';
import { fixText } from './text-fix.js';

/** the special token strings of a tokenizer folder (special_tokens_map.json / tokenizer_config.json) */
export interface ClipSpecialTokens {
  bos: string;
  eos: string;
  unk: string;
  pad: string;
}

/** transformers' CLIPTokenizer defaults (SD 1.x's files say the same; SD 2.x's special_tokens_map sets pad "!") */
export const CLIP_DEFAULT_SPECIAL_TOKENS: ClipSpecialTokens = {
  bos: '<|startoftext|>',
  eos: '<|endoftext|>',
  unk: '<|endoftext|>',
  pad: '<|endoftext|>',
};

export interface ClipBpeFiles {
  /** vocab.json parsed: token → id */
  vocab: ReadonlyMap<string, number>;
  /** merges.txt as text */
  merges: string;
  special: ClipSpecialTokens;
  /** tokenizer_config.json's model_max_length (77) */
  maxLength: number;
  /** names the files in errors */
  source: string;
  /** which of transformers' two cleanings: 'ftfy' (ftfy installed; default) or 'basic' (BasicTokenizer) */
  cleaning?: ClipTextCleaning;
}

/** transformers' CLIPTokenizer cleans with ftfy when it is installed, else with BERT's BasicTokenizer */
export type ClipTextCleaning = 'ftfy' | 'basic';

export interface ClipTokens {
  inputIds: Int32Array;
  /** 1 for bos, the tokens and eos; 0 for padding */
  attentionMask: Uint8Array;
}

// GPT-2's table: the printable bytes stand for themselves, the others for 256 + n in byte order
const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let n = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : 256 + n++));
})();

// Python's regex \s (Unicode White_Space); JS's \s differs at U+0085 and U+FEFF
const WS = '\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const WHITESPACE_RUN = new RegExp(`[${WS}]+`, 'gu');
const PRE_TOKEN = new RegExp(
  `<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^${WS}\\p{L}\\p{N}]+`,
  'giu',
);
const END_OF_WORD = '</w>';
// transformers reads at most this many merges (the CLIP vocabulary's 49152 − 256 bytes − 2 specials)
const MAX_MERGES = 49152 - 256 - 2;

const textBytes = new TextEncoder();

/** CLIPTokenizer._tokenize's cleaning (ftfy path): fix_text, whitespace runs to one space, strip, lower() */
export const clipClean = (text: string): string => fixText(text).replace(WHITESPACE_RUN, ' ').trim().toLowerCase();

export class ClipBpeTokenizer {
  private readonly cache = new Map<string, string[]>();

  private constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    /** "a b" → rank */
    private readonly ranks: ReadonlyMap<string, number>,
    readonly special: ClipSpecialTokens,
    readonly maxLength: number,
    readonly bosId: number,
    readonly eosId: number,
    readonly unkId: number,
    readonly padId: number,
    readonly cleaning: ClipTextCleaning,
  ) {
    // transformers' bpe cache starts with the two CLIP specials: the regex can match them after cleaning
    this.cache.set('<|startoftext|>', ['<|startoftext|>']);
    this.cache.set('<|endoftext|>', ['<|endoftext|>']);
  }

  static fromFiles(files: ClipBpeFiles): ClipBpeTokenizer {
    const ranks = new Map<string, number>();
    const lines = files.merges.trim().split('\n').slice(1, MAX_MERGES + 1);
    lines.forEach((line, rank) => {
      const parts = line.trim().split(/\s+/);
      if (parts.length !== 2) {
        throw new BadInputError('SD_TOKENIZER_MERGES', `${files.source}/merges.txt  line ${rank + 2}  expected two symbols, got '${line}'`);
      }
      // a repeated pair keeps its last rank, as python's dict(zip(merges, range(n))) does
      ranks.set(`${parts[0]} ${parts[1]}`, rank);
    });
    if (!Number.isInteger(files.maxLength) || files.maxLength < 2) {
      throw new BadInputError('SD_TOKENIZER_CONFIG', `${files.source}/tokenizer_config.json  model_max_length  must be an integer ≥ 2, got ${files.maxLength}`);
    }
    const id = (role: keyof ClipSpecialTokens): number => {
      const found = files.vocab.get(files.special[role]);
      if (found === undefined) {
        throw new BadInputError('SD_TOKENIZER_VOCAB', `${files.source}/vocab.json  ${files.special[role]}  the ${role} token is not in the vocabulary`);
      }
      return found;
    };
    return new ClipBpeTokenizer(files.vocab, ranks, files.special, files.maxLength, id('bos'), id('eos'), id('unk'), id('pad'), files.cleaning ?? 'ftfy');
  }

  /** BPE of one pre-token (already mapped to byte characters), as transformers' CLIPTokenizer.bpe */
  private bpe(token: string): string[] {
    const cached = this.cache.get(token);
    if (cached !== undefined) return cached;
    const chars = [...token];
    let word = [...chars.slice(0, -1), `${chars[chars.length - 1] ?? ''}${END_OF_WORD}`];
    while (word.length > 1) {
      // the lowest-ranked adjacent pair, then every non-overlapping occurrence of it, left to right
      let best: string | undefined;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < word.length; i++) {
        const rank = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = `${word[i]} ${word[i + 1]}`;
        }
      }
      if (best === undefined) break;
      const next: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i + 1 < word.length && `${word[i]} ${word[i + 1]}` === best) {
          next.push(`${word[i]}${word[i + 1]}`);
          i++;
        } else {
          next.push(word[i] as string);
        }
      }
      word = next;
    }
    this.cache.set(token, word);
    return word;
  }

  /** the BPE tokens of text holding no special token: cleaned, pre-tokenised, byte-mapped, merged */
  pieces(text: string): string[] {
    const out: string[] = [];
    const cleaned = this.cleaning === 'ftfy' ? clipClean(text) : basicClean(text);
    for (const match of cleaned.matchAll(PRE_TOKEN)) {
      let mapped = '';
      for (const byte of textBytes.encode(match[0])) mapped += BYTE_TO_CHAR[byte] as string;
      out.push(...this.bpe(mapped));
    }
    return out;
  }

  /** the ids of a prompt without bos/eos: special token strings cut out first, the rest BPE'd piece by piece */
  ids(text: string): number[] {
    const specials = [...new Set(Object.values(this.special))].sort((a, b) => b.length - a.length);
    const out: number[] = [];
    const addPieces = (piece: string): void => {
      for (const token of this.pieces(piece)) out.push(this.vocab.get(token) ?? this.unkId);
    };
    let start = 0;
    let pos = 0;
    while (pos < text.length) {
      const hit = specials.find((s) => s !== '' && text.startsWith(s, pos));
      if (hit === undefined) {
        pos++;
        continue;
      }
      addPieces(text.slice(start, pos));
      out.push(this.vocab.get(hit) as number);
      pos += hit.length;
      start = pos;
    }
    addPieces(text.slice(start));
    return out;
  }

  /** tokenizer(text, padding="max_length", max_length, truncation=True): bos, ≤ max_length − 2 tokens, eos, pads */
  encode(text: string): ClipTokens {
    const ids = [this.bosId, ...this.ids(text).slice(0, this.maxLength - 2), this.eosId];
    const inputIds = new Int32Array(this.maxLength).fill(this.padId);
    inputIds.set(ids);
    const attentionMask = new Uint8Array(this.maxLength);
    attentionMask.fill(1, 0, ids.length);
    return { inputIds, attentionMask };
  }

  /** rows × maxLength ids, row-major */
  encodeBatch(texts: readonly string[]): Int32Array {
    const out = new Int32Array(texts.length * this.maxLength);
    texts.forEach((t, i) => out.set(this.encode(t).inputIds, i * this.maxLength));
    return out;
  }
}
