import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BOS_ID, EOS_ID, PAD_ID, UNK_ID, captionVocabulary, detokenize, tokenize, tokenizeBatch } from '../../src/data/tokenizer.js';
import { captionWords } from '../../src/data/caption-grammar.js';
import { generateSyntheticSet } from '../../src/data/synthetic-set.js';

test('vocabulary: specials first, then sorted unique grammar words', () => {
  const v = captionVocabulary();
  assert.deepEqual(v.tokens.slice(0, 4), ['<pad>', '<bos>', '<eos>', '<unk>']);
  assert.deepEqual([PAD_ID, BOS_ID, EOS_ID, UNK_ID], [0, 1, 2, 3]);
  const words = v.tokens.slice(4);
  assert.deepEqual(words, [...words].sort());
  assert.equal(new Set(words).size, words.length);
  for (const w of ['red', 'crimson', 'circle', 'plus', 'sign', 'backdrop', 'above', 'left', 'an']) assert.ok(v.ids.has(w), w);
});

test('every word of generated captions is in the vocabulary', () => {
  const v = captionVocabulary();
  const set = generateSyntheticSet({ seed: 3, nTrain: 200, nVal: 0 });
  for (const img of set.train.images) for (const c of img.captions) for (const w of captionWords(c.caption)) assert.ok(v.ids.has(w), `${w} in "${c.caption}"`);
});

test('tokenize pads, marks ends, maps unknown words and truncates with <eos> last', () => {
  const v = captionVocabulary();
  const t = tokenize('A Crimson disk, at left; blue backdrop.', 12);
  assert.ok(t instanceof Int32Array);
  const id = (w: string): number => v.ids.get(w) as number;
  assert.deepEqual(Array.from(t), [BOS_ID, id('a'), id('crimson'), id('disk'), id('at'), id('left'), id('blue'), id('backdrop'), EOS_ID, 0, 0, 0]);
  assert.equal(detokenize(t), 'a crimson disk at left blue backdrop');
  assert.deepEqual(Array.from(tokenize('a zebra', 5)), [BOS_ID, id('a'), UNK_ID, EOS_ID, PAD_ID]);
  const cut = tokenize('a red circle on the left of a blue background', 5);
  assert.deepEqual(Array.from(cut), [BOS_ID, id('a'), id('red'), id('circle'), EOS_ID]);
  const batch = tokenizeBatch(['a red circle', 'blue'], 6);
  assert.equal(batch.length, 12);
  assert.deepEqual(Array.from(batch.subarray(6)), [BOS_ID, id('blue'), EOS_ID, 0, 0, 0]);
  assert.throws(() => tokenize('x', 1), RangeError);
});
