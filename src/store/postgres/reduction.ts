/**
 * Reduced search for big guilds in PostgreSQL, the pgvector counterpart of the file store's `pca-hnsw`
 * index (src/index/reduced-hnsw.ts): a graph over 1280-d vectors costs pgvector thousands of full-width
 * distances and buffer reads per search (p50 ≥ 25 ms at 1M, docs/benchmarks.md), so past
 * REDUCED_SEARCH_MIN_IMAGES a guild gets
 * - a projection fitted to a sample of its own embeddings (`guild_projections`, src/index/pca.ts), and
 * - one 257-d point [Px, residual norm] per image (`image_reductions`) with its own HNSW index;
 * a search walks that small graph for a few hundred candidates and re-ranks them with the full embeddings.
 *
 * `reduceGuild` fits the projection and fills the points of images stored before it existed; adds after it
 * write their own point in their transaction (the store). It holds a session advisory lock per guild, so in
 * a deployment of many processes one fills while the others go on with the full-vector index, and a
 * process that dies mid-fill releases the lock with its connection: the next one resumes where the points
 * stop (images without a point), and marks the guild ready only when none is missing.
 */
import { randomInt } from 'node:crypto';
import type { PoolClient } from 'pg';
import { StoreError } from '../../errors.ts';
import { fitProjectionSteps, project, projectWithResidual, type Projection } from '../../index/pca.ts';
import { runInSlices } from '../../index/steps.ts';
import { REDUCED_DIMENSIONS, REDUCED_POINT_WIDTH } from './migrations.ts';
import { parseVector } from './rows.ts';
import { inTransaction } from './transaction.ts';

/**
 * Guilds reach reduced search from this many images. bench/index.ts --store postgres: at 100k the reduced
 * search already matches the full graph's recall at lower latency; below, the full graph is cheap enough.
 * The file store switches at the same size, under the same name (src/index/select.ts).
 */
export const REDUCED_SEARCH_MIN_IMAGES = 100_000;
/** Candidates re-ranked with the full embeddings (bench/index.ts: recall vs latency per depth). */
export const REDUCED_RERANK = 256;
/** Embeddings the projection is fitted to (as the file store's pca-hnsw: more barely changes recall). */
export const PROJECTION_SAMPLES = 2048;
/** Images projected per round trip while filling. */
const FILL_BATCH = 500;
/** SQLSTATE foreign_key_violation: an image deleted while its point was being written. */
const FOREIGN_KEY_VIOLATION = '23503';

export type ReductionOutcome = 'ready' | 'busy' | 'cancelled';

export interface ReductionProgress {
  guildId: string;
  filled: number;
}

export interface ReduceGuildOptions {
  dimensions: number;
  /** Advisory-lock namespace (the schema): two deployments sharing a database do not block each other. */
  lockNamespace: string;
  cancelled: () => boolean;
  onProgress?: (progress: ReductionProgress) => void;
  samples?: number;
}

/**
 * Makes `guildId` ready for reduced search: fits and stores its projection if it has none, writes the
 * missing points, then marks it ready. 'busy': another connection holds the guild's lock; 'cancelled':
 * `cancelled()` turned true (everything written so far stays, the next run resumes).
 */
export async function reduceGuild(client: PoolClient, guildId: string, options: ReduceGuildOptions): Promise<ReductionOutcome> {
  const lockKeys = [options.lockNamespace, guildId];
  const { rows: locked } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS locked', lockKeys);
  if (locked[0]?.locked !== true) return 'busy';
  try {
    const projection = await ensureProjection(client, guildId, options);
    if (projection === undefined) return 'cancelled';
    let filled = 0;
    for (;;) {
      const finished = await fillMissingPoints(client, guildId, projection, options, (count) => {
        filled += count;
        options.onProgress?.({ guildId, filled });
      });
      if (!finished) return 'cancelled';
      if (await markReadyIfComplete(client, guildId)) return 'ready';
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1), hashtext($2))', lockKeys);
  }
}

