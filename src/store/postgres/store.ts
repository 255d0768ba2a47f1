/**
 * PostgresImageStore: the ImageStore contract (../types.ts) on PostgreSQL + pgvector, for bots that run as
 * several processes or machines over one database (VECTOR_STORE=postgres).
 *
 * Every write is one transaction that first locks the guild's row in `guilds` (upserting it): that row
 * holds the guild's embedding variant (checked, like the file store's manifest), the id allocator and the
 * record count, so concurrent adds of one guild serialise there and an add of the same source twice yields
 * one record. Metadata, signature and vector are one row, so they commit or roll back together.
 *
 * Search: the caller's filter (permissions, NSFW, exclusions) is a synchronous JS predicate, so rows are
 * fetched in distance order and filtered here, over-fetching more each round (sized by the pass rate seen so far) until k pass or the
 * guild is exhausted. Small guilds are scanned exactly (a MATERIALIZED CTE keeps the planner off the HNSW
 * index); larger ones use the HNSW index with pgvector 0.8 iterative scans (relaxed order, re-sorted
 * here), so a LIMIT beyond ef_search still returns rows of this guild. If the iterative scan gives up
 * (hnsw.max_scan_tuples) before enough rows pass, the exact scan finishes the job: filtered searches
 * return k results whenever k records pass. Guilds past REDUCED_SEARCH_MIN_IMAGES are made ready for
 * reduced search in the background (./reduction.ts) and from then on search the small graph of 257-d points
 * and re-rank its candidates with the full embeddings.
 */
import pg from 'pg';
import type { Pool, PoolClient } from 'pg';
import { EMBEDDING_DIMENSIONS, type ImageEmbedding } from '../../embedding/types.ts';
import { isDejavuError, StoreError } from '../../errors.ts';
import { childLogger } from '../../logger.ts';
import { checkGuildId } from '../guild-index.ts';
import { checkNewImage, checkQuery, newImageRecord, unitVector } from '../records.ts';
import type { GuildStats, ImageRecord, ImageSource, ImageStore, RecordMetadata, ScoredRecord, SearchOptions } from '../types.ts';
import { migrate, readSchemaShape, type VectorType } from './migrations.ts';
import {
  loadProjection,
  REDUCED_RERANK,
  REDUCED_SEARCH_MIN_IMAGES,
  reducedPointLiteral,
  reducedQueryLiteral,
  reduceGuild,
  type ReductionOutcome,
  type StoredProjection,
} from './reduction.ts';
import { inTransaction } from './transaction.ts';
import { METADATA_COLUMNS, metadataFromRow, parseVector, recordFromRow, recordParameters, vectorLiteral, type MetadataRow, type RecordRow } from './rows.ts';

export interface PostgresStoreOptions {
  /** `postgresql://user:password@host:port/database`. */
  databaseUrl: string;
  /** Embedding variant this store accepts (Embedder.variant); undefined opens it for reading and removal only. */
  variant: string | undefined;
  dimensions?: number;
  /** Column type of a new schema (default halfvec); an existing schema keeps its own and must match if given. */
  vectorType?: VectorType | undefined;
  /** Schema of the tables (default `public`); tests and benchmarks use their own. */
  schema?: string;
  /** Guilds with at most this many images are searched exactly (default EXACT_SEARCH_MAX_IMAGES). */
  exactSearchMaxImages?: number;
  /** hnsw.ef_search of the first round of a search (default HNSW_EF_SEARCH). */
  efSearch?: number;
  /** Guilds with at least this many images move to reduced search (default REDUCED_SEARCH_MIN_IMAGES). */
  reducedSearchMinImages?: number;
  /** Reduced-search candidates re-ranked with the full embeddings (default REDUCED_RERANK). */
  rerank?: number;
  /** Pool size (default 10). */
  maxConnections?: number;
}

