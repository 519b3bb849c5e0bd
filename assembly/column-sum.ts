// Column sums with tfjs-backend-wasm Sum's float32 bits (cc/kernels/Sum.cc, v4.22: after transposing the reduced
// axes innermost, each output is `T sum = 0; for (x ...) sum += *x;`, built without fast-math). Here the sums are
// taken down the columns of the untransposed x: column c still adds rows 0..rows-1 in order into a float32 that
// starts at +0, so every output sees the same float32 additions. f32x4.add is four independent IEEE f32 adds, so
// four (or sixteen) neighbouring columns share each v128 add without changing any column's sequence.

@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

/** out[a, c] = Σ_r x[a, r, c] (x row-major [outer, rows, cols]), each column summed from r = 0 in order, from +0 */
export function columnSums(x: usize, out: usize, outer: i32, rows: i32, cols: i32): void {
  const rowBytes = <usize>cols << 2;
  for (let a = 0; a < outer; a++) {
    const xa = at(x, a * rows * cols);
    const oa = at(out, a * cols);
    let c = 0;
    for (; c + 16 <= cols; c += 16) {
      let s0 = f32x4.splat(0);
      let s1 = s0;
      let s2 = s0;
      let s3 = s0;
      let p = at(xa, c);
      for (let r = 0; r < rows; r++, p += rowBytes) {
        s0 = f32x4.add(s0, v128.load(p));
        s1 = f32x4.add(s1, v128.load(p, 16));
        s2 = f32x4.add(s2, v128.load(p, 32));
        s3 = f32x4.add(s3, v128.load(p, 48));
      }
      const o = at(oa, c);
      v128.store(o, s0);
      v128.store(o, s1, 16);
      v128.store(o, s2, 32);
      v128.store(o, s3, 48);
    }
    for (; c + 4 <= cols; c += 4) {
      let s = f32x4.splat(0);
      let p = at(xa, c);
      for (let r = 0; r < rows; r++, p += rowBytes) s = f32x4.add(s, v128.load(p));
      v128.store(at(oa, c), s);
    }
    for (; c < cols; c++) {
      let s: f32 = 0;
      let p = at(xa, c);
      for (let r = 0; r < rows; r++, p += rowBytes) s += load<f32>(p);
      store<f32>(at(oa, c), s);
    }
  }
}

/** where the module's static data ends: the loader lays out call buffers above it (every module exports this) */
export function heapBase(): usize {
  return __heap_base;
}