/** The guild's current projection: the stored one, or a new one fitted to a sample of its embeddings. */
async function ensureProjection(client: PoolClient, guildId: string, options: ReduceGuildOptions): Promise<StoredProjection | undefined> {
  const current = await currentProjectionId(client, guildId);
  if (current !== undefined) return loadProjection(client, guildId, current, options.dimensions);
  // Random ids first: ORDER BY random() over the embeddings themselves would convert every one to text.
  const { rows } = await client.query<{ embedding: string }>(
    `WITH sample AS (SELECT id FROM images WHERE guild_id = $1 ORDER BY random() LIMIT $2)
     SELECT embedding::text AS embedding FROM images WHERE guild_id = $1 AND id IN (SELECT id FROM sample)`,
    [guildId, options.samples ?? PROJECTION_SAMPLES],
  );
  if (rows.length === 0) throw new StoreError('INVALID_INPUT', `Guild ${guildId} has no images to fit a projection to`, { guildId });
  const samples = rows.map((row) => parseVector(row.embedding, options.dimensions));
  const fitted = await runInSlices(fitProjectionSteps(samples, Math.min(REDUCED_DIMENSIONS, options.dimensions)), options.cancelled);
  if (fitted === undefined) return undefined;
  const stored = await inTransaction(client, async (): Promise<StoredProjection | number> => {
    // The guild row lock orders this against adds: each add either commits before (the fill covers it) or
    // sees the projection and writes its own point.
    const { rows: guild } = await client.query<{ projection_id: number | null }>('SELECT projection_id FROM guilds WHERE guild_id = $1 FOR UPDATE', [guildId]);
    if (guild[0] === undefined) throw new StoreError('INVALID_INPUT', `Guild ${guildId} was removed while its projection was fitted`, { guildId });
    if (guild[0].projection_id !== null) return guild[0].projection_id; // another process stored one first
    // A random id, not a counter: a guild removed and grown again must not reuse the id that other
    // processes still have cached with the old basis.
    const id = randomInt(1, 2 ** 31 - 1);
    await client.query(
      `INSERT INTO guild_projections (guild_id, id, input_dimensions, output_dimensions, basis, samples) VALUES ($1, $2, $3, $4, $5, $6)`,
      [guildId, id, fitted.inputDimensions, fitted.outputDimensions, encodeBasis(fitted), samples.length],
    );
    await client.query('UPDATE guilds SET projection_id = $2, reduced_ready = false WHERE guild_id = $1', [guildId, id]);
    return { id, projection: fitted };
  });
  return typeof stored === 'number' ? loadProjection(client, guildId, stored, options.dimensions) : stored;
}

/**
 * Writes the point of every image that has none, in id order; false when cancelled. An image deleted
 * between reading it and writing its point fails the batch's foreign key, and the batch is simply redone.
 */
async function fillMissingPoints(
  client: PoolClient,
  guildId: string,
  stored: StoredProjection,
  options: ReduceGuildOptions,
  onBatch: (count: number) => void,
): Promise<boolean> {
  let after = 0;
  for (;;) {
    if (options.cancelled()) return false;
    const { rows } = await client.query<{ id: number; embedding: string }>(
      `SELECT i.id, i.embedding::text AS embedding FROM images i
        WHERE i.guild_id = $1 AND i.id > $2
          AND NOT EXISTS (SELECT 1 FROM image_reductions r WHERE r.guild_id = $1 AND r.id = i.id)
        ORDER BY i.id LIMIT ${FILL_BATCH}`,
      [guildId, after],
    );
    if (rows.length === 0) return true;
    const points = await runInSlices(pointSteps(stored.projection, rows, options.dimensions), options.cancelled);
    if (points === undefined) return false;
    const ids = rows.map((row) => row.id);
    try {
      const inserted = await client.query(
        `INSERT INTO image_reductions (guild_id, id, point)
         SELECT $1, p.id, p.point::halfvec FROM unnest($2::integer[], $3::text[]) AS p(id, point)
          WHERE EXISTS (SELECT 1 FROM guilds g WHERE g.guild_id = $1 AND g.projection_id = $4)
         ON CONFLICT (guild_id, id) DO NOTHING`,
        [guildId, ids, points, stored.id],
      );
      onBatch(inserted.rowCount ?? 0);
    } catch (error) {
      if ((error as { code?: unknown }).code !== FOREIGN_KEY_VIOLATION) throw error;
      continue; // same `after`: the deleted image is no longer selected
    }
    after = ids.at(-1) ?? after;
  }
}

