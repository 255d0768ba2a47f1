/**
 * Versioned schema migrations of the PostgreSQL image store, run by every process on open.
 *
 * All of them run in one transaction under a database-wide advisory lock, so shards that start together
 * queue behind the first one and then find every version already recorded in `schema_migrations`; a
 * migration that fails rolls back entirely (DDL is transactional in PostgreSQL) and is retried at the
 * next start. Migrations are append-only: a released one is never edited, a change is a new version.
 *
 * Layout (every primary key and unique key starts with guild_id, so `create_distributed_table(…, 'guild_id')`
 * in Citus distributes both tables by guild unchanged and every query names one guild):
 * - `guilds`: one row per guild: the embedding variant its vectors come from, the next record id, and the
 *   record count (kept in the same transaction as the records; it picks exact vs HNSW search and feeds stats).
 * - `images`: metadata, duplicate signature and embedding in one row, hash-partitioned on guild_id.
 * - `guild_projections` and `image_reductions` (version 2): for guilds past REDUCED_SEARCH_MIN_IMAGES, a PCA
 *   projection fitted to the guild and one 257-d [Px, residual] point per image with its own HNSW index
 *   (denser since version 3), searched first and re-ranked with the full embeddings (reduction.ts).
 */
import type { PoolClient } from 'pg';
import { inTransaction } from './transaction.ts';

export type VectorType = 'vector' | 'halfvec';

export interface SchemaShape {
  dimensions: number;
  vectorType: VectorType;
}

interface Migration {
  version: number;
  name: string;
  statements: (shape: SchemaShape) => string[];
}

/** Hash partitions of `images`. More partitions mean smaller HNSW graphs per partition to search and build. */
export const IMAGE_PARTITIONS = 16;

/**
 * HNSW build parameters. m = 16 (pgvector's default; 2·16 neighbours per node on the ground layer).
 * ef_construction = 128, not pgvector's 64: at 100k 1280-d vectors (bench/index.ts --store postgres) 64
 * reached recall@10 0.91 at ef_search 100 and 0.955 at 200 (halfvec); the richer graph buys recall at
 * every ef_search for a slower build (CREATE INDEX or each insert).
 */
export const HNSW_M = 16;
export const HNSW_EF_CONSTRUCTION = 128;

/**
 * Width of a reduced point: REDUCED_DIMENSIONS projected values and the residual norm. Fixed in the column
 * type; projections of fewer dimensions (tiny test embeddings) are padded with zeros.
 */
export const REDUCED_DIMENSIONS = 256;
export const REDUCED_POINT_WIDTH = REDUCED_DIMENSIONS + 1;

/**
 * HNSW build parameters of the reduced points' graph (version 3; version 2 built it with HNSW_M /
 * HNSW_EF_CONSTRUCTION). At 1M points (bench/index.ts --pg-reuse, the same 1000 queries, the two graphs
 * searched in alternating runs) m 16 / ef_construction 128 found 0.940 / 0.950 of the true top 10 at
 * ef_search 200 with 128 / 256 candidates re-ranked, m 24 / 200 found 0.954 / 0.966 at the same latency;
 * the denser graph costs 1.8× the build time (1196 s against 623–725 s) and more per insert.
 */
