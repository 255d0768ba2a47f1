/**
 * A vector index over unit vectors with numeric labels. Scores are cosine similarities (inner products of
 * unit vectors), best first. Implementations: `ExactVectorIndex` (brute force, small guilds) and
 * `HnswVectorIndex` (hnswlib graph, mid-size guilds), `ReducedHnswVectorIndex` (graph over PCA-projected
 * vectors + exact re-rank, large guilds); `createVectorIndex`/`rebuildIndex` in `./select.ts` pick one.
 */
export type VectorIndexKind = 'exact' | 'hnsw' | 'pca-hnsw';

export interface VectorHit {
  label: number;
  /** Cosine similarity in [-1, 1]. */
  score: number;
}

/** Returns true for labels that may appear in results. Called synchronously during the search. */
export type LabelFilter = (label: number) => boolean;

export interface VectorIndex {
  readonly kind: VectorIndexKind;
  readonly dimensions: number;
  /** Live (not removed) vectors. */
  readonly size: number;
  /** Removed vectors still occupying space (HNSW marks them deleted; compaction drops them). */
  readonly deletedCount: number;
  has(label: number): boolean;
  /** Adds or replaces the vector of `label`. The vector must be unit length. */
  add(label: number, vector: Float32Array): void;
  /** Returns false when the label was not present. */
  remove(label: number): boolean;
  /** Up to k hits, best first; fewer only when fewer than k live labels pass the filter. */
  search(query: Float32Array, k: number, filter?: LabelFilter): VectorHit[];
  getVector(label: number): Float32Array | undefined;
  /** Live labels. */
  labels(): IterableIterator<number>;
  /**
   * Writes the index to `path` (not atomically: callers write to a temporary name and rename). A file, or
   * for `pca-hnsw` a directory whose files are fsync'd.
   */
  save(path: string): Promise<void>;
  /**
   * Frees the graph's native memory and open files now (hnsw, pca-hnsw; the exact scan has none); the index
   * must not be used afterwards.
   */
  close?(): void;
}
