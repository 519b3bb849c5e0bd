/**
 * The embedded world: what a scene can contain. Attribute names here are the labels an attribute classifier and
 * the prompt-faithfulness check use; changing this file changes the dataset fingerprint.
 */

export const COLOURS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'white', 'black'] as const;
export type Colour = (typeof COLOURS)[number];

/** base sRGB of each colour; each object and background is jittered around it per image */
export const COLOUR_RGB: Readonly<Record<Colour, readonly [number, number, number]>> = {
  red: [214, 40, 40],
  orange: [245, 140, 30],
  yellow: [245, 215, 50],
  green: [50, 170, 70],
  blue: [40, 90, 210],
  purple: [135, 60, 180],
  white: [240, 240, 235],
  black: [25, 25, 30],
};

export const SHAPES = ['circle', 'square', 'triangle', 'cross', 'ring'] as const;
export type Shape = (typeof SHAPES)[number];

/** named positions; centres are in normalised image coordinates (x right, y down, both in [0, 1]) */
export const POSITIONS = [
  'left',
  'right',
  'top',
  'bottom',
  'centre',
  'top-left',
  'top-right',
  'bottom-left',
  'bottom-right',
] as const;
export type Position = (typeof POSITIONS)[number];

const NEAR = 0.27;
const FAR = 0.73;
export const POSITION_CENTRE: Readonly<Record<Position, readonly [number, number]>> = {
  left: [NEAR, 0.5],
  right: [FAR, 0.5],
  top: [0.5, NEAR],
  bottom: [0.5, FAR],
  centre: [0.5, 0.5],
  'top-left': [NEAR, NEAR],
  'top-right': [FAR, NEAR],
  'bottom-left': [NEAR, FAR],
  'bottom-right': [FAR, FAR],
};

/** two-object scenes are a horizontal pair (left, right) or a vertical pair (top, bottom) */
export const PAIR_LAYOUTS = [
  ['left', 'right'],
  ['top', 'bottom'],
] as const satisfies readonly (readonly [Position, Position])[];

/** geometry of one scene, normalised units: half-extent of a shape and how far its centre may wander */
export const GEOMETRY = {
  minHalfSize: 0.15,
  maxHalfSize: 0.21,
  centreJitter: 0.04,
  /** per-channel uniform integer jitter of object and background colours */
  colourJitter: 12,
  /** probability that a scene has two objects */
  pairProbability: 0.5,
  /** ring inner radius as a fraction of its outer radius; cross arm half-width as a fraction of half-size */
  ringInner: 0.5,
  crossArm: 0.34,
} as const;

export interface SceneObject {
  shape: Shape;
  colour: Colour;
  position: Position;
}

/** the discrete attributes a caption states; objects in canonical order (see `canonicalObjects`) */
export interface SceneAttributes {
  background: Colour;
  objects: SceneObject[];
}

/** an object as drawn: its attributes plus the continuous parameters the sampler chose */
export interface DrawnObject extends SceneObject {
  cx: number;
  cy: number;
  halfSize: number;
  rgb: [number, number, number];
}

export interface Scene {
  background: Colour;
  backgroundRgb: [number, number, number];
  objects: DrawnObject[];
}

const POSITION_ORDER: Readonly<Record<Position, number>> = Object.fromEntries(POSITIONS.map((p, i) => [p, i])) as Record<
  Position,
  number
>;

/** canonical object order: by position in POSITIONS (left before right, top before bottom), then shape, colour */
export function canonicalObjects<T extends SceneObject>(objects: readonly T[]): T[] {
  return [...objects].sort(
    (a, b) =>
      POSITION_ORDER[a.position] - POSITION_ORDER[b.position] ||
      SHAPES.indexOf(a.shape) - SHAPES.indexOf(b.shape) ||
      COLOURS.indexOf(a.colour) - COLOURS.indexOf(b.colour),
  );
}

export function sceneAttributes(scene: Scene): SceneAttributes {
  return {
    background: scene.background,
    objects: canonicalObjects(scene.objects.map(({ shape, colour, position }) => ({ shape, colour, position }))),
  };
}

/** a stable string for attribute equality */
export function attributesKey(attrs: SceneAttributes): string {
  const objs = canonicalObjects(attrs.objects).map((o) => `${o.colour} ${o.shape} @${o.position}`);
  return `${objs.join(' + ')} | bg ${attrs.background}`;
}
