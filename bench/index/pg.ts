/**
 * What the PostgreSQL + pgvector sections share: bulk loads behind the store's back (far faster than
 * store.add), index builds with the bench's settings, sizes, and timed searches through the store.
 */
import type pg from 'pg';
import type { PostgresImageStore } from '../../src/store/postgres/index.ts';
import type { ImageSource, RecordMetadata } from '../../src/store/types.ts';
import type { ImageEmbedding } from '../../src/embedding/types.ts';
import { D, row } from './data.ts';
import { timeStoreQueries, type StoreQueryTimes } from './measure.ts';
import type { HnswBuild, PostgresOptions } from './options.ts';

/** Bulk-loaded row i lies in channel c<i % CHANNELS>: one channel is the "10% of channels" filter. */
export const CHANNELS = 10;
export const VISIBLE_CHANNEL = 3;
export const isVisible = (record: RecordMetadata): boolean => record.channelId === `c${VISIBLE_CHANNEL}`;
/** The same filter on row numbers, for the exact truth. */
export const isVisibleRow = (i: number): boolean => i % CHANNELS === VISIBLE_CHANNEL;

export function requireDatabaseUrl(options: PostgresOptions): string {
  if (options.databaseUrl === undefined) throw new Error('--store postgres needs --database-url, TEST_POSTGRES_URL or DATABASE_URL');
  return options.databaseUrl;
}

/** An image of the bench guild, for store.add (`'bench'` and placeholders besides the keys). */
export function benchImage(messageId: string, sourceKey: string): ImageSource {
  return { guildId: 'bench', channelId: 'c', messageId, sourceKey, authorId: 'u', createdAt: 0, nsfw: false, kind: 'attachment', label: 'x' };
}

export function benchEmbedding(vector: Float32Array): ImageEmbedding {
  return { vector, signature: new Uint8Array(1024), width: 1, height: 1 };
}

export const PLACEHOLDER_HASH = '0'.repeat(64);

/** Recall@10 and latency of `store.findSimilar` in the bench guild over the benchmark queries (k = 10). */
export async function pgQueries(
  store: PostgresImageStore,
  queries: Float32Array,
  truth: number[][],
  warmup: Float32Array,
  filter?: (record: RecordMetadata) => boolean,
): Promise<StoreQueryTimes> {
  const options = filter === undefined ? { k: 10 } : { k: 10, filter };
  // Warm-up with other queries: the pool's connections, pgvector's library, and the pages a search of this
  // kind touches, read into the page cache (a kept schema searched again starts cold).
  for (let q = 0; q < warmup.length / D; q++) await store.findSimilar('bench', row(warmup, q), options);
  return timeStoreQueries(queries.length / D, (q) => store.findSimilar('bench', row(queries, q), options), truth);
}

/** pgvector's binary `vector` input (int16 dimensions, int16 0, big-endian float4s): no text to print or parse. */
function binaryVector(vector: Float32Array): Buffer {
  const bytes = Buffer.alloc(4 + vector.length * 4);
  bytes.writeInt16BE(vector.length, 0);
  vector.forEach((value, i) => bytes.writeFloatBE(value, 4 + i * 4));
  return bytes;
}

/**
 * Inserts rows 0…n−1 of `data` into one guild as images 1…n (source key = row number, channel c<row % 10>),
 * in batches of 200, with vectors in pgvector's binary form cast to the column type by the server.
 */
export async function pgInsertRows(client: pg.Client, schema: string, vectorType: string, guildId: string, data: Float32Array, n: number): Promise<void> {
  const signature = Buffer.alloc(1024);
  const batch = 200;
  for (let first = 0; first < n; first += batch) {
    const count = Math.min(batch, n - first);
    const values: string[] = [];
    const parameters: unknown[] = [signature, guildId];
    for (let i = first; i < first + count; i++) {
      parameters.push(String(i), `c${i % CHANNELS}`, binaryVector(row(data, i)));
      const p = parameters.length;
      values.push(`($2, ${i + 1}, $${p - 1}, 'm' || $${p - 2}, $${p - 2}, 'u', 0, false, 'attachment', 'x.jpg', '${PLACEHOLDER_HASH}', 1, 1, $1, $${p}::vector::${vectorType})`);
    }
    await client.query(
      `INSERT INTO ${schema}.images (guild_id, id, channel_id, message_id, source_key, author_id, created_at, nsfw, kind, label, content_hash, width, height, signature, embedding) VALUES ${values.join(',')}`,
      parameters,
    );
  }
}

/**
 * Loads n rows into the bench guild of a fresh schema (HNSW index dropped during the load, then built
 * unless `buildIndex` is false).
 */
export async function pgLoad(
  client: pg.Client,
  schema: string,
  vectorType: string,
  data: Float32Array,
  n: number,
  options: PostgresOptions,
  buildIndex: boolean,
): Promise<{ loadSeconds: number; indexSeconds: number }> {
  await client.query(`DROP INDEX ${schema}.images_embedding_hnsw`);
  const start = performance.now();
  await pgInsertRows(client, schema, vectorType, 'bench', data, n);
  await client.query(`UPDATE ${schema}.guilds SET images = $1, next_id = $1 + 1 WHERE guild_id = 'bench'`, [n]);
  const loadSeconds = (performance.now() - start) / 1000;
  if (!buildIndex) return { loadSeconds, indexSeconds: Number.NaN };
  const indexSeconds = await pgCreateIndex(client, schema, 'images_embedding_hnsw', 'images', `embedding ${vectorType}_cosine_ops`, options.graph, options.maintenanceWorkMem);
  await client.query(`ANALYZE ${schema}.images`);
  return { loadSeconds, indexSeconds };
}

/**
 * Builds one of the store's HNSW indexes as its migration would, with the bench's build settings; seconds.
 * The build is fastest when the whole graph fits (about 4 GB for 1M 1280-d halfvec): `--pg-maintenance-work-mem 6GB`.
 */
export async function pgCreateIndex(client: pg.Client, schema: string, name: string, table: string, column: string, graph: HnswBuild, maintenanceWorkMem: string): Promise<number> {
  const start = performance.now();
  await client.query(`SET maintenance_work_mem = '${maintenanceWorkMem}'`);
  await client.query(`CREATE INDEX ${name} ON ${schema}.${table} USING hnsw (${column}) WITH (m = ${graph.m}, ef_construction = ${graph.efConstruction})`);
  return (performance.now() - start) / 1000;
}

export async function pgSizes(client: pg.Client, schema: string): Promise<{ total: number; hnsw: number }> {
  const { rows } = await client.query<{ total: string; hnsw: string }>(
    `SELECT (SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = '${schema}.images'::regclass) AS total,
            (SELECT sum(pg_relation_size(c.oid)) FROM pg_class c JOIN pg_am am ON am.oid = c.relam
              WHERE am.amname = 'hnsw' AND c.relnamespace = '${schema}'::regnamespace) AS hnsw`,
  );
  return { total: Number(rows[0]?.total ?? 0), hnsw: Number(rows[0]?.hnsw ?? 0) };
}