export const REDUCED_HNSW_M = 24;
export const REDUCED_HNSW_EF_CONSTRUCTION = 200;

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'guilds and partitioned images with an HNSW index',
    statements: ({ dimensions, vectorType }) => [
      `CREATE TABLE guilds (
        guild_id text PRIMARY KEY,
        variant text NOT NULL,
        dimensions integer NOT NULL,
        next_id integer NOT NULL DEFAULT 1,
        images integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE TABLE images (
        guild_id text NOT NULL,
        id integer NOT NULL,
        channel_id text NOT NULL,
        message_id text NOT NULL,
        source_key text NOT NULL,
        author_id text NOT NULL,
        created_at bigint NOT NULL,
        nsfw boolean NOT NULL,
        kind text NOT NULL CHECK (kind IN ('attachment', 'embed', 'file')),
        label text NOT NULL,
        content_hash text NOT NULL,
        width integer NOT NULL,
        height integer NOT NULL,
        signature bytea NOT NULL,
        embedding ${vectorType}(${dimensions}) NOT NULL,
        PRIMARY KEY (guild_id, id),
        UNIQUE (guild_id, source_key)
      ) PARTITION BY HASH (guild_id)`,
      ...Array.from(
        { length: IMAGE_PARTITIONS },
        (_, remainder) => `CREATE TABLE images_p${remainder} PARTITION OF images FOR VALUES WITH (MODULUS ${IMAGE_PARTITIONS}, REMAINDER ${remainder})`,
      ),
      'CREATE INDEX images_content_hash ON images (guild_id, content_hash)',
      'CREATE INDEX images_message ON images (guild_id, message_id)',
      'CREATE INDEX images_channel ON images (guild_id, channel_id)',
      `CREATE INDEX images_embedding_hnsw ON images USING hnsw (embedding ${vectorType}_cosine_ops) WITH (m = ${HNSW_M}, ef_construction = ${HNSW_EF_CONSTRUCTION})`,
    ],
  },
  {
    version: 2,
    name: 'reduced search: per-guild projections, 257-d points with their own HNSW index, embeddings stored inline',
    statements: () => [
      // MAIN keeps a 1280-d embedding (2.5 KB halfvec, 5 KB vector) in the row instead of TOAST, so
      // re-ranking a candidate is one heap fetch instead of three (bench: 256 candidates in 1.6 ms, not 5).
      // Existing rows stay where they are; only new rows are stored inline.
      'ALTER TABLE images ALTER COLUMN embedding SET STORAGE MAIN',
      'ALTER TABLE guilds ADD COLUMN projection_id integer',
      'ALTER TABLE guilds ADD COLUMN reduced_ready boolean NOT NULL DEFAULT false',
      `CREATE TABLE guild_projections (
        guild_id text NOT NULL REFERENCES guilds (guild_id) ON DELETE CASCADE,
        id integer NOT NULL,
        input_dimensions integer NOT NULL,
        output_dimensions integer NOT NULL,
        basis bytea NOT NULL,
        samples integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (guild_id, id)
      )`,
      `CREATE TABLE image_reductions (
        guild_id text NOT NULL,
        id integer NOT NULL,
        point halfvec(${REDUCED_POINT_WIDTH}) NOT NULL,
        PRIMARY KEY (guild_id, id),
        FOREIGN KEY (guild_id, id) REFERENCES images (guild_id, id) ON DELETE CASCADE
      ) PARTITION BY HASH (guild_id)`,
      ...Array.from(
        { length: IMAGE_PARTITIONS },
        (_, remainder) =>
          `CREATE TABLE image_reductions_p${remainder} PARTITION OF image_reductions FOR VALUES WITH (MODULUS ${IMAGE_PARTITIONS}, REMAINDER ${remainder})`,
      ),
      // Inner product: points carry the norm of the embedding (1), so the graph ranks like a distance graph.
      `CREATE INDEX image_reductions_hnsw ON image_reductions USING hnsw (point halfvec_ip_ops) WITH (m = ${HNSW_M}, ef_construction = ${HNSW_EF_CONSTRUCTION})`,
    ],
  },
  {
    version: 3,
    name: 'reduced search: a denser HNSW graph over the points',
    // A rebuild: instant on a fresh schema, about 20 minutes per million points where guilds are already
    // reduced (docs/scaling.md, "Upgrading to schema version 3"); the other processes wait on the migration lock meanwhile.
    statements: () => [
      'DROP INDEX image_reductions_hnsw',
      `CREATE INDEX image_reductions_hnsw ON image_reductions USING hnsw (point halfvec_ip_ops) WITH (m = ${REDUCED_HNSW_M}, ef_construction = ${REDUCED_HNSW_EF_CONSTRUCTION})`,
    ],
  },
];

/** Key of the advisory lock that serialises migrations (one per database: the extension is database-wide). */
const MIGRATION_LOCK = 'dejavu:image-store:migrations';

/**
 * Creates the schema if needed and applies the migrations it lacks, once, in one transaction.
 * `shape` only matters for a fresh schema; an existing one keeps its column type (see readSchemaShape).
 * `upToVersion` stops early (tests of upgrades from an older schema).
 */
export async function migrate(client: PoolClient, schema: string, shape: SchemaShape, upToVersion = Number.POSITIVE_INFINITY): Promise<number[]> {
  return inTransaction(client, async () => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [MIGRATION_LOCK]);
    await client.query('CREATE EXTENSION IF NOT EXISTS vector');
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${schema}.schema_migrations`);
    const done = new Set(rows.map((row) => row.version));
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version) || migration.version > upToVersion) continue;
      for (const statement of migration.statements(shape)) await client.query(statement);
      await client.query(`INSERT INTO ${schema}.schema_migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
      applied.push(migration.version);
    }
    return applied;
  });
}

/** The embedding column as created: `vector(1280)` → { vectorType: 'vector', dimensions: 1280 }. */
export async function readSchemaShape(client: PoolClient, schema: string): Promise<SchemaShape> {
  const { rows } = await client.query<{ type: string }>(
    `SELECT format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = 'images' AND a.attname = 'embedding'`,
    [schema],
  );
  const match = /^(?:\w+\.)?(vector|halfvec)\((\d+)\)$/.exec(rows[0]?.type ?? '');
  if (match === null) throw new Error(`${schema}.images.embedding has an unexpected type ${JSON.stringify(rows[0]?.type)}`);
  return { vectorType: match[1] as VectorType, dimensions: Number(match[2]) };
}
