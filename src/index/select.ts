/** Picks the index implementation for a guild's size. */
import { ExactVectorIndex } from './exact.ts';
import { HNSW_DEFAULTS, HnswVectorIndex, type HnswParameters } from './hnsw.ts';
import type { VectorIndex } from './types.ts';

/**
 * Guilds up to this many images use the exact scan; larger ones an HNSW graph (M=16, efC=200, ef=256).
 * `npm run bench:index`, 1280-d, quiet 2-core box, cost per indexed image = one insert + one duplicate
 * query (k=10): 500: exact 0.70 ms, hnsw 0.54 ms · 1000: exact 1.34 ms, hnsw 0.67 ms · 2000: 2.77 vs 0.95 ms.
 * The JS scan (no SIMD) grows linearly and loses from ~500 on; below that the two cost the same, and the
 * scan is exact, holds no graph and loads with one read, so small guilds keep it.
 */
export const EXACT_INDEX_MAX_SIZE = 500;

export interface IndexPolicy {
  exactMaxSize: number;
  hnsw: HnswParameters;
}

export const DEFAULT_INDEX_POLICY: IndexPolicy = { exactMaxSize: EXACT_INDEX_MAX_SIZE, hnsw: HNSW_DEFAULTS };

/** Whether an index of `kind` holding `size` vectors should be rebuilt as the other kind. */
export function preferredKind(size: number, policy: IndexPolicy): 'exact' | 'hnsw' {
  return size <= policy.exactMaxSize ? 'exact' : 'hnsw';
}

/** Copies every live vector of `source` into a new index of the preferred kind for its size. */
export function rebuildIndex(source: VectorIndex, policy: IndexPolicy): VectorIndex {
  const kind = preferredKind(source.size, policy);
  if (kind === 'hnsw' && source instanceof HnswVectorIndex) return source.compacted();
  const target: VectorIndex =
    kind === 'exact'
      ? new ExactVectorIndex(source.dimensions, source.size + 64)
      : HnswVectorIndex.create(source.dimensions, policy.hnsw, Math.ceil(source.size * 1.25) + 16);
  for (const label of source.labels()) {
    const vector = source.getVector(label);
    if (vector !== undefined) target.add(label, vector);
  }
  return target;
}

export function createVectorIndex(dimensions: number, policy: IndexPolicy): VectorIndex {
  return policy.exactMaxSize > 0 ? new ExactVectorIndex(dimensions) : HnswVectorIndex.create(dimensions, policy.hnsw);
}
