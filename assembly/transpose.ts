// Transposes that move the innermost axis, as 4x4 blocks of 4-byte elements: each element is copied as its 32 bits
// (v128 loads, shuffles and stores, never a float operation), so float32 and int32 values come out bit for bit.
// The caller (src/tensor/heap-transpose.ts) merges axes first and describes the "outer" output axes as (length,
// source step, destination step) triples in `meta` (i32s), outermost first; `index` is scratch for their counters
// (`outer` i32s).

@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

// field 0, 1, 2 of outer axis `axis`: its length, its source step, its destination step (elements)
@inline function metaAt(meta: usize, axis: i32, field: i32): i32 {
  return load<i32>(meta + (<usize>(axis * 3 + field) << 2));
}

/**
 * the source's innermost axis is output axis q, not the innermost output axis (n0 long, source step s0): for every
 * outer index, the [nq, n0] block out[j, i] = src[j + i·s0] is written at dst + j·dq + i, by 4x4 shuffles
 */
export function transposeBlocks(src: usize, dst: usize, meta: usize, outer: i32, nq: i32, dq: i32, n0: i32, s0: i32, index: usize): void {
  for (let a = 0; a < outer; a++) store<i32>(index + (<usize>a << 2), 0);
  let count = 1;
  for (let a = 0; a < outer; a++) count *= metaAt(meta, a, 0);
  const sRow = <usize>s0 << 2;
  const dRow = <usize>dq << 2;
  const nq4 = nq & ~3;
  const n04 = n0 & ~3;
  let s: i32 = 0;
  let d: i32 = 0;
  for (let b = 0; b < count; b++) {
    const sp = at(src, s);
    const dp = at(dst, d);
    for (let i = 0; i < n04; i += 4) {
      const si = sp + <usize>i * sRow;
      const di = dp + (<usize>i << 2);
      for (let j = 0; j < nq4; j += 4) {
        // rows i..i+3 of the source block (4 consecutive j each) become columns i..i+3 of output rows j..j+3
        const sc = si + (<usize>j << 2);
        const r0 = v128.load(sc);
        const r1 = v128.load(sc + sRow);
        const r2 = v128.load(sc + 2 * sRow);
        const r3 = v128.load(sc + 3 * sRow);
        const t0 = v128.shuffle<i32>(r0, r1, 0, 4, 1, 5);
        const t1 = v128.shuffle<i32>(r2, r3, 0, 4, 1, 5);
        const t2 = v128.shuffle<i32>(r0, r1, 2, 6, 3, 7);
        const t3 = v128.shuffle<i32>(r2, r3, 2, 6, 3, 7);
        const dc = di + <usize>j * dRow;
        v128.store(dc, v128.shuffle<i32>(t0, t1, 0, 1, 4, 5));
        v128.store(dc + dRow, v128.shuffle<i32>(t0, t1, 2, 3, 6, 7));
        v128.store(dc + 2 * dRow, v128.shuffle<i32>(t2, t3, 0, 1, 4, 5));
        v128.store(dc + 3 * dRow, v128.shuffle<i32>(t2, t3, 2, 3, 6, 7));
      }
      for (let j = nq4; j < nq; j++) {
        for (let k = 0; k < 4; k++) store<i32>(di + <usize>j * dRow + (<usize>k << 2), load<i32>(si + <usize>k * sRow + (<usize>j << 2)));
      }
    }
    for (let i = n04; i < n0; i++) {
      for (let j = 0; j < nq; j++) store<i32>(dp + <usize>j * dRow + (<usize>i << 2), load<i32>(sp + <usize>i * sRow + (<usize>j << 2)));
    }
    for (let a = outer - 1; a >= 0; a--) {
      const ia = index + (<usize>a << 2);
      const n = load<i32>(ia) + 1;
      s += metaAt(meta, a, 1);
      d += metaAt(meta, a, 2);
      if (n < metaAt(meta, a, 0)) {
        store<i32>(ia, n);
        break;
      }
      s -= n * metaAt(meta, a, 1);
      d -= n * metaAt(meta, a, 2);
      store<i32>(ia, 0);
    }
  }
}

