// tfjs-backend-wasm's batched matMul (slow_batch_matmul in src/cc/batch_mat_mul_impl.cc, v4.22) with the same
// float32 bits, four outputs per SIMD lane group. That loop computes each output as
//   out = 0; for each block of 48 k's in order { sum = 0; for k in block: sum += a[i,k]·b[k,j]; out = out + sum + 0 }
// (separate f32 multiply and add: wasm has no fused multiply-add, and the C++ is built without fast-math). Its
// i- and j-blocking only orders which outputs are visited when, not the adds inside one output, so computing
// outputs j..j+3 in the lanes of one f32x4 gives every output the same sequence of float32 operations. Tiles of
// 2 or 4 rows share each load of b. Batch entry q reads a's matrix q % batchA and b's q % batchB, as tfjs does.
// The tile functions below differ only in their row and column counts.

// kBlockSize of slow_batch_matmul: the partial sum restarts every 48 terms of k
const BLOCK: i32 = 48;

@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

// Every tile: a points at a[i, 0], the next row aRow bytes on and the next k aK bytes on; b points at b[0, j], the
// next k bK bytes on; out points at out[i, j], the next row outRow bytes on.

// rows i..i+1, columns j..j+15: 8 f32x4 sums
@inline function tile2x16(a: usize, aRow: usize, aK: usize, b: usize, bK: usize, k: i32, out: usize, outRow: usize): void {
  const zero = f32x4.splat(0);
  let o00 = zero, o01 = zero, o02 = zero, o03 = zero, o10 = zero, o11 = zero, o12 = zero, o13 = zero;
  let ak = a;
  let bk = b;
  for (let k0 = 0; k0 < k; k0 += BLOCK) {
    const k1 = min(k0 + BLOCK, k);
    let s00 = zero, s01 = zero, s02 = zero, s03 = zero, s10 = zero, s11 = zero, s12 = zero, s13 = zero;
    for (let kk = k0; kk < k1; kk++) {
      const b0 = v128.load(bk);
      const b1 = v128.load(bk, 16);
      const b2 = v128.load(bk, 32);
      const b3 = v128.load(bk, 48);
      const a0 = f32x4.splat(load<f32>(ak));
      s00 = f32x4.add(s00, f32x4.mul(a0, b0));
      s01 = f32x4.add(s01, f32x4.mul(a0, b1));
      s02 = f32x4.add(s02, f32x4.mul(a0, b2));
      s03 = f32x4.add(s03, f32x4.mul(a0, b3));
      const a1 = f32x4.splat(load<f32>(ak + aRow));
      s10 = f32x4.add(s10, f32x4.mul(a1, b0));
      s11 = f32x4.add(s11, f32x4.mul(a1, b1));
      s12 = f32x4.add(s12, f32x4.mul(a1, b2));
      s13 = f32x4.add(s13, f32x4.mul(a1, b3));
      ak += aK;
      bk += bK;
    }
    o00 = f32x4.add(f32x4.add(o00, s00), zero);
    o01 = f32x4.add(f32x4.add(o01, s01), zero);
    o02 = f32x4.add(f32x4.add(o02, s02), zero);
    o03 = f32x4.add(f32x4.add(o03, s03), zero);
    o10 = f32x4.add(f32x4.add(o10, s10), zero);
    o11 = f32x4.add(f32x4.add(o11, s11), zero);
    o12 = f32x4.add(f32x4.add(o12, s12), zero);
    o13 = f32x4.add(f32x4.add(o13, s13), zero);
  }
  v128.store(out, o00);
  v128.store(out, o01, 16);
  v128.store(out, o02, 32);
  v128.store(out, o03, 48);
  v128.store(out + outRow, o10);
  v128.store(out + outRow, o11, 16);
  v128.store(out + outRow, o12, 32);
  v128.store(out + outRow, o13, 48);
}