function* pointSteps(projection: Projection, rows: Array<{ embedding: string }>, dimensions: number): Generator<void, string[]> {
  const points: string[] = [];
  for (const row of rows) {
    points.push(reducedPointLiteral(projection, parseVector(row.embedding, dimensions)));
    yield;
  }
  return points;
}

/** Marks the guild ready when every image has its point (checked under the guild lock, so no add races it). */
async function markReadyIfComplete(client: PoolClient, guildId: string): Promise<boolean> {
  return inTransaction(client, async () => {
    await client.query('SELECT 1 FROM guilds WHERE guild_id = $1 FOR UPDATE', [guildId]);
    const { rows } = await client.query<{ missing: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM images i WHERE i.guild_id = $1
         AND NOT EXISTS (SELECT 1 FROM image_reductions r WHERE r.guild_id = $1 AND r.id = i.id)) AS missing`,
      [guildId],
    );
    const complete = rows[0]?.missing === false;
    if (complete) await client.query('UPDATE guilds SET reduced_ready = true WHERE guild_id = $1', [guildId]);
    return complete;
  });
}

export interface StoredProjection {
  id: number;
  projection: Projection;
}

async function currentProjectionId(client: PoolClient, guildId: string): Promise<number | undefined> {
  const { rows } = await client.query<{ projection_id: number | null }>('SELECT projection_id FROM guilds WHERE guild_id = $1', [guildId]);
  if (rows[0] === undefined) throw new StoreError('INVALID_INPUT', `Guild ${guildId} has no images`, { guildId });
  return rows[0].projection_id ?? undefined;
}

export async function loadProjection(client: PoolClient, guildId: string, id: number, dimensions: number): Promise<StoredProjection> {
  const { rows } = await client.query<{ input_dimensions: number; output_dimensions: number; basis: Buffer }>(
    'SELECT input_dimensions, output_dimensions, basis FROM guild_projections WHERE guild_id = $1 AND id = $2',
    [guildId, id],
  );
  const row = rows[0];
  if (row === undefined) throw new StoreError('INDEX_CORRUPT', `Guild ${guildId} names projection ${id}, which is missing`, { guildId, projectionId: id });
  if (row.input_dimensions !== dimensions || row.basis.byteLength !== row.input_dimensions * row.output_dimensions * 4) {
    throw new StoreError('INDEX_CORRUPT', `Projection ${id} of guild ${guildId} does not fit ${dimensions}-d embeddings`, { guildId, projectionId: id });
  }
  const basis = new Float32Array(row.basis.byteLength / 4);
  for (let i = 0; i < basis.length; i++) basis[i] = row.basis.readFloatLE(i * 4);
  return { id, projection: { inputDimensions: row.input_dimensions, outputDimensions: row.output_dimensions, basis } };
}

function encodeBasis(projection: Projection): Buffer {
  const bytes = Buffer.alloc(projection.basis.length * 4);
  projection.basis.forEach((value, i) => bytes.writeFloatLE(value, i * 4));
  return bytes;
}

/** pgvector text of a stored point: [Px, residual], zero-padded to the column's width. */
export function reducedPointLiteral(projection: Projection, vector: Float32Array): string {
  return pointLiteral(projectWithResidual(projection, vector));
}

/** pgvector text of a query point: [Pq, 0] (its inner product with a stored point is Pq·Px). */
export function reducedQueryLiteral(projection: Projection, query: Float32Array): string {
  return pointLiteral([...project(projection, query), 0]);
}

/** The residual (last value) goes last; padding sits between the projected values and it. */
function pointLiteral(values: number[]): string {
  const residual = values.pop() ?? 0;
  const padded = values.concat(new Array<number>(REDUCED_POINT_WIDTH - 1 - values.length).fill(0), residual);
  return `[${padded.join(',')}]`;
}
