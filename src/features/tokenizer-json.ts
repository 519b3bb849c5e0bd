import { BOS_ID, captionVocabulary, EOS_ID, PAD, UNK } from '../data/tokenizer.js';

// CLIP's names for start and end of text, so the file reads as a CLIP tokenizer (ids stay 1 and 2)
const BOS = '<|startoftext|>';
const EOS = '<|endoftext|>';

/**
 * The embedded caption vocabulary as a Hugging Face `tokenizer.json`, so CLIP score loads the embedded text
 * tower's tokenizer exactly as it loads open_clip's. WordPiece over whole words is word-level here: every
 * word the grammar emits is in the vocabulary, anything else is <unk>. Equal ids to `tokenize()` (tested).
 */
export function captionTokenizerJson(maxLength: number): Record<string, unknown> {
  const vocab = captionVocabulary();
  return {
    version: '1.0',
    truncation: { direction: 'Right', max_length: maxLength, strategy: 'LongestFirst', stride: 0 },
    padding: { strategy: { Fixed: maxLength }, direction: 'Right', pad_to_multiple_of: null, pad_id: 0, pad_type_id: 0, pad_token: PAD },
    added_tokens: [PAD, BOS, EOS, UNK].map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'Split', pattern: { Regex: '[^a-z0-9]+' }, behavior: 'Removed', invert: false },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: BOS, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: EOS, type_id: 0 } }],
      pair: [{ SpecialToken: { id: BOS, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 0 } }, { SpecialToken: { id: EOS, type_id: 0 } }],
      special_tokens: {
        [BOS]: { id: BOS, ids: [BOS_ID], tokens: [BOS] },
        [EOS]: { id: EOS, ids: [EOS_ID], tokens: [EOS] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: UNK,
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.tokens.map((t, i) => [i === BOS_ID ? BOS : i === EOS_ID ? EOS : t, i])),
    },
  };
}
