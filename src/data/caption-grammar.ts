/**
 * The caption grammar of the synthetic world, shared by the caption generator, the parser and the tokenizer.
 *
 * Lexing: a caption is lowercased, every run of characters outside [a-z0-9] becomes a space, and the words are
 * matched left to right against the phrases below, longest phrase first. Colour, shape, background-noun, position
 * and relation phrases carry meaning; `in` directly after a shape introduces its colour ("a circle in red");
 * FILLER words carry none. The phrase sets are built so that longest-match lexing recovers exactly the phrases
 * the generator joined (no phrase of one kind is a prefix of a caption fragment meaning another thing); the
 * round-trip test checks every phrase.
 */
import type { Colour, Position, Shape } from './synthetic-world.js';

/** first word of each list is the plain name */
export const COLOUR_WORDS: Readonly<Record<Colour, readonly string[]>> = {
  red: ['red', 'crimson', 'scarlet'],
  orange: ['orange', 'tangerine', 'amber'],
  yellow: ['yellow', 'golden', 'lemon'],
  green: ['green', 'emerald', 'jade'],
  blue: ['blue', 'azure', 'cobalt'],
  purple: ['purple', 'violet', 'plum'],
  white: ['white', 'ivory', 'snowy'],
  black: ['black', 'ebony', 'inky'],
};

export const SHAPE_WORDS: Readonly<Record<Shape, readonly string[]>> = {
  circle: ['circle', 'disk', 'disc'],
  square: ['square', 'box', 'block'],
  triangle: ['triangle', 'wedge'],
  cross: ['cross', 'plus sign', 'plus'],
  ring: ['ring', 'hoop', 'donut'],
};

export const BACKGROUND_NOUNS = ['background', 'backdrop', 'canvas'] as const;

/** where one object is, as a phrase that follows the object (the {P} slots) */
export const POSITION_PHRASES: Readonly<Record<Position, readonly string[]>> = {
  left: ['on the left', 'at the left', 'at left', 'on the left side'],
  right: ['on the right', 'at the right', 'at right', 'on the right side'],
  top: ['at the top', 'near the top', 'up top', 'in the upper half'],
  bottom: ['at the bottom', 'near the bottom', 'down low', 'in the lower half'],
  centre: ['in the centre', 'in the center', 'in the middle', 'at the centre'],
  'top-left': ['in the top left corner', 'at the top left', 'in the upper left'],
  'top-right': ['in the top right corner', 'at the top right', 'in the upper right'],
  'bottom-left': ['in the bottom left corner', 'at the bottom left', 'in the lower left'],
  'bottom-right': ['in the bottom right corner', 'at the bottom right', 'in the lower right'],
};

/** position phrases that read badly before "of a ... background" and are left out of the {Q} slot */
export const POSITION_PHRASES_WITHOUT_OF: ReadonlySet<string> = new Set(['at left', 'at right', 'up top', 'down low']);

/** how the first-named object of a pair sits relative to the second */
export const RELATIONS = ['above', 'below', 'left-of', 'right-of'] as const;
export type Relation = (typeof RELATIONS)[number];

export const RELATION_PHRASES: Readonly<Record<Relation, readonly string[]>> = {
  above: ['above'],
  below: ['below', 'beneath', 'under', 'underneath'],
  'left-of': ['to the left of', 'left of'],
  'right-of': ['to the right of', 'right of'],
};

/** positions a relation puts the (first, second) object at */
export const RELATION_POSITIONS: Readonly<Record<Relation, readonly [Position, Position]>> = {
  above: ['top', 'bottom'],
  below: ['bottom', 'top'],
  'left-of': ['left', 'right'],
  'right-of': ['right', 'left'],
};

export const COLOUR_AFTER_SHAPE = 'in';

/**
 * Templates. Slots: {O} object phrase, {P} its position, {Q} its position
 * where it reads well before "of", {O1} {R} {O2} a related pair, {P1} {P2} positions of
 * the pair's objects, {B} background colour word, {N} background noun. Every `a` becomes `an` before a vowel.
 */
export const SINGLE_TEMPLATES = [
  '{O} {Q} of a {B} {N}',
  '{O} {P}, {B} {N}',
  '{O} {P} against a {B} {N}',
  'a {B} {N} with {O} {P}',
  'there is {O} {P} on a {B} {N}',
  'an image of {O} {P} on a {B} {N}',
] as const;

export const PAIR_TEMPLATES = [
  '{O1} {R} {O2} on a {B} {N}',
  '{O1} {R} {O2}, {B} {N}',
  'a {B} {N} with {O1} {R} {O2}',
  '{O1} {P1} and {O2} {P2} against a {B} {N}',
  'two shapes on a {B} {N}: {O1} {R} {O2}',
  'there is {O1} {R} {O2} on a {B} {N}',
] as const;

/** object phrase forms: article + colour word + shape, or article + shape + "in" + plain colour name ({K}) */
export const OBJECT_FORMS = ['a {C} {S}', 'a {S} in {K}'] as const;

/** words that carry no attribute */
export const FILLER_WORDS = ['a', 'an', 'the', 'of', 'on', 'against', 'with', 'there', 'is', 'and', 'two', 'shapes', 'image'] as const;

/** lowercases and splits into words: runs of characters outside [a-z0-9] separate words */
export function captionWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()
    .split(' ')
    .filter((w) => w.length > 0);
}

/** every word the generator can emit, sorted by code unit, without duplicates */
export function grammarWords(): string[] {
  const phrases: string[] = [
    ...Object.values(COLOUR_WORDS).flat(),
    ...Object.values(SHAPE_WORDS).flat(),
    ...BACKGROUND_NOUNS,
    ...Object.values(POSITION_PHRASES).flat(),
    ...Object.values(RELATION_PHRASES).flat(),
    COLOUR_AFTER_SHAPE,
    ...FILLER_WORDS,
    ...[...SINGLE_TEMPLATES, ...PAIR_TEMPLATES, ...OBJECT_FORMS].map((t) => t.replace(/\{[A-Z0-9]+\}/g, ' ')),
  ];
  const words = new Set(phrases.flatMap(captionWords));
  return [...words].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
