/**
 * HNSW graph index on hnswlib-node, inner-product space (cosine on unit vectors). hnswlib keeps removed
 * vectors in the graph as "marked deleted" until the index is rebuilt (`compacted()`); capacity grows
 * automatically. Parameter choice: see HNSW_DEFAULTS.
 */
import { StoreError } from '../errors.ts';
import { checkDimensions } from './exact.ts';
import { acquireGraph, openGraph, readGraph, releaseGraph, unmarkIfDeleted, type NativeGraph } from './native-graphs.ts';
import { closeIfAbandoned, runSteps } from './steps.ts';
import type { LabelFilter, VectorHit, VectorIndex } from './types.ts';

export interface HnswParameters {
  /** Graph degree: memory ~ 8·M bytes per vector on top of the 4·d vector itself. */
  m: number;
  efConstruction: number;
  /** Search breadth; raised to k when k is larger. */
  efSearch: number;
}

/**
 * Chosen with `npm run bench:index` (vectors = mixes of real EfficientNet-B0 embeddings of ../shared + noise,
 * recall@10 against brute force, 2 shared cores). At 10k:
 *   M=8  efC=100: ef 64 → 0.965, ef 128 → 0.985        (build 38 s)
 *   M=16 efC=100: ef 64 → 0.978, ef 128 → 0.988        (build 81 s)
 *   M=16 efC=200: ef 64 → 0.989, ef 128 → 0.996 (p50 1.5 ms)   (build 99 s)
 *   M=24 efC=200: ef 64 → 0.991, ef 128 → 0.997        (build 116 s)
 * M=16/efC=200 is the knee: M=24 adds build time and 64 B/vector for +0.001. Recall at a fixed ef falls as
 * the guild grows: at 100k, ef 64 → 0.949, ef 128 → 0.971, ef 256 → 0.995; so ef=256 (the only one of the
 * three ≥ 0.98 at 100k). ef is a search-time knob (`setEfSearch`): no rebuild needed to change it.
 */
export const HNSW_DEFAULTS: HnswParameters = { m: 16, efConstruction: 200, efSearch: 256 };

const RANDOM_SEED = 100;

export class HnswVectorIndex implements VectorIndex {
  readonly kind = 'hnsw' as const;
  private readonly live = new Set<number>();
  /** Labels ever inserted into the native index (live or marked deleted): its element count. */
  private stored: number;

  private constructor(
    readonly dimensions: number,
    readonly parameters: HnswParameters,
    private graph: NativeGraph | undefined,
  ) {
    this.stored = graph?.getCurrentCount() ?? 0;
  }

  private get native(): NativeGraph {
    return openGraph(this.graph);
  }

  static create(dimensions: number, parameters: HnswParameters = HNSW_DEFAULTS, capacity = 1024): HnswVectorIndex {
    const native = acquireGraph(dimensions);
    native.initIndex({ maxElements: Math.max(16, capacity), m: parameters.m, efConstruction: parameters.efConstruction, randomSeed: RANDOM_SEED });
    native.setEf(parameters.efSearch);
    return new HnswVectorIndex(dimensions, parameters, native);
  }

  /**
   * Reads an index written by `save`. hnswlib-node cannot tell which stored labels are marked deleted, so
   * the caller passes the live labels (the guild's records); any other stored label is treated as deleted.
   */
  static async load(path: string, dimensions: number, liveLabels: Iterable<number>, parameters: HnswParameters = HNSW_DEFAULTS): Promise<HnswVectorIndex> {
    const native = await readGraph(path, dimensions);
    native.setEf(parameters.efSearch);
    const index = new HnswVectorIndex(dimensions, parameters, native);
    const stored = new Set(native.getIdsList());
    for (const label of liveLabels) {
      if (!stored.has(label)) throw new StoreError('INDEX_CORRUPT', `HNSW index file ${path} lacks label ${label}`, { path, label });
      index.live.add(label);
    }
    return index;
  }

  get size(): number {
    return this.live.size;
  }

