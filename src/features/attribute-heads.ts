import { COLOURS, POSITIONS, SHAPES, type SceneAttributes } from '../data/synthetic-world.js';

/**
 * The attribute classifier's logits, in groups: the background colour (8-way), then for each of the 9 named
 * positions the object shape there (none + 5) and its colour (none + 8). Prompt faithfulness compares the
 * argmax of each group with what the caption states.
 */
export const ATTRIBUTE_GROUPS: ReadonlyArray<{ name: string; classes: readonly string[] }> = [
  { name: 'background', classes: COLOURS },
  ...POSITIONS.flatMap((p) => [
    { name: `${p}.shape`, classes: ['none', ...SHAPES] },
    { name: `${p}.colour`, classes: ['none', ...COLOURS] },
  ]),
];

export const ATTRIBUTE_LOGITS = ATTRIBUTE_GROUPS.reduce((n, g) => n + g.classes.length, 0);

const offsets = ATTRIBUTE_GROUPS.reduce<number[]>((acc, g, i) => [...acc, (acc[i] ?? 0) + g.classes.length], [0]);

/** One class index per group for a scene (the classifier's training target). */
export function attributeTargets(attrs: SceneAttributes): number[] {
  const byPosition = new Map(attrs.objects.map((o) => [o.position, o]));
  return ATTRIBUTE_GROUPS.map((g) => {
    if (g.name === 'background') return g.classes.indexOf(attrs.background);
    const [position, what] = g.name.split('.') as [string, 'shape' | 'colour'];
    const obj = byPosition.get(position as SceneAttributes['objects'][number]['position']);
    return obj ? g.classes.indexOf(obj[what]) : 0;
  });
}

/** Argmax per group of one row of logits. */
export function decodeAttributes(logits: ArrayLike<number>, row = 0): number[] {
  const base = row * ATTRIBUTE_LOGITS;
  return ATTRIBUTE_GROUPS.map((g, i) => {
    let best = 0;
    for (let c = 1; c < g.classes.length; c++) if ((logits[base + (offsets[i] ?? 0) + c] as number) > (logits[base + (offsets[i] ?? 0) + best] as number)) best = c;
    return best;
  });
}

/** Start offset of each group in a logits row. */
export const attributeGroupOffsets = (): readonly number[] => offsets.slice(0, -1);

export interface FaithfulnessCheck {
  /** background and every stated object (shape and colour at its position) as the caption says */
  faithful: boolean;
  /** how many of the caption's stated attributes the image shows */
  matched: number;
  stated: number;
}

/** Does the image (its predicted groups) show what the caption states? */
export function checkFaithfulness(predicted: readonly number[], stated: SceneAttributes): FaithfulnessCheck {
  const target = attributeTargets(stated);
  const positions = new Set(stated.objects.map((o) => o.position as string));
  let matched = 0;
  let count = 0;
  ATTRIBUTE_GROUPS.forEach((g, i) => {
    const relevant = g.name === 'background' || positions.has(g.name.split('.')[0] ?? '');
    if (!relevant) return;
    count++;
    if (predicted[i] === target[i]) matched++;
  });
  return { faithful: matched === count, matched, stated: count };
}
