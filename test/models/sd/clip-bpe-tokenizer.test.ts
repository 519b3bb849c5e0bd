import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromRoot } from '../../helpers/paths.js';
import { BadInputError } from '../../../src/errors.js';
import { clipClean } from '../../../src/models/sd/clip-bpe-tokenizer.js';
import { loadClipBpeTokenizer } from '../../../src/models/sd/tokenizer-folder.js';

interface Case {
  prompt: string;
  cleaned: string;
  sd2: number[];
  sd1: number[];
  attention_mask_sd2: number[];
  attention_mask_sd1: number[];
  open_clip: number[];
}
const golden = JSON.parse(readFileSync(fromRoot('test', 'golden', 'sd', 'clip-tokenizer.json'), 'utf8')) as { cases: Case[] };

// the CLIP vocabulary (the tiny SD 2 folder's, as open_clip builds it) laid out as a pipeline's tokenizer/ folder
const root = mkdtempSync(join(tmpdir(), 'clip-bpe-'));
const fixture = (name: string): Buffer => readFileSync(fromRoot('test', 'fixtures', 'sd', 'tiny-sd2', 'tokenizer', name));
const folder = (name: string, files: Record<string, unknown>, withMerges = true): string => {
  const dir = join(root, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'vocab.json'), fixture('vocab.json'));
  if (withMerges) writeFileSync(join(dir, 'merges.txt'), fixture('merges.txt'));
  for (const [file, json] of Object.entries(files)) writeFileSync(join(dir, file), JSON.stringify(json));
  return dir;
};


const addedToken = (content: string) => ({ __type: 'AddedToken', content, lstrip: false, normalized: true, rstrip: false, single_word: false });
// as stabilityai/stable-diffusion-2-1-base ships them: the config says pad <|endoftext|>, the map says "!"
const sd2 = loadClipBpeTokenizer(
  folder('sd2', {
    'tokenizer_config.json': { bos_token: addedToken('<|startoftext|>'), eos_token: addedToken('<|endoftext|>'), unk_token: addedToken('<|endoftext|>'), pad_token: '<|endoftext|>', model_max_length: 77, do_lower_case: true },
    'special_tokens_map.json': { bos_token: addedToken('<|startoftext|>'), eos_token: addedToken('<|endoftext|>'), unk_token: addedToken('<|endoftext|>'), pad_token: '!' },
  }),
);
// SD 1.x: pad is <|endoftext|>
const sd1 = loadClipBpeTokenizer(
  folder('sd1', {
    'tokenizer_config.json': { bos_token: addedToken('<|startoftext|>'), eos_token: addedToken('<|endoftext|>'), unk_token: addedToken('<|endoftext|>'), pad_token: '<|endoftext|>', model_max_length: 77 },
    'special_tokens_map.json': { bos_token: '<|startoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', pad_token: '<|endoftext|>' },
  }),
);
test.after(() => rmSync(root, { recursive: true, force: true }));

test('special token ids: bos 49406, eos 49407; SD 2 pads with "!" (0), SD 1 with eos', () => {
  assert.deepEqual([sd2.bosId, sd2.eosId, sd2.padId, sd2.maxLength], [49406, 49407, 0, 77]);
  assert.deepEqual([sd1.bosId, sd1.eosId, sd1.padId, sd1.maxLength], [49406, 49407, 49407, 77]);
});

test('the cleaning equals ftfy.fix_text + whitespace_clean + lower() on every golden prompt', () => {
  for (const c of golden.cases) assert.equal(clipClean(c.prompt), c.cleaned, JSON.stringify(c.prompt));
});

test('input ids and attention masks equal the goldens, SD 2 and SD 1 layouts', () => {
  assert.ok(golden.cases.length >= 30);
  for (const c of golden.cases) {
    const two = sd2.encode(c.prompt);
    const one = sd1.encode(c.prompt);
    assert.deepEqual([...two.inputIds], c.sd2, `sd2 ${JSON.stringify(c.prompt)}`);
    assert.deepEqual([...two.attentionMask], c.attention_mask_sd2, `sd2 mask ${JSON.stringify(c.prompt)}`);
    assert.deepEqual([...one.inputIds], c.sd1, `sd1 ${JSON.stringify(c.prompt)}`);
    assert.deepEqual([...one.attentionMask], c.attention_mask_sd1, `sd1 mask ${JSON.stringify(c.prompt)}`);
  }
});

test('SD 2 reads every "!" as the pad token, unlike open_clip (diffusers issue #4153)', () => {
  const ids = [...sd2.encode('! !! !!!').inputIds];
  assert.deepEqual(ids.slice(0, 8), [49406, 0, 0, 0, 0, 0, 0, 49407]);
  assert.deepEqual(sd1.ids('! !! !!!'), [256, 748, 995]);
});

test('truncation keeps bos, the first 75 tokens and eos', () => {
  const long = Array.from({ length: 100 }, (_, i) => `word${i % 10}`).join(' ');
  const all = sd2.ids(long);
  assert.ok(all.length > 75);
  const { inputIds, attentionMask } = sd2.encode(long);
  assert.deepEqual([...inputIds], [49406, ...all.slice(0, 75), 49407]);
  assert.equal(attentionMask.reduce((a, b) => a + b, 0), 77);
  assert.deepEqual([...sd2.encode('').inputIds.slice(0, 3)], [49406, 49407, 0]);
});

test('a folder without merges.txt is bad input naming the file', () => {
  const dir = folder('no-merges', {}, false);
  assert.throws(
    () => loadClipBpeTokenizer(dir),
    (err: unknown) => err instanceof BadInputError && err.code === 'SD_TOKENIZER_FILE' && err.message.includes(join(dir, 'merges.txt')),
  );
});

test('a special token outside the vocabulary, or a malformed config, is bad input naming file and key', () => {
  const dir = folder('bad-pad', { 'special_tokens_map.json': { pad_token: '<pad>' } });
  assert.throws(() => loadClipBpeTokenizer(dir), /vocab\.json {2}<pad> {2}the pad token is not in the vocabulary/);
  const bad = folder('bad-config', { 'tokenizer_config.json': { model_max_length: 'long' } });
  assert.throws(() => loadClipBpeTokenizer(bad), /tokenizer_config\.json {2}model_max_length {2}/);
});

// the goldens helper's file (test/golden/sd/tokenizer.json, same name on its branch): transformers without ftfy
interface BasicCase {
  prompt: string;
  sd2_ids: number[];
  sd1_ids: number[];
}
test("cleaning 'basic' (transformers without ftfy) equals the BasicTokenizer goldens, SD 2 and SD 1", () => {
  const basic = JSON.parse(readFileSync(fromRoot('test', 'golden', 'sd', 'tokenizer.json'), 'utf8')) as { cases: BasicCase[] };
  const sd2Basic = loadClipBpeTokenizer(join(root, 'sd2'), { cleaning: 'basic' });
  const sd1Basic = loadClipBpeTokenizer(join(root, 'sd1'), { cleaning: 'basic' });
  assert.ok(basic.cases.length >= 20);
  for (const c of basic.cases) {
    assert.deepEqual([...sd2Basic.encode(c.prompt).inputIds], c.sd2_ids, `sd2 ${JSON.stringify(c.prompt)}`);
    assert.deepEqual([...sd1Basic.encode(c.prompt).inputIds], c.sd1_ids, `sd1 ${JSON.stringify(c.prompt)}`);
  }
});
