/**
 * PostgresImageStore: the ImageStore contract (../types.ts) on PostgreSQL + pgvector, for bots that run as
 * several processes or machines over one database (VECTOR_STORE=postgres).
 *
 * Every write is one transaction that first locks the guild's row in `guilds` (upserting it): that row
 * holds the guild's embedding variant (checked, like the file store's manifest), the id allocator and the
 * record count, so concurrent adds of one guild serialise there and an add of the same source twice yields
 * one record. Metadata, signature and vector are one row, so they commit or roll back together.
 *
 * Search planning lives in ./search.ts (exact scan for small guilds, HNSW with iterative scans, reduced
 * search), the projections of reduced guilds are cached by ./projections.ts, and ./reduction-jobs.ts moves
 * guilds past REDUCED_SEARCH_MIN_IMAGES to reduced search in the background (./reduction.ts does the work).
 */
import pg from 'pg';
import type { Pool, PoolClient } from 'pg';
import { EMBEDDING_DIMENSIONS, type ImageEmbedding } from '../../embedding/types.ts';
import { isDejavuError, StoreError } from '../../errors.ts';
import { childLogger } from '../../logger.ts';
import { checkGuildId, checkNewImages, checkQuery, newImageRecord, unitVector } from '../records.ts';
import type { GuildStats, ImageRecord, ImageSource, ImageStore, NewImage, ScoredRecord, SearchOptions } from '../types.ts';
import { migrate, readSchemaShape, type VectorType } from './migrations.ts';
import { ProjectionCache } from './projections.ts';
import { ReductionJobs } from './reduction-jobs.ts';
import { REDUCED_RERANK, REDUCED_SEARCH_MIN_IMAGES, reducedPointLiteral, reducedQueryLiteral, type ReductionOutcome } from './reduction.ts';
import { GUILD_COLUMNS, METADATA_COLUMNS, parseVector, recordFromRow, recordParameters, vectorLiteral, type GuildRow, type RecordRow } from './rows.ts';
import { searchGuild, searchModeOf, type QueryLiterals, type SearchSettings } from './search.ts';
import { inTransaction } from './transaction.ts';

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
  readonly metadataStorage: 'postgres';
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
const RECORD_BATCH = 500;
const log = childLogger('store-postgres');

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

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
  readonly metadataStorage = 'postgres' as const;
  private readonly search: SearchSettings;
  private readonly projections: ProjectionCache;
  private readonly reductions: ReductionJobs;
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly options: PostgresStoreOptions,
    readonly schema: string,
    private readonly dimensions: number,
    readonly vectorType: VectorType,
  ) {
    this.search = {
      vectorType,
      exactSearchMaxImages: options.exactSearchMaxImages ?? EXACT_SEARCH_MAX_IMAGES,
      efSearch: Math.min(1000, Math.max(1, options.efSearch ?? HNSW_EF_SEARCH)),
      rerank: Math.max(1, options.rerank ?? REDUCED_RERANK),
    };
    this.projections = new ProjectionCache(dimensions);
    this.reductions = new ReductionJobs({
      dimensions,
      lockNamespace: schema,
      reducedSearchMinImages: options.reducedSearchMinImages ?? REDUCED_SEARCH_MIN_IMAGES,
      run: (task) => this.run(task),
    });
  }

  async add(source: ImageSource, contentHash: string, embedding: ImageEmbedding): Promise<ImageRecord> {
    const [record] = await this.addMany([{ source, contentHash, embedding }]);
    return record!;
  }

  async addMany(images: readonly NewImage[]): Promise<ImageRecord[]> {
    const checked = checkNewImages(images, this.dimensions, this.options.variant);
    if (checked === undefined) return [];
    const { guildId, variant } = checked;
    // Before the transaction: a zero vector is refused without creating the guild.
    const units = images.map((image) => unitVector(image.embedding.vector));
    const { records, guild } = await this.transaction(async (client) => {
      // Creates or locks the guild's row: adds of one guild serialise here until commit.
      const { rows } = await client.query<GuildRow & { next_id: number }>(
        `INSERT INTO guilds (guild_id, variant, dimensions) VALUES ($1, $2, $3)
         ON CONFLICT (guild_id) DO UPDATE SET guild_id = EXCLUDED.guild_id
         RETURNING ${GUILD_COLUMNS}, next_id`,
        [guildId, variant, this.dimensions],
      );
      const guild = rows[0] ?? fail('guild upsert returned no row');
      this.checkVariant(guildId, guild);
      const projection = guild.projection_id === null ? undefined : (await this.projections.get(client, guildId, guild.projection_id)).projection;
      const records: ImageRecord[] = [];
      let added = 0;
      for (const [n, { source, contentHash, embedding }] of images.entries()) {
        const existing = await this.selectBySource(client, guildId, source.sourceKey);
        if (existing !== undefined) {
          records.push(existing);
          continue;
        }
        const unit = units[n]!;
        const record = newImageRecord(source, guild.next_id + added, contentHash, embedding);
        const inserted = await client.query(
          `INSERT INTO images (guild_id, id, channel_id, message_id, source_key, author_id, created_at, nsfw, kind, label, content_hash, width, height, signature, embedding)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::${this.vectorType})
           ON CONFLICT (guild_id, source_key) DO NOTHING`,
          recordParameters(record, vectorLiteral(unit)),
        );
        if (inserted.rowCount === 0) {
          // Unreachable while the guild row lock is held, kept so an add can never return a record that is not stored.
          records.push((await this.selectBySource(client, guildId, source.sourceKey)) ?? fail('conflicting record vanished'));
          continue;
        }
        if (projection !== undefined) {
          // A guild with a projection: the point is written with the image (the fill only covers older images).
          await client.query('INSERT INTO image_reductions (guild_id, id, point) VALUES ($1, $2, $3::halfvec)', [guildId, record.id, reducedPointLiteral(projection, unit)]);
        }
        records.push(record);
        added += 1;
      }
      if (added > 0) await client.query('UPDATE guilds SET next_id = next_id + $2, images = images + $2 WHERE guild_id = $1', [guildId, added]);
      return { records, guild: { ...guild, images: guild.images + added } };
    });
    this.reductions.reduceWhenDue(guildId, guild);
    return records;
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
      this.reductions.reduceWhenDue(guildId, guild);
      const mode = searchModeOf(guild, this.search);
      const query: QueryLiterals = { vector: vectorLiteral(unit), point: '' };
      if (mode === 'reduced' && guild.projection_id !== null) {
        query.point = reducedQueryLiteral((await this.projections.get(client, guildId, guild.projection_id)).projection, unit);
      }
      return searchGuild(client, guildId, query, k, options.filter, guild.images, mode, this.search);
    });
  }

  reduceGuild(guildId: string): Promise<ReductionOutcome> {
    return this.reductions.reduce(guildId);
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
    // Jobs stop between batches; what they wrote stays and the next run resumes from it.
    await this.reductions.close();
    await this.pool.end();
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

function wrapError(error: unknown, message: string, context: Record<string, unknown>): Error {
  if (isDejavuError(error)) return error;
  return new StoreError('STORE_FAILED', `${message}: ${error instanceof Error ? error.message : String(error)}`, context, { cause: error });
}

function fail(message: string): never {
  throw new StoreError('STORE_FAILED', message, {});
}

