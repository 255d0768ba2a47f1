/**
 * PostgreSQL + pgvector image store (VECTOR_STORE=postgres): one database shared by every shard and
 * machine. `openPostgresImageStore` connects, runs the schema migrations (./migrations.ts) and returns the
 * ImageStore (./store.ts); `dejavu migrate` and src/store/open.ts build on exactly this entry point.
 */
export {
  EXACT_SEARCH_MAX_IMAGES,
  HNSW_EF_SEARCH,
  openPostgresImageStore,
  type PostgresImageStore,
  type PostgresStoreOptions,
} from './store.ts';
export { HNSW_EF_CONSTRUCTION, HNSW_M, IMAGE_PARTITIONS, REDUCED_DIMENSIONS, REDUCED_HNSW_EF_CONSTRUCTION, REDUCED_HNSW_M, type VectorType } from './migrations.ts';
export { PROJECTION_SAMPLES, REDUCED_RERANK, REDUCED_SEARCH_MIN_IMAGES, type ReductionOutcome } from './reduction.ts';
