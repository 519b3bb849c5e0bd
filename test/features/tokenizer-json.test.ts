import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tokenizer } from '@huggingface/tokenizers';
import { generateSyntheticSet } from '../../src/data/index.js';
import { tokenize, EOS_ID, PAD_ID } from '../../src/data/tokenizer.js';
import { captionTokenizerJson } from '../../src/features/tokenizer-json.js';

test('the exported tokenizer.json, read by @huggingface/tokenizers, gives the ids tokenize() gives', () => {
  const tokenizer = new Tokenizer(captionTokenizerJson(24), {});
  const set = generateSyntheticSet({ seed: 11, nTrain: 60, nVal: 0 });
  const captions = set.train.images.flatMap((i) => i.captions.map((c) => c.caption));
  captions.push('An UNHEARD-of word, and punctuation!');
  for (const caption of captions) {
    const ours = Array.from(tokenize(caption, 24)).filter((id) => id !== PAD_ID);
    const theirs = tokenizer.encode(caption).ids;
    assert.deepEqual(theirs.slice(0, ours.length), ours, caption);
    assert.equal(ours.at(-1), EOS_ID);
  }
});
