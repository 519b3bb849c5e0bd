// a minimal kernel the loader's test builds on: y[i] = x[i] · k, four lanes at a time (f32x4), the tail scalar
export function scale(x: usize, y: usize, n: i32, k: f32): void {
  const kv = f32x4.splat(k);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(y + (<usize>i << 2), f32x4.mul(v128.load(x + (<usize>i << 2)), kv));
  for (; i < n; i++) store<f32>(y + (<usize>i << 2), load<f32>(x + (<usize>i << 2)) * k);
}

/** where the module's static data ends: the loader lays out call buffers above it (every module exports this) */
export function heapBase(): usize {
  return __heap_base;
}