// row i, columns j..j+15: 4 f32x4 sums
@inline function tile1x16(a: usize, aRow: usize, aK: usize, b: usize, bK: usize, k: i32, out: usize, outRow: usize): void {
  const zero = f32x4.splat(0);
  let o00 = zero, o01 = zero, o02 = zero, o03 = zero;
  let ak = a;
  let bk = b;
  for (let k0 = 0; k0 < k; k0 += BLOCK) {
    const k1 = min(k0 + BLOCK, k);
    let s00 = zero, s01 = zero, s02 = zero, s03 = zero;
    for (let kk = k0; kk < k1; kk++) {
      const b0 = v128.load(bk);
      const b1 = v128.load(bk, 16);
      const b2 = v128.load(bk, 32);
      const b3 = v128.load(bk, 48);
      const a0 = f32x4.splat(load<f32>(ak));
      s00 = f32x4.add(s00, f32x4.mul(a0, b0));
      s01 = f32x4.add(s01, f32x4.mul(a0, b1));
      s02 = f32x4.add(s02, f32x4.mul(a0, b2));
      s03 = f32x4.add(s03, f32x4.mul(a0, b3));
      ak += aK;
      bk += bK;
    }
    o00 = f32x4.add(f32x4.add(o00, s00), zero);
    o01 = f32x4.add(f32x4.add(o01, s01), zero);
    o02 = f32x4.add(f32x4.add(o02, s02), zero);
    o03 = f32x4.add(f32x4.add(o03, s03), zero);
  }
  v128.store(out, o00);
  v128.store(out, o01, 16);
  v128.store(out, o02, 32);
  v128.store(out, o03, 48);
}

// rows i..i+3, columns j..j+7: 8 f32x4 sums
@inline function tile4x8(a: usize, aRow: usize, aK: usize, b: usize, bK: usize, k: i32, out: usize, outRow: usize): void {
  const zero = f32x4.splat(0);
  let o00 = zero, o01 = zero, o10 = zero, o11 = zero, o20 = zero, o21 = zero, o30 = zero, o31 = zero;
  let ak = a;
  let bk = b;
  for (let k0 = 0; k0 < k; k0 += BLOCK) {
    const k1 = min(k0 + BLOCK, k);
    let s00 = zero, s01 = zero, s10 = zero, s11 = zero, s20 = zero, s21 = zero, s30 = zero, s31 = zero;
    for (let kk = k0; kk < k1; kk++) {
      const b0 = v128.load(bk);
      const b1 = v128.load(bk, 16);
      const a0 = f32x4.splat(load<f32>(ak));
      s00 = f32x4.add(s00, f32x4.mul(a0, b0));
      s01 = f32x4.add(s01, f32x4.mul(a0, b1));
      const a1 = f32x4.splat(load<f32>(ak + aRow));
      s10 = f32x4.add(s10, f32x4.mul(a1, b0));
      s11 = f32x4.add(s11, f32x4.mul(a1, b1));
      const a2 = f32x4.splat(load<f32>(ak + 2 * aRow));
      s20 = f32x4.add(s20, f32x4.mul(a2, b0));
      s21 = f32x4.add(s21, f32x4.mul(a2, b1));
      const a3 = f32x4.splat(load<f32>(ak + 3 * aRow));
      s30 = f32x4.add(s30, f32x4.mul(a3, b0));
      s31 = f32x4.add(s31, f32x4.mul(a3, b1));
      ak += aK;
      bk += bK;
    }
    o00 = f32x4.add(f32x4.add(o00, s00), zero);
    o01 = f32x4.add(f32x4.add(o01, s01), zero);
    o10 = f32x4.add(f32x4.add(o10, s10), zero);
    o11 = f32x4.add(f32x4.add(o11, s11), zero);
    o20 = f32x4.add(f32x4.add(o20, s20), zero);
    o21 = f32x4.add(f32x4.add(o21, s21), zero);
    o30 = f32x4.add(f32x4.add(o30, s30), zero);
    o31 = f32x4.add(f32x4.add(o31, s31), zero);
  }
  v128.store(out, o00);
  v128.store(out, o01, 16);
  v128.store(out + outRow, o10);
  v128.store(out + outRow, o11, 16);
  v128.store(out + 2 * outRow, o20);
  v128.store(out + 2 * outRow, o21, 16);
  v128.store(out + 3 * outRow, o30);
  v128.store(out + 3 * outRow, o31, 16);
}

// row i, columns j..j+7: 2 f32x4 sums
@inline function tile1x8(a: usize, aRow: usize, aK: usize, b: usize, bK: usize, k: i32, out: usize, outRow: usize): void {
  const zero = f32x4.splat(0);
  let o00 = zero, o01 = zero;
  let ak = a;
  let bk = b;
  for (let k0 = 0; k0 < k; k0 += BLOCK) {
    const k1 = min(k0 + BLOCK, k);
    let s00 = zero, s01 = zero;
    for (let kk = k0; kk < k1; kk++) {
      const b0 = v128.load(bk);
      const b1 = v128.load(bk, 16);
      const a0 = f32x4.splat(load<f32>(ak));
      s00 = f32x4.add(s00, f32x4.mul(a0, b0));
      s01 = f32x4.add(s01, f32x4.mul(a0, b1));
      ak += aK;
      bk += bK;
    }
    o00 = f32x4.add(f32x4.add(o00, s00), zero);
    o01 = f32x4.add(f32x4.add(o01, s01), zero);
  }
  v128.store(out, o00);
  v128.store(out, o01, 16);
}