export interface PostgresImageStore extends ImageStore {
  readonly backend: 'postgres';
  readonly schema: string;
  readonly vectorType: VectorType;
  /**
   * Makes a guild ready for reduced search now (fits its projection, writes missing points) instead of
   * waiting for the background job that its growth starts; joins that job if it runs. 'busy': another
   * process holds the guild's job.
   */
  reduceGuild(guildId: string): Promise<ReductionOutcome>;
}

/**
 * Up to this many images a guild is scanned exactly: exact results, and a small guild sharing a partition
 * with a big one does not walk the big one's graph. bench/index.ts --store postgres (1280-d halfvec, two
 * busy cores): exact p50 4 ms at 500, 7 ms at 1000, 12 ms at 2000, 20 ms at 4000, ~1 s at 100k, against
 * 3–6 ms for the HNSW index at those sizes. The file store's constant of the same name (src/index/select.ts)
 * is 500: each of its guilds has a graph of its own, so only speed decides, and its JS scan loses from ~500.
 */
export const EXACT_SEARCH_MAX_IMAGES = 1000;
/** hnsw.ef_search (pgvector default 40): 200 keeps recall@10 ≥ 0.95 at 100k vectors (bench/index.ts). */
export const HNSW_EF_SEARCH = 200;
/** Rows fetched by the first round of a filtered search, as a multiple of k (later rounds: nextLimit). */
const FILTERED_OVERFETCH = 4;
const RECORD_BATCH = 500;
const log = childLogger('store-postgres');

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

interface GuildRow {
  variant: string;
  dimensions: number;
  images: number;
  projection_id: number | null;
  reduced_ready: boolean;
}

const GUILD_COLUMNS = 'variant, dimensions, images, projection_id, reduced_ready';
/** After a reduction job found its guild busy in another process or failed, wait this long before retrying. */
const REDUCTION_RETRY_MS = 60_000;
type SearchMode = 'exact' | 'hnsw' | 'reduced';

interface ScoredRow extends MetadataRow {
  distance: number;
}

/** A query as pgvector text: the full vector and, in reduced search, its point [Pq, 0]. */
interface QueryLiterals {
  vector: string;
  point: string;
}

export async function openPostgresImageStore(options: PostgresStoreOptions): Promise<PostgresImageStore> {
  const schema = options.schema ?? 'public';
  if (!SCHEMA_NAME.test(schema)) throw new StoreError('INVALID_INPUT', `Schema name must match ${SCHEMA_NAME} (got ${JSON.stringify(schema)})`, { schema });
  const dimensions = options.dimensions ?? EMBEDDING_DIMENSIONS;
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: options.maxConnections ?? 10,
    // The vector types live in the extension's schema (public by default).
    options: `-c search_path=${schema},public`,
  });
  pool.on('error', (error) => log.error({ err: error }, 'idle PostgreSQL connection failed'));
  try {
    const client = await pool.connect().catch((error: unknown) => {
      throw new StoreError('STORE_FAILED', `Cannot connect to PostgreSQL (DATABASE_URL): ${String(error)}`, { schema }, { cause: error });
    });
    try {
      const applied = await migrate(client, schema, { dimensions, vectorType: options.vectorType ?? 'halfvec' });
      if (applied.length > 0) log.info({ schema, applied }, 'applied schema migrations');
      const shape = await readSchemaShape(client, schema);
      if (shape.dimensions !== dimensions) {
        throw new StoreError(
          'INDEX_VARIANT_MISMATCH',
          `Schema ${schema} stores ${shape.dimensions}-d vectors but the embedder produces ${dimensions}-d ones; use another schema or database, or the original embedder.`,
          { schema, indexDimensions: shape.dimensions, embedderDimensions: dimensions },
        );
      }
      if (options.vectorType !== undefined && shape.vectorType !== options.vectorType) {
        throw new StoreError(
          'CONFIG_INVALID',
          `Schema ${schema} stores embeddings as ${shape.vectorType} but PG_VECTOR_TYPE=${options.vectorType}; set PG_VECTOR_TYPE=${shape.vectorType} or migrate into a new schema.`,
          { schema, stored: shape.vectorType, requested: options.vectorType },
        );
      }
      return new PgImageStore(pool, options, schema, dimensions, shape.vectorType);
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw wrapError(error, 'Opening the PostgreSQL image store failed', { schema });
  }
}

