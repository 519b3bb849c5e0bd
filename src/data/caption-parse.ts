import { BadInputError } from '../errors.js';
import {
  BACKGROUND_NOUNS,
  COLOUR_AFTER_SHAPE,
  COLOUR_WORDS,
  FILLER_WORDS,
  POSITION_PHRASES,
  RELATION_PHRASES,
  RELATION_POSITIONS,
  SHAPE_WORDS,
  captionWords,
  type Relation,
} from './caption-grammar.js';
import { canonicalObjects, type Colour, type Position, type SceneAttributes, type Shape } from './synthetic-world.js';

type Lexeme =
  | { kind: 'colour'; value: Colour }
  | { kind: 'shape'; value: Shape }
  | { kind: 'noun' }
  | { kind: 'position'; value: Position }
  | { kind: 'relation'; value: Relation }
  | { kind: 'in' }
  | { kind: 'filler' };

interface Entry {
  words: string[];
  lexeme: Lexeme;
}

// built once: phrases indexed by their first word, longest first
const LEXICON: ReadonlyMap<string, Entry[]> = (() => {
  const entries: Entry[] = [];
  const add = (phrase: string, lexeme: Lexeme): void => {
    entries.push({ words: captionWords(phrase), lexeme });
  };
  for (const [value, words] of Object.entries(COLOUR_WORDS)) for (const w of words) add(w, { kind: 'colour', value: value as Colour });
  for (const [value, words] of Object.entries(SHAPE_WORDS)) for (const w of words) add(w, { kind: 'shape', value: value as Shape });
  for (const w of BACKGROUND_NOUNS) add(w, { kind: 'noun' });
  for (const [value, ps] of Object.entries(POSITION_PHRASES)) for (const p of ps) add(p, { kind: 'position', value: value as Position });
  for (const [value, ps] of Object.entries(RELATION_PHRASES)) for (const p of ps) add(p, { kind: 'relation', value: value as Relation });
  add(COLOUR_AFTER_SHAPE, { kind: 'in' });
  for (const w of FILLER_WORDS) add(w, { kind: 'filler' });
  const byFirst = new Map<string, Entry[]>();
  for (const e of entries) {
    const first = e.words[0] as string;
    const list = byFirst.get(first) ?? [];
    list.push(e);
    byFirst.set(first, list);
  }
  for (const list of byFirst.values()) list.sort((a, b) => b.words.length - a.words.length);
  return byFirst;
})();

function lex(words: readonly string[]): Lexeme[] {
  const out: Lexeme[] = [];
  let i = 0;
  while (i < words.length) {
    const candidates = LEXICON.get(words[i] as string);
    const match = candidates?.find((e) => e.words.every((w, k) => words[i + k] === w));
    if (match === undefined) throw new Error(`unknown word "${words[i]}"`);
    if (match.lexeme.kind !== 'filler') out.push(match.lexeme);
    i += match.words.length;
  }
  return out;
}

type Item =
  | { kind: 'object'; shape: Shape; colour: Colour }
  | { kind: 'background'; colour: Colour }
  | { kind: 'position'; value: Position }
  | { kind: 'relation'; value: Relation };

function group(lexemes: readonly Lexeme[]): Item[] {
  const items: Item[] = [];
  for (let i = 0; i < lexemes.length; i++) {
    const a = lexemes[i] as Lexeme;
    const b = lexemes[i + 1];
    if (a.kind === 'colour') {
      if (b?.kind === 'shape') items.push({ kind: 'object', shape: b.value, colour: a.value });
      else if (b?.kind === 'noun') items.push({ kind: 'background', colour: a.value });
      else throw new Error(`colour "${a.value}" is followed by neither a shape nor a background noun`);
      i++;
    } else if (a.kind === 'shape') {
      const c = lexemes[i + 2];
      if (b?.kind !== 'in' || c?.kind !== 'colour') throw new Error(`shape "${a.value}" has no colour`);
      items.push({ kind: 'object', shape: a.value, colour: c.value });
      i += 2;
    } else if (a.kind === 'position' || a.kind === 'relation') {
      items.push(a);
    } else {
      throw new Error(`misplaced "${a.kind === 'in' ? 'in' : 'background noun'}"`);
    }
  }
  return items;
}

export type ParseResult = { ok: true; attributes: SceneAttributes } | { ok: false; reason: string };

/**
 * Reads a caption of the synthetic grammar back into attributes (objects in canonical order). Accepted shapes,
 * after removing the one background phrase: `object position`, `object relation object`,
 * `object position object position`.
 */
export function tryParseCaption(text: string): ParseResult {
  try {
    const items = group(lex(captionWords(text)));
    const backgrounds = items.filter((it) => it.kind === 'background');
    if (backgrounds.length !== 1) throw new Error(`expected one background, found ${backgrounds.length}`);
    const background = (backgrounds[0] as { colour: Colour }).colour;
    const rest = items.filter((it) => it.kind !== 'background');
    const sig = rest.map((it) => it.kind).join(' ');
    const objects: { shape: Shape; colour: Colour; position: Position }[] = [];
    const obj = (k: number): { shape: Shape; colour: Colour } => rest[k] as { shape: Shape; colour: Colour };
    const pos = (k: number): Position => (rest[k] as { value: Position }).value;
    if (sig === 'object position') {
      objects.push({ ...pick(obj(0)), position: pos(1) });
    } else if (sig === 'object relation object') {
      const [p0, p1] = RELATION_POSITIONS[(rest[1] as { value: Relation }).value];
      objects.push({ ...pick(obj(0)), position: p0 }, { ...pick(obj(2)), position: p1 });
    } else if (sig === 'object position object position') {
      objects.push({ ...pick(obj(0)), position: pos(1) }, { ...pick(obj(2)), position: pos(3) });
    } else {
      throw new Error(`cannot read the structure "${sig}"`);
    }
    return { ok: true, attributes: { background, objects: canonicalObjects(objects) } };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

function pick(o: { shape: Shape; colour: Colour }): { shape: Shape; colour: Colour } {
  return { shape: o.shape, colour: o.colour };
}

/** like `tryParseCaption`, but a caption outside the grammar is a BadInputError */
export function parseCaption(text: string): SceneAttributes {
  const r = tryParseCaption(text);
  if (!r.ok) {
    throw new BadInputError('CAPTION_UNPARSABLE', `caption "${text}" is not in the synthetic grammar: ${r.reason}`);
  }
  return r.attributes;
}
