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
export { HNSW_EF_CONSTRUCTION, HNSW_M, IMAGE_PARTITIONS, type VectorType } from './migrations.ts';