class PgImageStore implements PostgresImageStore {
  readonly backend = 'postgres' as const;
  private readonly exactMax: number;
  private readonly efSearch: number;
  private readonly reducedMin: number;
  private readonly rerank: number;
  /** Projections of reduced guilds, by guild (each names its id: a refitted guild reloads). */
  private readonly projections = new Map<string, StoredProjection>();
  private readonly reductions = new Map<string, Promise<ReductionOutcome>>();
  private readonly reductionRetryAt = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly options: PostgresStoreOptions,
    readonly schema: string,
    private readonly dimensions: number,
    readonly vectorType: VectorType,
  ) {
    this.exactMax = options.exactSearchMaxImages ?? EXACT_SEARCH_MAX_IMAGES;
    this.efSearch = Math.min(1000, Math.max(1, options.efSearch ?? HNSW_EF_SEARCH));
    this.reducedMin = options.reducedSearchMinImages ?? REDUCED_SEARCH_MIN_IMAGES;
    this.rerank = Math.max(1, options.rerank ?? REDUCED_RERANK);
  }

  async add(source: ImageSource, contentHash: string, embedding: ImageEmbedding): Promise<ImageRecord> {
    checkNewImage(source, contentHash, embedding.vector, this.dimensions);
    const variant = this.options.variant;
    if (variant === undefined) {
      throw new StoreError('INVALID_INPUT', 'This image store was opened without an embedding variant and cannot add images', { guildId: source.guildId });
    }
    const unit = unitVector(embedding.vector);
    const vector = vectorLiteral(unit);
    const { record, guild } = await this.transaction(async (client) => {
      // Creates or locks the guild's row: adds of one guild serialise here until commit.
      const { rows } = await client.query<GuildRow & { next_id: number }>(
        `INSERT INTO guilds (guild_id, variant, dimensions) VALUES ($1, $2, $3)
         ON CONFLICT (guild_id) DO UPDATE SET guild_id = EXCLUDED.guild_id
         RETURNING ${GUILD_COLUMNS}, next_id`,
        [source.guildId, variant, this.dimensions],
      );
      const guild = rows[0] ?? fail('guild upsert returned no row');
      this.checkVariant(source.guildId, guild);
      const existing = await this.selectBySource(client, source.guildId, source.sourceKey);
      if (existing !== undefined) return { record: existing, guild };
      const record = newImageRecord(source, guild.next_id, contentHash, embedding);
      const inserted = await client.query(
        `INSERT INTO images (guild_id, id, channel_id, message_id, source_key, author_id, created_at, nsfw, kind, label, content_hash, width, height, signature, embedding)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::${this.vectorType})
         ON CONFLICT (guild_id, source_key) DO NOTHING`,
        recordParameters(record, vector),
      );
      if (inserted.rowCount === 0) {
        // Unreachable while the guild row lock is held, kept so an add can never return a record that is not stored.
        return { record: (await this.selectBySource(client, source.guildId, source.sourceKey)) ?? fail('conflicting record vanished'), guild };
      }
      if (guild.projection_id !== null) {
        // A guild with a projection: the point is written with the image (the fill only covers older images).
        const { projection } = await this.projectionOf(client, source.guildId, guild.projection_id);
        await client.query('INSERT INTO image_reductions (guild_id, id, point) VALUES ($1, $2, $3::halfvec)', [
          source.guildId,
          record.id,
          reducedPointLiteral(projection, unit),
        ]);
      }
      await client.query('UPDATE guilds SET next_id = next_id + 1, images = images + 1 WHERE guild_id = $1', [source.guildId]);
      return { record, guild: { ...guild, images: guild.images + 1 } };
    });
    this.reduceWhenDue(source.guildId, guild);
    return record;
  }

  async getBySource(guildId: string, sourceKey: string): Promise<ImageRecord | undefined> {
    return this.withGuild(guildId, undefined, (client) => this.selectBySource(client, guildId, sourceKey));
  }

  async findByHash(guildId: string, contentHash: string): Promise<ImageRecord[]> {
    return this.withGuild(guildId, [], async (client) => {
      const { rows } = await client.query<RecordRow>(
        `SELECT ${METADATA_COLUMNS}, signature FROM images WHERE guild_id = $1 AND content_hash = $2 ORDER BY id`,
        [guildId, contentHash],
      );
      return rows.map(recordFromRow);
    });
  }

  async findSimilar(guildId: string, vector: Float32Array, options: SearchOptions): Promise<ScoredRecord[]> {
    checkQuery(guildId, vector, this.dimensions);
    const k = Math.floor(options.k);
    checkGuildId(guildId);
    if (!(k > 0)) return [];
    const unit = unitVector(vector);
    return this.withGuild(guildId, [], async (client, guild) => {
      this.reduceWhenDue(guildId, guild);
      const query: QueryLiterals = { vector: vectorLiteral(unit), point: '' };
      let mode: SearchMode = guild.images <= this.exactMax ? 'exact' : 'hnsw';
      if (mode === 'hnsw' && guild.reduced_ready && guild.projection_id !== null) {
        mode = 'reduced';
        query.point = reducedQueryLiteral((await this.projectionOf(client, guildId, guild.projection_id)).projection, unit);
      }
      const hits = await this.searchRounds(client, guildId, query, k, options.filter, guild.images, mode);
      return this.withSignatures(client, guildId, hits.slice(0, k));
    });
  }

  reduceGuild(guildId: string): Promise<ReductionOutcome> {
    checkGuildId(guildId);
    const running = this.reductions.get(guildId);
    if (running !== undefined) return running;
    const started = performance.now();
    let reported = 0;
    const job = this.run((client) =>
      reduceGuild(client, guildId, {
        dimensions: this.dimensions,
        lockNamespace: this.schema,
        cancelled: () => this.closed,
        onProgress: ({ filled }) => {
          if (filled - reported < 50_000) return;
          reported = filled;
          log.info({ guildId, filled }, 'writing reduced points');
        },
      }),
    )
      .then((outcome) => {
        if (outcome !== 'ready') this.reductionRetryAt.set(guildId, Date.now() + REDUCTION_RETRY_MS);
        log.info({ guildId, outcome, seconds: Math.round((performance.now() - started) / 1000) }, 'reduced search job ended');
        return outcome;
      })
      .finally(() => this.reductions.delete(guildId));
    this.reductions.set(guildId, job);
    return job;
  }

  async getVector(guildId: string, id: number): Promise<Float32Array | undefined> {
    return this.withGuild(guildId, undefined, async (client) => {
      const { rows } = await client.query<{ embedding: string }>('SELECT embedding::text AS embedding FROM images WHERE guild_id = $1 AND id = $2', [guildId, id]);
      const row = rows[0];
      return row === undefined ? undefined : parseVector(row.embedding, this.dimensions);
    });
  }

  async *listRecords(guildId: string): AsyncIterable<ImageRecord> {
    // Keyset pages in short transactions: a long listing never holds a connection or a snapshot open.
    let after = 0;
    for (;;) {
      const page = await this.withGuild(guildId, [], async (client) => {
        const { rows } = await client.query<RecordRow>(
          `SELECT ${METADATA_COLUMNS}, signature FROM images WHERE guild_id = $1 AND id > $2 ORDER BY id LIMIT ${RECORD_BATCH}`,
          [guildId, after],
        );
        return rows.map(recordFromRow);
      });
      yield* page;
      const last = page.at(-1);
      if (last === undefined || page.length < RECORD_BATCH) return;
      after = last.id;
    }
  }

  async removeMessage(guildId: string, messageId: string): Promise<number> {
    return this.removeWhere(guildId, 'message_id = $2', messageId);
  }

  async removeChannel(guildId: string, channelId: string): Promise<number> {
    return this.removeWhere(guildId, 'channel_id = $2', channelId);
  }

  /** The rows go (their reduced points with them, ON DELETE CASCADE); nothing else holds the vectors. */
  async removeAuthor(guildId: string, authorId: string): Promise<number> {
    return this.removeWhere(guildId, 'author_id = $2', authorId);
  }

  async removeGuild(guildId: string): Promise<number> {
    this.projections.delete(guildId);
    return this.withGuild(guildId, 0, async (client) => {
      const removed = await client.query('DELETE FROM images WHERE guild_id = $1', [guildId]);
      await client.query('DELETE FROM guilds WHERE guild_id = $1', [guildId]);
      return removed.rowCount ?? 0;
    }, true);
  }

  async stats(): Promise<GuildStats[]> {
    const { rows } = await this.run((client) => client.query<{ guild_id: string; images: number }>('SELECT guild_id, images FROM guilds'));
    return rows.map((row) => ({ id: row.guild_id, images: row.images })).sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Every acknowledged write is already committed. */
  async flush(): Promise<void> {}

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Jobs see `closed` between batches and stop; what they wrote stays and the next run resumes from it.
    await Promise.allSettled(this.reductions.values());
    await this.pool.end();
  }

  /**
   * Starts the guild's reduction job in the background when it has grown past the threshold (or has a
   * projection whose points an earlier process did not finish) and no job runs or failed recently here.
   */
  private reduceWhenDue(guildId: string, guild: GuildRow): void {
    if (this.closed || guild.reduced_ready || this.reductions.has(guildId)) return;
    if (guild.projection_id === null && guild.images < this.reducedMin) return;
    if ((this.reductionRetryAt.get(guildId) ?? 0) > Date.now()) return;
    this.reduceGuild(guildId).catch((error: unknown) => {
      this.reductionRetryAt.set(guildId, Date.now() + REDUCTION_RETRY_MS);
      log.error({ err: error, guildId }, 'reduced search job failed; the guild keeps the full-vector index and is retried later');
    });
  }

  private async projectionOf(client: PoolClient, guildId: string, id: number): Promise<StoredProjection> {
    const cached = this.projections.get(guildId);
    if (cached?.id === id) return cached;
    const loaded = await loadProjection(client, guildId, id, this.dimensions);
    this.projections.set(guildId, loaded);
    return loaded;
  }

  /**
   * Fetches rows best first in growing rounds until k pass the filter or the guild has no more.
   * An HNSW round that returns fewer rows than asked ran into hnsw.max_scan_tuples (or an unreachable part
   * of the graph) or raced with removals: the exact scan then finishes the search.
   */
  private async searchRounds(
    client: PoolClient,
    guildId: string,
    query: QueryLiterals,
    k: number,
    filter: ((record: RecordMetadata) => boolean) | undefined,
    guildSize: number,
    mode: SearchMode,
    firstLimit = Math.min(guildSize, filter === undefined ? k : Math.max(k * FILTERED_OVERFETCH, 40)),
  ): Promise<ScoredRow[]> {
    let limit = firstLimit;
    for (;;) {
      const rows = await this.nearest(client, guildId, query, limit, mode);
      const passing = filter === undefined ? rows : rows.filter((row) => filter(metadataFromRow(row)));
      if (passing.length >= k) return sortByDistance(passing);
      if (mode !== 'exact' && rows.length < limit) {
        log.debug({ guildId, limit, returned: rows.length }, 'iterative HNSW scan stopped early; finishing with an exact scan');
        return this.searchRounds(client, guildId, query, k, filter, guildSize, 'exact', limit);
      }
      if (limit >= guildSize || rows.length < limit) return sortByDistance(passing);
      limit = Math.min(guildSize, nextLimit(limit, rows.length, passing.length, k));
    }
  }

  private async nearest(client: PoolClient, guildId: string, query: QueryLiterals, limit: number, mode: SearchMode): Promise<ScoredRow[]> {
    const cast = this.vectorType;
    if (mode !== 'exact') {
      // Transaction-local settings in one round trip (SET LOCAL, which Citus forwards to the workers with
      // citus.propagate_set_commands = local). Relaxed order: rows come slightly out of order (the caller
      // re-sorts) but the scan continues past ef_search until LIMIT rows of this guild are found or
      // max_scan_tuples tuples were visited (other guilds of the partition included).
      const candidates = mode === 'reduced' ? Math.max(limit, this.rerank) : limit;
      const maxScanTuples = Math.max(20_000, candidates * 8);
      await client.query(`SET LOCAL hnsw.iterative_scan = relaxed_order; SET LOCAL hnsw.ef_search = ${this.efSearch}; SET LOCAL hnsw.max_scan_tuples = ${maxScanTuples}`);
      if (mode === 'reduced') {
        // The candidates' ids from the small graph, then their exact distances from the full embeddings.
        const { rows } = await client.query<ScoredRow>(
          `WITH candidates AS MATERIALIZED (
             SELECT id FROM image_reductions WHERE guild_id = $1 ORDER BY point <#> $3::halfvec LIMIT $4
           ) SELECT ${METADATA_COLUMNS}, embedding <=> $2::${cast} AS distance FROM images
              WHERE guild_id = $1 AND id IN (SELECT id FROM candidates) ORDER BY distance LIMIT $5`,
          [guildId, query.vector, query.point, candidates, limit],
        );
        return rows;
      }
      const { rows } = await client.query<ScoredRow>(
        `SELECT ${METADATA_COLUMNS}, embedding <=> $2::${cast} AS distance FROM images
          WHERE guild_id = $1 ORDER BY embedding <=> $2::${cast} LIMIT $3`,
        [guildId, query.vector, limit],
      );
      return rows;
    }
    // MATERIALIZED: the distance is computed for every row of the guild, so the HNSW index cannot be used.
    const { rows } = await client.query<ScoredRow>(
      `WITH scored AS MATERIALIZED (
         SELECT ${METADATA_COLUMNS}, embedding <=> $2::${cast} AS distance FROM images WHERE guild_id = $1
       ) SELECT * FROM scored ORDER BY distance LIMIT $3`,
      [guildId, query.vector, limit],
    );
    return rows;
  }

  private async withSignatures(client: PoolClient, guildId: string, hits: ScoredRow[]): Promise<ScoredRecord[]> {
    if (hits.length === 0) return [];
    const { rows } = await client.query<{ id: number; signature: Buffer }>('SELECT id, signature FROM images WHERE guild_id = $1 AND id = ANY($2::integer[])', [
      guildId,
      hits.map((hit) => hit.id),
    ]);
    const signatures = new Map(rows.map((row) => [row.id, row.signature]));
    return hits.flatMap((hit) => {
      const signature = signatures.get(hit.id);
      return signature === undefined ? [] : [{ record: { ...metadataFromRow(hit), signature: new Uint8Array(signature) }, score: 1 - hit.distance }];
    });
  }

  private async removeWhere(guildId: string, condition: string, value: string): Promise<number> {
    return this.withGuild(guildId, 0, async (client) => {
      const removed = await client.query(`DELETE FROM images WHERE guild_id = $1 AND ${condition}`, [guildId, value]);
      const count = removed.rowCount ?? 0;
      if (count > 0) await client.query('UPDATE guilds SET images = images - $2 WHERE guild_id = $1', [guildId, count]);
      return count;
    }, true);
  }

  private async selectBySource(client: PoolClient, guildId: string, sourceKey: string): Promise<ImageRecord | undefined> {
    const { rows } = await client.query<RecordRow>(`SELECT ${METADATA_COLUMNS}, signature FROM images WHERE guild_id = $1 AND source_key = $2`, [guildId, sourceKey]);
    return rows[0] === undefined ? undefined : recordFromRow(rows[0]);
  }

  /**
   * Runs `task` in a transaction on a guild that exists and whose variant matches; `absent` otherwise.
   * `lock` takes the guild row FOR UPDATE (writes keep its count exact against concurrent adds).
   */
  private async withGuild<T>(guildId: string, absent: T, task: (client: PoolClient, guild: GuildRow) => Promise<T>, lock = false): Promise<T> {
    checkGuildId(guildId);
    return this.transaction(async (client) => {
      const { rows } = await client.query<GuildRow>(`SELECT ${GUILD_COLUMNS} FROM guilds WHERE guild_id = $1${lock ? ' FOR UPDATE' : ''}`, [guildId]);
      const guild = rows[0];
      if (guild === undefined) return absent;
      this.checkVariant(guildId, guild);
      return task(client, guild);
    });
  }

  private checkVariant(guildId: string, guild: GuildRow): void {
    const variant = this.options.variant ?? guild.variant;
    if (guild.variant !== variant || guild.dimensions !== this.dimensions) {
      throw new StoreError(
        'INDEX_VARIANT_MISMATCH',
        `Guild ${guildId} was indexed with embedding variant "${guild.variant}" (${guild.dimensions}-d) but the embedder produces ` +
          `"${variant}" (${this.dimensions}-d); vectors of different variants cannot be compared. Re-index the guild ` +
          `(dejavu removes it with removeGuild) or configure the original embedder.`,
        { guildId, indexVariant: guild.variant, embedderVariant: variant, indexDimensions: guild.dimensions, embedderDimensions: this.dimensions },
      );
    }
  }

  private async transaction<T>(task: (client: PoolClient) => Promise<T>): Promise<T> {
    return this.run((client) => inTransaction(client, task));
  }

  /** Runs `task` on a pooled connection; database errors become StoreError STORE_FAILED. */
  private async run<T>(task: (client: PoolClient) => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreError('STORE_FAILED', 'The image store is closed', { schema: this.schema });
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw wrapError(error, 'Cannot reach PostgreSQL', { schema: this.schema });
    }
    let broken: Error | undefined;
    try {
      return await task(client);
    } catch (error) {
      if (!isDejavuError(error) && error instanceof Error && !('code' in error && typeof error.code === 'string' && error.code.length === 5)) broken = error;
      throw wrapError(error, 'PostgreSQL query failed', { schema: this.schema });
    } finally {
      // A connection-level failure (not an SQL error with a SQLSTATE) discards the connection.
      client.release(broken);
    }
  }
}

/**
 * The next round's row count: enough for k passing rows at the pass rate seen so far (with a 25% margin),
 * at least twice and at most 16 times the last one (a rate seen on few rows is a rough guess).
 */
function nextLimit(limit: number, fetched: number, passed: number, k: number): number {
  const rate = Math.max(passed / Math.max(fetched, 1), 1 / 256);
  return Math.min(limit * 16, Math.max(limit * 2, Math.ceil((k / rate) * 1.25)));
}

/** Relaxed-order iterative scans may return rows slightly out of order. */
function sortByDistance(rows: ScoredRow[]): ScoredRow[] {
  return rows.sort((a, b) => a.distance - b.distance || a.id - b.id);
}

function wrapError(error: unknown, message: string, context: Record<string, unknown>): Error {
  if (isDejavuError(error)) return error;
  return new StoreError('STORE_FAILED', `${message}: ${error instanceof Error ? error.message : String(error)}`, context, { cause: error });
}

function fail(message: string): never {
  throw new StoreError('STORE_FAILED', message, {});
}