// rows i..i+3, columns j..j+3: 4 f32x4 sums
@inline function tile4x4(a: usize, aRow: usize, aK: usize, b: usize, bK: usize, k: i32, out: usize, outRow: usize): void {
  const zero = f32x4.splat(0);
  let o00 = zero, o10 = zero, o20 = zero, o30 = zero;
  let ak = a;
  let bk = b;
  for (let k0 = 0; k0 < k; k0 += BLOCK) {
    const k1 = min(k0 + BLOCK, k);
    let s00 = zero, s10 = zero, s20 = zero, s30 = zero;
    for (let kk = k0; kk < k1; kk++) {
      const b0 = v128.load(bk);
      const a0 = f32x4.splat(load<f32>(ak));
      s00 = f32x4.add(s00, f32x4.mul(a0, b0));
      const a1 = f32x4.splat(load<f32>(ak + aRow));
      s10 = f32x4.add(s10, f32x4.mul(a1, b0));
      const a2 = f32x4.splat(load<f32>(ak + 2 * aRow));
      s20 = f32x4.add(s20, f32x4.mul(a2, b0));
      const a3 = f32x4.splat(load<f32>(ak + 3 * aRow));
      s30 = f32x4.add(s30, f32x4.mul(a3, b0));
      ak += aK;
      bk += bK;
    }
    o00 = f32x4.add(f32x4.add(o00, s00), zero);
    o10 = f32x4.add(f32x4.add(o10, s10), zero);
    o20 = f32x4.add(f32x4.add(o20, s20), zero);
    o30 = f32x4.add(f32x4.add(o30, s30), zero);
  }
  v128.store(out, o00);
  v128.store(out + outRow, o10);
  v128.store(out + 2 * outRow, o20);
  v128.store(out + 3 * outRow, o30);
}

// row i, columns j..j+3: 1 f32x4 sums
@inline function tile1x4(a: usize, aRow: usize, aK: usize, b: usize, bK: usize, k: i32, out: usize, outRow: usize): void {
  const zero = f32x4.splat(0);
  let o00 = zero;
  let ak = a;
  let bk = b;
  for (let k0 = 0; k0 < k; k0 += BLOCK) {
    const k1 = min(k0 + BLOCK, k);
    let s00 = zero;
    for (let kk = k0; kk < k1; kk++) {
      const b0 = v128.load(bk);
      const a0 = f32x4.splat(load<f32>(ak));
      s00 = f32x4.add(s00, f32x4.mul(a0, b0));
      ak += aK;
      bk += bK;
    }
    o00 = f32x4.add(f32x4.add(o00, s00), zero);
  }
  v128.store(out, o00);
}

// one output (the last n % 4 columns)
@inline function tile1x1(a: usize, aK: usize, b: usize, bK: usize, k: i32, out: usize): void {
  let o: f32 = 0;
  let ak = a;
  let bk = b;
  for (let k0 = 0; k0 < k; k0 += BLOCK) {
    const k1 = min(k0 + BLOCK, k);
    let s: f32 = 0;
    for (let kk = k0; kk < k1; kk++) {
      s += load<f32>(ak) * load<f32>(bk);
      ak += aK;
      bk += bK;
    }
    o = o + s + <f32>0;
  }
  store<f32>(out, o);
}

// columns per pass of transpose: the 16 destination rows it writes stay in L1 while r walks down the source
const TRANSPOSE_COLS: i32 = 16;

