import {
  BACKGROUND_NOUNS,
  COLOUR_WORDS,
  OBJECT_FORMS,
  PAIR_TEMPLATES,
  POSITION_PHRASES,
  POSITION_PHRASES_WITHOUT_OF,
  RELATION_PHRASES,
  SHAPE_WORDS,
  SINGLE_TEMPLATES,
  type Relation,
} from './caption-grammar.js';
import type { Xoshiro128ss } from './random.js';
import type { Position, SceneAttributes, SceneObject } from './synthetic-world.js';

const RELATION_OF_POSITION: Partial<Record<Position, Relation>> = {
  top: 'above',
  bottom: 'below',
  left: 'left-of',
  right: 'right-of',
};

function objectPhrase(rng: Xoshiro128ss, o: SceneObject): string {
  const form = rng.pick(OBJECT_FORMS);
  // "a box in black", not "a box in inky": the colour after a shape is the plain name
  const colour = form.includes('{K}') ? (COLOUR_WORDS[o.colour][0] as string) : rng.pick(COLOUR_WORDS[o.colour]);
  return form.replace('{C}', colour).replace('{K}', colour).replace('{S}', rng.pick(SHAPE_WORDS[o.shape]));
}

/** `a` → `an` before a vowel-initial word */
function fixArticles(text: string): string {
  return text.replace(/\ba (?=[aeiou])/g, 'an ');
}

function fillTemplate(rng: Xoshiro128ss, template: string, attrs: SceneAttributes): string {
  const slots: Record<string, string> = {
    B: rng.pick(COLOUR_WORDS[attrs.background]),
    N: rng.pick(BACKGROUND_NOUNS),
  };
  const objects = attrs.objects;
  if (objects.length === 1) {
    const o = objects[0] as SceneObject;
    slots.O = objectPhrase(rng, o);
    slots.P = rng.pick(POSITION_PHRASES[o.position]);
    slots.Q = rng.pick(POSITION_PHRASES[o.position].filter((p) => !POSITION_PHRASES_WITHOUT_OF.has(p)));
  } else {
    // which object is named first is a coin flip, so relations appear in both directions
    const s = rng.nextInt(2);
    const first = objects[s] as SceneObject;
    const second = objects[1 - s] as SceneObject;
    const relation = RELATION_OF_POSITION[first.position];
    if (relation === undefined) throw new Error(`no relation for a pair object at ${first.position}`);
    slots.O1 = objectPhrase(rng, first);
    slots.O2 = objectPhrase(rng, second);
    slots.R = rng.pick(RELATION_PHRASES[relation]);
    slots.P1 = rng.pick(POSITION_PHRASES[first.position]);
    slots.P2 = rng.pick(POSITION_PHRASES[second.position]);
  }
  return fixArticles(template.replace(/\{([A-Z0-9]+)\}/g, (_, name: string) => slots[name] ?? `{${name}}`));
}

/**
 * `count` distinct captions of a scene. Templates are drawn without replacement while they last (then with
 * replacement); each slot's synonym is drawn uniformly; then the first letter is capitalised with probability ½
 * and a full stop appended with probability ½, as COCO captions vary.
 */
export function generateCaptions(rng: Xoshiro128ss, attrs: SceneAttributes, count: number): string[] {
  if (attrs.objects.length !== 1 && attrs.objects.length !== 2) throw new RangeError('a scene has one or two objects');
  const templates: readonly string[] = attrs.objects.length === 1 ? SINGLE_TEMPLATES : PAIR_TEMPLATES;
  const order = rng.sampleIndices(templates.length, Math.min(count, templates.length));
  const captions: string[] = [];
  const seen = new Set<string>();
  for (let k = 0, tries = 0; captions.length < count; k++, tries++) {
    if (tries > 100 * count) throw new Error(`could not make ${count} distinct captions`);
    const template = templates[k < order.length ? (order[k] as number) : rng.nextInt(templates.length)] as string;
    let text = fillTemplate(rng, template, attrs);
    if (rng.nextFloat() < 0.5) text = text.charAt(0).toUpperCase() + text.slice(1);
    if (rng.nextFloat() < 0.5) text += '.';
    if (seen.has(text)) continue;
    seen.add(text);
    captions.push(text);
  }
  return captions;
}
