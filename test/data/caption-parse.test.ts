import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSyntheticSet } from '../../src/data/synthetic-set.js';
import { parseCaption, tryParseCaption } from '../../src/data/caption-parse.js';
import { generateCaptions } from '../../src/data/caption-generate.js';
import {
  BACKGROUND_NOUNS,
  COLOUR_WORDS,
  PAIR_TEMPLATES,
  POSITION_PHRASES,
  POSITION_PHRASES_WITHOUT_OF,
  RELATION_PHRASES,
  RELATION_POSITIONS,
  SHAPE_WORDS,
  SINGLE_TEMPLATES,
} from '../../src/data/caption-grammar.js';
import { Xoshiro128ss } from '../../src/data/random.js';
import { BadInputError } from '../../src/errors.js';
import { COLOURS, POSITIONS, SHAPES, attributesKey, type Colour, type Position, type SceneAttributes, type Shape } from '../../src/data/synthetic-world.js';

test('every generated caption parses back to its image attributes', () => {
  const set = generateSyntheticSet({ seed: 11, nTrain: 400, nVal: 100 });
  let n = 0;
  for (const img of [...set.train.images, ...set.val.images]) {
    assert.equal(img.captions.length, 5);
    assert.equal(new Set(img.captions.map((c) => c.caption)).size, 5, 'captions of an image differ');
    for (const c of img.captions) {
      const r = tryParseCaption(c.caption);
      assert.ok(r.ok, `${c.caption}: ${r.ok ? '' : r.reason}`);
      assert.deepEqual(r.attributes, img.attributes, c.caption);
      n++;
    }
  }
  assert.equal(n, 2500);
});

// one caption per phrase of every slot, so no word of the grammar is left untested
test('every phrase of every slot round-trips', () => {
  const cases: { caption: string; want: SceneAttributes }[] = [];
  const single = (colourWord: string, shapeWord: string, pos: string, bgWord: string, noun: string): string =>
    `a ${colourWord} ${shapeWord} ${pos} against a ${bgWord} ${noun}`;
  const obj = (shape: Shape, colour: Colour, position: Position) => ({ shape, colour, position });
  for (const colour of COLOURS) {
    const other: Colour = colour === 'blue' ? 'red' : 'blue';
    for (const w of COLOUR_WORDS[colour]) {
      cases.push({ caption: single(w, 'circle', 'on the left', other, 'background'), want: { background: other, objects: [obj('circle', colour, 'left')] } });
      cases.push({ caption: `a circle in ${other} at the top against a ${w} canvas`, want: { background: colour, objects: [obj('circle', other, 'top')] } });
    }
  }
  for (const shape of SHAPES) for (const w of SHAPE_WORDS[shape]) cases.push({ caption: single('red', w, 'at the bottom', 'white', 'backdrop'), want: { background: 'white', objects: [obj(shape, 'red', 'bottom')] } });
  for (const noun of BACKGROUND_NOUNS) cases.push({ caption: single('red', 'box', 'in the middle', 'white', noun), want: { background: 'white', objects: [obj('square', 'red', 'centre')] } });
  for (const position of POSITIONS) {
    for (const p of POSITION_PHRASES[position]) {
      for (const tpl of SINGLE_TEMPLATES) {
        if (tpl.includes('{Q}') && POSITION_PHRASES_WITHOUT_OF.has(p)) continue;
        const caption = tpl.replace('{O}', 'a green ring').replace(/\{[PQ]\}/, p).replace('{B}', 'black').replace('{N}', 'background');
        cases.push({ caption, want: { background: 'black', objects: [obj('ring', 'green', position)] } });
      }
    }
  }
  for (const [rel, phrases] of Object.entries(RELATION_PHRASES)) {
    const [p0, p1] = RELATION_POSITIONS[rel as keyof typeof RELATION_POSITIONS];
    for (const r of phrases) {
      for (const tpl of PAIR_TEMPLATES) {
        const caption = tpl
          .replace('{O1}', 'a yellow triangle')
          .replace('{O2}', 'a cross in purple')
          .replace('{R}', r)
          .replace('{P1}', POSITION_PHRASES[p0][0] as string)
          .replace('{P2}', POSITION_PHRASES[p1][1] as string)
          .replace('{B}', 'orange')
          .replace('{N}', 'canvas')
          .replace(/\ba (?=[aeiou])/g, 'an ');
        const objects = [obj('triangle', 'yellow', p0), obj('cross', 'purple', p1)];
        objects.sort((a, b) => POSITIONS.indexOf(a.position) - POSITIONS.indexOf(b.position));
        cases.push({ caption, want: { background: 'orange', objects } });
      }
    }
  }
  assert.ok(cases.length > 150);
  for (const { caption, want } of cases) {
    const r = tryParseCaption(caption);
    assert.ok(r.ok, `${caption}: ${r.ok ? '' : r.reason}`);
    assert.equal(attributesKey(r.attributes), attributesKey(want), caption);
  }
});

test('a relation and its converse give the same attributes', () => {
  const a = parseCaption('A red circle above a blue square on a white background.');
  const b = parseCaption('a blue box beneath a crimson disk, ivory canvas');
  const c = parseCaption('a blue square at the bottom and a red circle near the top against a white backdrop');
  assert.deepEqual(a, b);
  assert.deepEqual(a, c);
  assert.deepEqual(a.objects.map((o) => o.position), ['top', 'bottom']);
  const d = parseCaption('a green square to the right of a yellow triangle on a black background');
  assert.deepEqual(d.objects, [
    { shape: 'triangle', colour: 'yellow', position: 'left' },
    { shape: 'square', colour: 'green', position: 'right' },
  ]);
});

test('captions outside the grammar are rejected with a reason', () => {
  for (const bad of [
    'a red circle on the left', // no background
    'a red circle on a blue background', // no position
    'a red elephant on the left of a blue background', // unknown word
    'a red circle above on a blue background',
    'red blue circle at left, green backdrop',
    '',
  ]) {
    const r = tryParseCaption(bad);
    assert.equal(r.ok, false, bad);
  }
  assert.throws(() => parseCaption('a photo of a cat'), (e: unknown) => e instanceof BadInputError && e.code === 'CAPTION_UNPARSABLE' && /cat/.test(e.message));
});

test('generateCaptions can make more captions than there are templates', () => {
  const rng = Xoshiro128ss.fromSeed(5);
  const attrs: SceneAttributes = { background: 'white', objects: [{ shape: 'ring', colour: 'red', position: 'centre' }] };
  const caps = generateCaptions(rng, attrs, 12);
  assert.equal(new Set(caps).size, 12);
  for (const c of caps) assert.deepEqual(parseCaption(c), attrs);
});