// dst (cols x rows) = srcᵀ, src row-major rows x cols: 4x4 blocks by shuffles, the edges element by element
function transpose(src: usize, rows: i32, cols: i32, dst: usize): void {
  const srcRow = <usize>cols << 2;
  const dstRow = <usize>rows << 2;
  const rows4 = rows & ~3;
  const cols4 = cols & ~3;
  for (let c0 = 0; c0 < cols4; c0 += TRANSPOSE_COLS) {
    const c1 = min(c0 + TRANSPOSE_COLS, cols4);
    for (let r = 0; r < rows4; r += 4) {
      const s = at(src, r * cols);
      const d = at(dst, r);
      for (let c = c0; c < c1; c += 4) {
        const sc = s + (<usize>c << 2);
        const r0 = v128.load(sc);
        const r1 = v128.load(sc + srcRow);
        const r2 = v128.load(sc + 2 * srcRow);
        const r3 = v128.load(sc + 3 * srcRow);
        const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
        const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
        const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
        const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
        const dc = d + <usize>c * dstRow;
        v128.store(dc, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
        v128.store(dc + dstRow, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
        v128.store(dc + 2 * dstRow, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
        v128.store(dc + 3 * dstRow, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
      }
    }
  }
  // the last rows % 4 rows, then the last cols % 4 columns
  for (let r = rows4; r < rows; r++) {
    for (let c = 0; c < cols; c++) store<f32>(at(dst, c * rows + r), load<f32>(at(src, r * cols + c)));
  }
  for (let c = cols4; c < cols; c++) {
    for (let r = 0; r < rows4; r++) store<f32>(at(dst, c * rows + r), load<f32>(at(src, r * cols + c)));
  }
}

/**
 * out[q] = a[q % batchA] · b[q % batchB] for q < batch, each matrix row-major: a is [m, k] ([k, m] if transposeA),
 * b is [k, n] ([n, k] if transposeB), out is [m, n]. A transposed b is first copied plain into `scratch`
 * (batchB·k·n floats) so that four neighbouring outputs read one v128.
 */
export function batchMatMul(a: usize, b: usize, scratch: usize, out: usize, batchA: i32, batchB: i32, batch: i32, m: i32, k: i32, n: i32, transposeA: bool, transposeB: bool): void {
  const kn = k * n;
  let plainB = b;
  if (transposeB) {
    for (let q = 0; q < batchB; q++) transpose(at(b, q * kn), n, k, at(scratch, q * kn));
    plainB = scratch;
  }
  // byte steps: a[i, kk] sits at i·aRow + kk·aK
  const aRow = <usize>(transposeA ? 1 : k) << 2;
  const aK = <usize>(transposeA ? m : 1) << 2;
  const bK = <usize>n << 2;
  const outRow = <usize>n << 2;
  for (let q = 0; q < batch; q++) {
    const aMat = at(a, (q % batchA) * m * k);
    const bMat = at(plainB, (q % batchB) * kn);
    const outMat = at(out, q * m * n);
    let j = 0;
    for (; j + 16 <= n; j += 16) {
      let i = 0;
      for (; i + 2 <= m; i += 2) tile2x16(aMat + <usize>i * aRow, aRow, aK, at(bMat, j), bK, k, at(outMat, i * n + j), outRow);
      for (; i < m; i++) tile1x16(aMat + <usize>i * aRow, aRow, aK, at(bMat, j), bK, k, at(outMat, i * n + j), outRow);
    }
    for (; j + 8 <= n; j += 8) {
      let i = 0;
      for (; i + 4 <= m; i += 4) tile4x8(aMat + <usize>i * aRow, aRow, aK, at(bMat, j), bK, k, at(outMat, i * n + j), outRow);
      for (; i < m; i++) tile1x8(aMat + <usize>i * aRow, aRow, aK, at(bMat, j), bK, k, at(outMat, i * n + j), outRow);
    }
    for (; j + 4 <= n; j += 4) {
      let i = 0;
      for (; i + 4 <= m; i += 4) tile4x4(aMat + <usize>i * aRow, aRow, aK, at(bMat, j), bK, k, at(outMat, i * n + j), outRow);
      for (; i < m; i++) tile1x4(aMat + <usize>i * aRow, aRow, aK, at(bMat, j), bK, k, at(outMat, i * n + j), outRow);
    }
    for (; j < n; j++) {
      for (let i = 0; i < m; i++) tile1x1(aMat + <usize>i * aRow, aK, at(bMat, j), bK, k, at(outMat, i * n + j));
    }
  }
}

/** dst[q] = src[q]ᵀ for q < batch, each src matrix rows x cols row-major: the router's materialised transposes */
export function transposeBatch(src: usize, dst: usize, batch: i32, rows: i32, cols: i32): void {
  const size = rows * cols;
  for (let q = 0; q < batch; q++) transpose(at(src, q * size), rows, cols, at(dst, q * size));
}

/** where the module's static data ends: the loader lays out call buffers above it (every module exports this) */
export function heapBase(): usize {
  return __heap_base;
}
