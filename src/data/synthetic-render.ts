import { GEOMETRY, type DrawnObject, type Scene } from './synthetic-world.js';

/** side of a square with the same area as a circle of radius 1: √π / 2 */
const SQUARE_HALF = 0.886226925452758;

/** point-in-shape test in coordinates relative to the object's centre, normalised units */
function inside(o: DrawnObject, dx: number, dy: number): boolean {
  const h = o.halfSize;
  switch (o.shape) {
    case 'circle':
      return dx * dx + dy * dy <= h * h;
    case 'ring': {
      const d2 = dx * dx + dy * dy;
      const hi = h * GEOMETRY.ringInner;
      return d2 <= h * h && d2 >= hi * hi;
    }
    case 'square': {
      const s = h * SQUARE_HALF;
      return Math.abs(dx) <= s && Math.abs(dy) <= s;
    }
    case 'triangle':
      // apex at (0, -h), base from (-h, h) to (h, h)
      return dy <= h && Math.abs(dx) * 2 <= dy + h;
    case 'cross': {
      const a = h * GEOMETRY.crossArm;
      const ax = Math.abs(dx);
      const ay = Math.abs(dy);
      return (ax <= a && ay <= h) || (ay <= a && ax <= h);
    }
  }
}

/**
 * Renders a scene into HWC uint8 RGB, anti-aliased by supersampling: each pixel tests `supersample²` points on a
 * regular grid, and each object is composited over what is below with its coverage c/n as
 * round((below·(n−c) + colour·c) / n) in exact integer arithmetic.
 */
export function renderScene(scene: Scene, size: number, supersample = 4): Uint8Array {
  if (!Number.isInteger(size) || size < 4) throw new RangeError(`image size must be an integer ≥ 4, got ${size}`);
  if (!Number.isInteger(supersample) || supersample < 1) throw new RangeError(`supersample must be a positive integer`);
  const out = new Uint8Array(size * size * 3);
  const [br, bg, bb] = scene.backgroundRgb;
  for (let i = 0; i < size * size; i++) {
    out[3 * i] = br;
    out[3 * i + 1] = bg;
    out[3 * i + 2] = bb;
  }
  const n = supersample * supersample;
  for (const o of scene.objects) {
    // only pixels whose box can meet the object's bounding box
    const x0 = Math.max(0, Math.floor((o.cx - o.halfSize) * size) - 1);
    const x1 = Math.min(size - 1, Math.ceil((o.cx + o.halfSize) * size) + 1);
    const y0 = Math.max(0, Math.floor((o.cy - o.halfSize) * size) - 1);
    const y1 = Math.min(size - 1, Math.ceil((o.cy + o.halfSize) * size) + 1);
    for (let py = y0; py <= y1; py++) {
      for (let px = x0; px <= x1; px++) {
        let c = 0;
        for (let sy = 0; sy < supersample; sy++) {
          const v = (py + (sy + 0.5) / supersample) / size;
          for (let sx = 0; sx < supersample; sx++) {
            const u = (px + (sx + 0.5) / supersample) / size;
            if (inside(o, u - o.cx, v - o.cy)) c++;
          }
        }
        if (c === 0) continue;
        const k = 3 * (py * size + px);
        for (let ch = 0; ch < 3; ch++) {
          const below = out[k + ch] as number;
          const num = below * (n - c) + (o.rgb[ch] as number) * c;
          // round half up, integers only
          out[k + ch] = Math.floor((2 * num + n) / (2 * n));
        }
      }
    }
  }
  return out;
}