  get deletedCount(): number {
    return this.stored - this.live.size;
  }

  get capacity(): number {
    return this.native.getMaxElements();
  }

  has(label: number): boolean {
    return this.live.has(label);
  }

  add(label: number, vector: Float32Array): void {
    checkDimensions(vector, this.dimensions);
    if (this.live.has(label)) {
      this.native.addPoint(Array.from(vector), label); // hnswlib replaces the vector of an existing label
      return;
    }
    if (this.stored >= this.native.getMaxElements()) {
      this.native.resizeIndex(Math.ceil(this.native.getMaxElements() * 1.5) + 16);
    }
    const wasDeleted = this.stored > this.live.size && unmarkIfDeleted(this.native, label);
    this.native.addPoint(Array.from(vector), label);
    if (!wasDeleted) this.stored++;
    this.live.add(label);
  }

  remove(label: number): boolean {
    if (!this.live.delete(label)) return false;
    this.native.markDelete(label);
    return true;
  }

  search(query: Float32Array, k: number, filter?: LabelFilter): VectorHit[] {
    checkDimensions(query, this.dimensions);
    const wanted = Math.min(k, this.live.size);
    if (wanted <= 0) return [];
    const queryArray = Array.from(query);
    // hnswlib keeps exploring until it holds max(ef, k) labels that pass the filter (or the graph is
    // exhausted), so a selective filter costs time, not results.
    const result = this.native.searchKnn(queryArray, wanted, filter);
    const hits = result.neighbors.map((label, i) => ({ label, score: 1 - (result.distances[i] ?? 1) }));
    if (hits.length >= wanted || filter === undefined) return hits;
    // Fewer than k: marked-deleted nodes can cut the graph; finish with an exact scan of the allowed labels.
    return this.exactSearch(query, wanted, filter);
  }

  /** Exact scan over live labels (used as the filtered-search fallback and by the benchmark for recall). */
  exactSearch(query: Float32Array, k: number, filter?: LabelFilter): VectorHit[] {
    const hits: VectorHit[] = [];
    for (const label of this.live) {
      if (filter !== undefined && !filter(label)) continue;
      const vector = this.native.getPoint(label);
      let score = 0;
      for (let i = 0; i < vector.length; i++) score += (vector[i] ?? 0) * (query[i] ?? 0);
      hits.push({ label, score });
    }
    return hits.sort((a, b) => b.score - a.score || a.label - b.label).slice(0, k);
  }

  getVector(label: number): Float32Array | undefined {
    if (!this.live.has(label)) return undefined;
    return Float32Array.from(this.native.getPoint(label));
  }

  labels(): IterableIterator<number> {
    return this.live.values();
  }

  setEfSearch(ef: number): void {
    this.native.setEf(ef);
  }

  async save(path: string): Promise<void> {
    await this.native.writeIndex(path);
  }

  /** Frees the graph now (see native-graphs.ts); the index must not be used afterwards. */
  close(): void {
    if (this.graph !== undefined) releaseGraph(this.graph);
    this.graph = undefined;
  }

  /** A fresh index holding only the live vectors: drops marked-deleted nodes and their memory. */
  compacted(): HnswVectorIndex {
    return runSteps(this.compactedSteps());
  }

  /**
   * `compacted` one vector per step, for a rebuild that lets other work run in between: this index may
   * keep changing meanwhile (vectors removed since the start are skipped; the caller replays the changes).
   */
  compactedSteps(): Generator<void, HnswVectorIndex> {
    const fresh = HnswVectorIndex.create(this.dimensions, this.parameters, Math.ceil(this.live.size * 1.25) + 16);
    return closeIfAbandoned(fresh, this.copyLiveInto(fresh));
  }

  private *copyLiveInto(fresh: HnswVectorIndex): Generator<void, void> {
    for (const label of [...this.live]) {
      if (!this.live.has(label)) continue;
      fresh.native.addPoint(this.native.getPoint(label), label);
      fresh.live.add(label);
      yield;
    }
    fresh.stored = fresh.live.size;
  }
}
