/** Picks the index implementation for a guild's size. */
import { ExactVectorIndex } from './exact.ts';
import { HNSW_DEFAULTS, HnswVectorIndex, type HnswParameters } from './hnsw.ts';
import { fitProjectionSteps } from './pca.ts';
import { ReducedHnswVectorIndex, type ReducedHnswParameters } from './reduced-hnsw.ts';
import { closeIfAbandoned, runSteps } from './steps.ts';
import type { VectorIndex, VectorIndexKind } from './types.ts';

/**
 * Guilds up to this many images use the exact scan; larger ones an HNSW graph (M=16, efC=200, ef=256).
 * `npm run bench:index`, 1280-d, quiet 2-core box, cost per indexed image = one insert + one duplicate
 * query (k=10): 500: exact 0.70 ms, hnsw 0.54 ms · 1000: exact 1.34 ms, hnsw 0.67 ms · 2000: 2.77 vs 0.95 ms.
 * The JS scan (no SIMD) grows linearly and loses from ~500 on; below that the two cost the same, and the
 * scan is exact, holds no graph and loads with one read, so small guilds keep it.
 * The PostgreSQL store's constant of the same name (src/store/postgres/store.ts) is 1000: there the exact
 * scan runs inside the database, and its crossover against pgvector's HNSW was measured on its own.
 */
export const EXACT_SEARCH_MAX_IMAGES = 500;

/**
 * Guilds above this many images switch (at their next snapshot) to the PCA graph: see REDUCED_INDEX_DEFAULTS.
 * The PostgreSQL store uses the same threshold under the same name (src/store/postgres/reduction.ts).
 */
export const REDUCED_SEARCH_MIN_IMAGES = 100_000;

export interface ReducedIndexPolicy {
  /** Guilds above this many images switch (at their next snapshot) to the PCA graph + exact re-rank. */
  reducedSearchMinImages: number;
  /** Live vectors sampled to fit the projection. */
  fitSamples: number;
  parameters: ReducedHnswParameters;
}

/**
 * Large guilds: HNSW (M=24, efC=300, ef=768) over 256 PCA dimensions plus the residual norm (see
 * reduced-hnsw.ts), its 256 best candidates re-ranked with the full vectors, which stay in the snapshot file
 * (page cache), not the heap. `npm run bench:index -- --only scale` (docs/benchmarks.md, "Vector index"),
 * photo-like vectors, recall@10 over 1000 queries:
 *   50k: full graph ef 256 recall@10 1.000, load 2.31 s, RSS 382 MB; pca-hnsw ef 256 / 64 re-ranked 0.993,
 *        load 0.89 s, RSS 190 MB.
 *   1M: ef 768 / 256 re-ranked 0.986 ± 0.006 at p50 / p99 3.44 / 4.44 ms (ef 1024: same recall, 3.92 /
 *       5.13 ms); ef 512 / 128 0.977 ± 0.007 at 2.15 / 2.86 ms. RSS 1.49 GB, load
 *       12.7 s (7.7 s with huge pages). Recall is lost in the graph more than in the projection: exact
 *       search on the projections with 256 re-ranked finds 0.997.
 * Up to 100k images the full graph is good enough on every count (recall 0.995, p99 3 ms, load 3.2 s, 654 MB), so
 * guilds switch only above that; the projection is then fitted on 2048 of the guild's own vectors.
 */
export const REDUCED_INDEX_DEFAULTS: ReducedIndexPolicy = {
  reducedSearchMinImages: REDUCED_SEARCH_MIN_IMAGES,
  fitSamples: 2048,
  parameters: { m: 24, efConstruction: 300, efSearch: 768, reducedDimensions: 256, rerank: 256 },
};

export interface IndexPolicy {
  exactSearchMaxImages: number;
  hnsw: HnswParameters;
  /** Absent: guilds never leave the full-dimension graph. */
  reduced?: ReducedIndexPolicy;
}

export const DEFAULT_INDEX_POLICY: IndexPolicy = { exactSearchMaxImages: EXACT_SEARCH_MAX_IMAGES, hnsw: HNSW_DEFAULTS, reduced: REDUCED_INDEX_DEFAULTS };

/** The index kind a guild of `size` vectors should use. */
export function preferredKind(size: number, policy: IndexPolicy): VectorIndexKind {
  if (size <= policy.exactSearchMaxImages) return 'exact';
  return policy.reduced !== undefined && size > policy.reduced.reducedSearchMinImages ? 'pca-hnsw' : 'hnsw';
}

/** A new index of the preferred kind for `source`'s size holding its live vectors; `source` stays usable. */
export function rebuildIndex(source: VectorIndex, policy: IndexPolicy): VectorIndex {
  return runSteps(rebuildSteps(source, policy));
}

/**
 * `rebuildIndex` one vector per step (src/index/steps.ts). `source` may change between steps: vectors
 * removed meanwhile are skipped and the caller replays the changes onto the result; it must not be saved
 * meanwhile (see ReducedHnswVectorIndex.compactedSteps).
 */
export function* rebuildSteps(source: VectorIndex, policy: IndexPolicy): Generator<void, VectorIndex> {
  const kind = preferredKind(source.size, policy);
  if (kind === 'hnsw' && source instanceof HnswVectorIndex) return yield* source.compactedSteps();
  if (kind === 'pca-hnsw' && source instanceof ReducedHnswVectorIndex) return yield* source.compactedSteps();
  const capacity = Math.ceil(source.size * 1.25) + 16;
  let target: VectorIndex;
  if (kind === 'exact') target = new ExactVectorIndex(source.dimensions, source.size + 64);
  else if (kind === 'hnsw' || policy.reduced === undefined) target = HnswVectorIndex.create(source.dimensions, policy.hnsw, capacity);
  else {
    const projection = yield* fitProjectionSteps(sampleVectors(source, policy.reduced.fitSamples), policy.reduced.parameters.reducedDimensions);
    target = ReducedHnswVectorIndex.create(source.dimensions, projection, { ...policy.reduced.parameters }, capacity);
  }
  return yield* closeIfAbandoned(target, copyLive(source, target));
}

function* copyLive(source: VectorIndex, target: VectorIndex): Generator<void, void> {
  for (const label of [...source.labels()]) {
    const vector = source.getVector(label);
    if (vector !== undefined) target.add(label, vector);
    yield;
  }
}

/** Up to `count` live vectors spread evenly over the labels. */
function sampleVectors(source: VectorIndex, count: number): Float32Array[] {
  const step = Math.max(1, source.size / count);
  const samples: Float32Array[] = [];
  let next = 0;
  let position = 0;
  for (const label of source.labels()) {
    if (position++ < next) continue;
    next += step;
    const vector = source.getVector(label);
    if (vector !== undefined) samples.push(vector);
  }
  return samples;
}

export function createVectorIndex(dimensions: number, policy: IndexPolicy): VectorIndex {
  return policy.exactSearchMaxImages > 0 ? new ExactVectorIndex(dimensions) : HnswVectorIndex.create(dimensions, policy.hnsw);
}
