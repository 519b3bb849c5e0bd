import type { Xoshiro128ss } from './random.js';
import {
  COLOURS,
  COLOUR_RGB,
  GEOMETRY,
  PAIR_LAYOUTS,
  POSITIONS,
  POSITION_CENTRE,
  SHAPES,
  type Colour,
  type DrawnObject,
  type Position,
  type Scene,
  type Shape,
} from './synthetic-world.js';

function jitterRgb(rng: Xoshiro128ss, colour: Colour): [number, number, number] {
  const j = GEOMETRY.colourJitter;
  const [r, g, b] = COLOUR_RGB[colour];
  const channel = (c: number): number => Math.min(255, Math.max(0, c + rng.nextInt(2 * j + 1) - j));
  return [channel(r), channel(g), channel(b)];
}

function drawObject(rng: Xoshiro128ss, shape: Shape, colour: Colour, position: Position): DrawnObject {
  const [x0, y0] = POSITION_CENTRE[position];
  const halfSize = rng.uniform(GEOMETRY.minHalfSize, GEOMETRY.maxHalfSize);
  const cx = x0 + rng.uniform(-GEOMETRY.centreJitter, GEOMETRY.centreJitter);
  const cy = y0 + rng.uniform(-GEOMETRY.centreJitter, GEOMETRY.centreJitter);
  return { shape, colour, position, cx, cy, halfSize, rgb: jitterRgb(rng, colour) };
}

/**
 * Samples one scene. Draw order (part of the dataset definition): pair? (float < pairProbability), background
 * colour; single: position, shape, colour ≠ background; pair: layout, then per object shape and colour ≠ background
 * (the second redrawn while identical to the first); then per object half-size, cx, cy, rgb jitter; then the
 * background rgb jitter.
 */
export function sampleScene(rng: Xoshiro128ss): Scene {
  const pair = rng.nextFloat() < GEOMETRY.pairProbability;
  const background = rng.pick(COLOURS);
  const objectColours = COLOURS.filter((c) => c !== background);
  const specs: { shape: Shape; colour: Colour; position: Position }[] = [];
  if (!pair) {
    const position = rng.pick(POSITIONS);
    specs.push({ position, shape: rng.pick(SHAPES), colour: rng.pick(objectColours) });
  } else {
    const [p0, p1] = rng.pick(PAIR_LAYOUTS);
    const first = { position: p0, shape: rng.pick(SHAPES), colour: rng.pick(objectColours) };
    let second: { position: Position; shape: Shape; colour: Colour };
    do second = { position: p1, shape: rng.pick(SHAPES), colour: rng.pick(objectColours) };
    while (second.shape === first.shape && second.colour === first.colour);
    specs.push(first, second);
  }
  const objects = specs.map((s) => drawObject(rng, s.shape, s.colour, s.position));
  return { background, backgroundRgb: jitterRgb(rng, background), objects };
}