/**
 * transposeBlocks with the outer axes walked inside each 4x4 block position: when the block's rows are far apart
 * (large s0 and dq) and the outer steps small, the 8 rows a block touches then advance together through memory
 */
export function transposeBlocksOuterInner(src: usize, dst: usize, meta: usize, outer: i32, nq: i32, dq: i32, n0: i32, s0: i32, index: usize): void {
  let count = 1;
  for (let a = 0; a < outer; a++) count *= metaAt(meta, a, 0);
  const sRow = <usize>s0 << 2;
  const dRow = <usize>dq << 2;
  const nq4 = nq & ~3;
  const n04 = n0 & ~3;
  for (let i = 0; i < n04; i += 4) {
    for (let j = 0; j < nq4; j += 4) {
      for (let a = 0; a < outer; a++) store<i32>(index + (<usize>a << 2), 0);
      let s: i32 = 0;
      let d: i32 = 0;
      for (let b = 0; b < count; b++) {
        const sc = at(src, s) + <usize>i * sRow + (<usize>j << 2);
        const r0 = v128.load(sc);
        const r1 = v128.load(sc + sRow);
        const r2 = v128.load(sc + 2 * sRow);
        const r3 = v128.load(sc + 3 * sRow);
        const t0 = v128.shuffle<i32>(r0, r1, 0, 4, 1, 5);
        const t1 = v128.shuffle<i32>(r2, r3, 0, 4, 1, 5);
        const t2 = v128.shuffle<i32>(r0, r1, 2, 6, 3, 7);
        const t3 = v128.shuffle<i32>(r2, r3, 2, 6, 3, 7);
        const dc = at(dst, d) + (<usize>i << 2) + <usize>j * dRow;
        v128.store(dc, v128.shuffle<i32>(t0, t1, 0, 1, 4, 5));
        v128.store(dc + dRow, v128.shuffle<i32>(t0, t1, 2, 3, 6, 7));
        v128.store(dc + 2 * dRow, v128.shuffle<i32>(t2, t3, 0, 1, 4, 5));
        v128.store(dc + 3 * dRow, v128.shuffle<i32>(t2, t3, 2, 3, 6, 7));
        for (let a = outer - 1; a >= 0; a--) {
          const ia = index + (<usize>a << 2);
          const n = load<i32>(ia) + 1;
          s += metaAt(meta, a, 1);
          d += metaAt(meta, a, 2);
          if (n < metaAt(meta, a, 0)) {
            store<i32>(ia, n);
            break;
          }
          s -= n * metaAt(meta, a, 1);
          d -= n * metaAt(meta, a, 2);
          store<i32>(ia, 0);
        }
      }
    }
  }
  // the edges (n0 % 4 columns, nq % 4 rows), element by element, outer index by outer index
  if (n04 === n0 && nq4 === nq) return;
  for (let a = 0; a < outer; a++) store<i32>(index + (<usize>a << 2), 0);
  let s: i32 = 0;
  let d: i32 = 0;
  for (let b = 0; b < count; b++) {
    const sp = at(src, s);
    const dp = at(dst, d);
    for (let i = 0; i < n0; i++) {
      for (let j = i < n04 ? nq4 : 0; j < nq; j++) store<i32>(dp + <usize>j * dRow + (<usize>i << 2), load<i32>(sp + <usize>i * sRow + (<usize>j << 2)));
    }
    for (let a = outer - 1; a >= 0; a--) {
      const ia = index + (<usize>a << 2);
      const n = load<i32>(ia) + 1;
      s += metaAt(meta, a, 1);
      d += metaAt(meta, a, 2);
      if (n < metaAt(meta, a, 0)) {
        store<i32>(ia, n);
        break;
      }
      s -= n * metaAt(meta, a, 1);
      d -= n * metaAt(meta, a, 2);
      store<i32>(ia, 0);
    }
  }
}

/** where the module's static data ends: the loader lays out call buffers above it (every module exports this) */
export function heapBase(): usize {
  return __heap_base;
}
