// Deterministic test inputs without tfjs: a 32-bit LCG (Numerical Recipes' constants) giving values in [−0.5, 0.5).

export const rng = (seed: number): (() => number) => {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
};

/** n float32 values offset + scale·u, u from rng(seed) */
export const randomArray = (n: number, seed: number, scale = 2, offset = 0): Float32Array => {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => offset + scale * next());
};
