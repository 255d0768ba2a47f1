/**
 * Search planning for the PostgreSQL store: which scan a guild gets (exact, HNSW, reduced) and the rounds
 * that over-fetch in distance order until k rows pass the caller's filter.
 *
 * The caller's filter (permissions, NSFW, exclusions) is a synchronous JS predicate, so rows are fetched in
 * distance order and filtered here, over-fetching more each round (sized by the pass rate seen so far) until
 * k pass or the guild is exhausted. Small guilds are scanned exactly (a MATERIALIZED CTE keeps the planner
 * off the HNSW index); larger ones use the HNSW index with pgvector 0.8 iterative scans (relaxed order,
 * re-sorted here), so a LIMIT beyond ef_search still returns rows of this guild. If the iterative scan gives
 * up (hnsw.max_scan_tuples) before enough rows pass, the exact scan finishes the job: filtered searches
 * return k results whenever k records pass. Reduced guilds search the small graph of 257-d points and
 * re-rank its candidates with the full embeddings.
 */
import type { PoolClient } from 'pg';
import { childLogger } from '../../logger.ts';
import type { RecordMetadata, ScoredRecord } from '../types.ts';
import type { VectorType } from './migrations.ts';
import { METADATA_COLUMNS, metadataFromRow, type GuildRow, type MetadataRow } from './rows.ts';

/** Rows fetched by the first round of a filtered search, as a multiple of k (later rounds: nextLimit). */
const FILTERED_OVERFETCH = 4;
const log = childLogger('store-postgres');

export type SearchMode = 'exact' | 'hnsw' | 'reduced';

/** How a store searches: its column type and the knobs of its HNSW and reduced scans. */
export interface SearchSettings {
  vectorType: VectorType;
  /** Guilds with at most this many images are scanned exactly. */
  exactSearchMaxImages: number;
  /** hnsw.ef_search of a search's first round. */
  efSearch: number;
  /** Reduced-search candidates re-ranked with the full embeddings. */
  rerank: number;
}

/** A query as pgvector text: the full vector and, in reduced search, its point [Pq, 0]. */
export interface QueryLiterals {
  vector: string;
  point: string;
}

interface ScoredRow extends MetadataRow {
  distance: number;
}

/** The scan a guild gets: exact when small, else its HNSW graph, or the reduced graph once its points are ready. */
export function searchModeOf(guild: GuildRow, settings: SearchSettings): SearchMode {
  if (guild.images <= settings.exactSearchMaxImages) return 'exact';
  return guild.reduced_ready && guild.projection_id !== null ? 'reduced' : 'hnsw';
}

/** The k nearest records of the guild that pass `filter`, best first, with their signatures. */
export async function searchGuild(
  client: PoolClient,
  guildId: string,
  query: QueryLiterals,
  k: number,
  filter: ((record: RecordMetadata) => boolean) | undefined,
  guildSize: number,
  mode: SearchMode,
  settings: SearchSettings,
): Promise<ScoredRecord[]> {
  const hits = await searchRounds(client, guildId, query, k, filter, guildSize, mode, settings);
  return withSignatures(client, guildId, hits.slice(0, k));
}

/**
 * Fetches rows best first in growing rounds until k pass the filter or the guild has no more.
 * An HNSW round that returns fewer rows than asked ran into hnsw.max_scan_tuples (or an unreachable part
 * of the graph) or raced with removals: the exact scan then finishes the search.
 */
async function searchRounds(
  client: PoolClient,
  guildId: string,
  query: QueryLiterals,
  k: number,
  filter: ((record: RecordMetadata) => boolean) | undefined,
  guildSize: number,
  mode: SearchMode,
  settings: SearchSettings,
  firstLimit = Math.min(guildSize, filter === undefined ? k : Math.max(k * FILTERED_OVERFETCH, 40)),
): Promise<ScoredRow[]> {
  let limit = firstLimit;
  for (;;) {
    const rows = await nearest(client, guildId, query, limit, mode, settings);
    const passing = filter === undefined ? rows : rows.filter((row) => filter(metadataFromRow(row)));
    if (passing.length >= k) return sortByDistance(passing);
    if (mode !== 'exact' && rows.length < limit) {
      log.debug({ guildId, limit, returned: rows.length }, 'iterative HNSW scan stopped early; finishing with an exact scan');
      return searchRounds(client, guildId, query, k, filter, guildSize, 'exact', settings, limit);
    }
    if (limit >= guildSize || rows.length < limit) return sortByDistance(passing);
    limit = Math.min(guildSize, nextLimit(limit, rows.length, passing.length, k));
  }
}

async function nearest(client: PoolClient, guildId: string, query: QueryLiterals, limit: number, mode: SearchMode, settings: SearchSettings): Promise<ScoredRow[]> {
  const cast = settings.vectorType;
  if (mode !== 'exact') {
    // Transaction-local settings in one round trip (SET LOCAL, which Citus forwards to the workers with
    // citus.propagate_set_commands = local). Relaxed order: rows come slightly out of order (the caller
    // re-sorts) but the scan continues past ef_search until LIMIT rows of this guild are found or
    // max_scan_tuples tuples were visited (other guilds of the partition included).
    const candidates = mode === 'reduced' ? Math.max(limit, settings.rerank) : limit;
    const maxScanTuples = Math.max(20_000, candidates * 8);
    await client.query(`SET LOCAL hnsw.iterative_scan = relaxed_order; SET LOCAL hnsw.ef_search = ${settings.efSearch}; SET LOCAL hnsw.max_scan_tuples = ${maxScanTuples}`);
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

async function withSignatures(client: PoolClient, guildId: string, hits: ScoredRow[]): Promise<ScoredRecord[]> {
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
