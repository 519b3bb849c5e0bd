// CLIP score conventions over per-pair cosine similarities (pure).
import { BadInputError } from '../../errors.js';

export const CLIP_CONVENTIONS = ['cosine-mean', 'torchmetrics'] as const;
export type ClipConventionName = (typeof CLIP_CONVENTIONS)[number];

export interface ClipConvention {
  name: ClipConventionName;
  description: string;
  /** prepended to every caption before tokenising */
  prefix: string;
  /** the image module's preprocessing mode that reproduces the reference's image path */
  preprocess: 'clip' | 'clip-hf';
  aggregate(cosines: Float64Array): number;
}

const mean = (v: Float64Array): number => {
  let s = 0;
  for (const x of v) s += x;
  return s / v.length;
};

export const CLIP_CONVENTION_TABLE: Readonly<Record<ClipConventionName, ClipConvention>> = {
  'cosine-mean': {
    name: 'cosine-mean',
    description: 'GigaGAN / DMD2 / SwiftBrush: mean raw cosine, caption prefixed with "A photo depicts ", open_clip preprocessing',
    prefix: 'A photo depicts ',
    preprocess: 'clip',
    aggregate: mean,
  },
  torchmetrics: {
    // metrics.md §3.6: compute() = max(sum(100 cos)/n, 0): the clamp is on the mean, not per sample
    name: 'torchmetrics',
    description: 'torchmetrics CLIPScore: max(100 * mean cosine, 0) (clamp on the mean), transformers CLIPImageProcessor preprocessing',
    prefix: '',
    preprocess: 'clip-hf',
    aggregate: (c) => Math.max(100 * mean(c), 0),
  },
};

export function clipConvention(name: string): ClipConvention {
  if (!(CLIP_CONVENTIONS as readonly string[]).includes(name)) {
    throw new BadInputError('CLIP_UNKNOWN_CONVENTION', `unknown CLIP score convention "${name}"`, `use one of: ${CLIP_CONVENTIONS.join(', ')}`);
  }
  return CLIP_CONVENTION_TABLE[name as ClipConventionName];
}

/** cosine of each row pair (rows x dims each), in float64: x.y / (|x| |y|), as F.cosine_similarity (eps 1e-8). */
export function rowCosines(a: Float32Array | Float64Array, b: Float32Array | Float64Array, dims: number): Float64Array {
  if (a.length !== b.length || a.length % dims !== 0) {
    throw new BadInputError('CLIP_DIMS_MISMATCH', `image and text embeddings differ in shape: ${a.length} vs ${b.length} values for ${dims} dims`);
  }
  const rows = a.length / dims;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let j = r * dims; j < (r + 1) * dims; j++) {
      const x = a[j]!;
      const y = b[j]!;
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    out[r] = dot / Math.max(Math.sqrt(na) * Math.sqrt(nb), 1e-8);
  }
  return out;
}
