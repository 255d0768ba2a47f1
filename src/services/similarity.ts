/**
 * Similarity search shared by /similar, the "Find similar images" context menu and the 🔍 reaction.
 * The filter applied inside the index search enforces: same guild, NSFW only where allowed, the asker's
 * channel permissions (a predicate from the Discord layer), scope=channel, and the query's own images.
 */
import { DejavuError } from '../errors.ts';
import { expandQuery, QUERY_EXPANSION_NEIGHBOURS } from './query-expansion.ts';
import type { Embedder } from '../embedding/types.ts';
import { dot } from '../index/exact.ts';
import type { ImageStore, RecordMetadata, ScoredRecord } from '../store/types.ts';
import { frameBase } from './media.ts';
import type { FindSimilarOptions, SimilarityMatch, SimilarityPage } from './types.ts';

/** Deepest result a page may reach (offset + k): bounds the work of a "next page" click. */
export const MAX_RESULT_DEPTH = 200;

export interface SimilarityDependencies {
  store: ImageStore;
  embedder: Embedder;
}

export function scorePercent(score: number): number {
  return Math.min(100, Math.max(0, Math.round(score * 1000) / 10));
}

export async function findSimilarImages(deps: SimilarityDependencies, options: FindSimilarOptions): Promise<SimilarityPage> {
  const { guildId } = options;
  const k = Math.floor(options.k);
  const offset = Math.max(0, Math.floor(options.offset ?? 0));
  if (!(k >= 1)) throw new DejavuError('INVALID_INPUT', 'k must be at least 1', { k: options.k });
  if (offset + k > MAX_RESULT_DEPTH) return { matches: [], offset, hasMore: false };

  const excludedSources = new Set(options.excludeSourceKeys ?? []);
  const excludedMessages = new Set(options.excludeMessageIds ?? []);
  const { query } = options;
  let vector: Float32Array;
  if ('bytes' in query) {
    vector = (await deps.embedder.embed(query.bytes)).vector;
  } else if ('vector' in query) {
    vector = query.vector;
  } else {
    if (query.record.guildId !== guildId) {
      throw new DejavuError('INVALID_INPUT', 'The query image belongs to another guild', { guildId });
    }
    const stored = await deps.store.getVector(guildId, query.record.id);
    if (stored === undefined) throw new DejavuError('NOT_FOUND', 'The query image is no longer indexed', { guildId, id: query.record.id });
    vector = stored;
    excludedSources.add(query.record.sourceKey);
  }

  const allowed = (record: RecordMetadata): boolean =>
    record.guildId === guildId &&
    (options.nsfwAllowed || !record.nsfw) &&
    (options.channelId === undefined || record.channelId === options.channelId) &&
    !excludedSources.has(record.sourceKey) &&
    !excludedMessages.has(record.messageId) &&
    options.canView(record);

  // Rank with the expanded query (better category-level answers, see query-expansion.ts); its neighbours
  // come through the same filter, so nothing the asker may not see shapes the answer.
  const rankingVector = await expandedQuery(deps.store, guildId, vector, allowed);

  // Identical uploads (same bytes) would fill a page with copies, and the frames of one GIF or video with
  // itself: keep the best-ranked one of each. Ask for extra results so collapsing still leaves a full page.
  const wanted = offset + k + 1;
  const raw = await deps.store.findSimilar(guildId, rankingVector, { k: Math.min(MAX_RESULT_DEPTH * 2, wanted * 2), filter: allowed });
  const seenHashes = new Set<string>();
  // An indexed query image's own other frames are the query itself.
  const seenFiles = new Set<string>('record' in query ? [`${query.record.messageId}\u0000${frameBase(query.record.sourceKey)}`] : []);
  const unique: ScoredRecord[] = [];
  for (const { record, score } of raw) {
    if (!allowed(record) || seenHashes.has(record.contentHash)) continue; // filter again: defence in depth
    const file = `${record.messageId}\u0000${frameBase(record.sourceKey)}`;
    if (seenFiles.has(file)) continue;
    seenHashes.add(record.contentHash);
    seenFiles.add(file);
    unique.push({ record, score });
  }
  const page = unique.slice(offset, offset + k);
  // The expanded query picks which images make the page; within it they are shown by their own cosine to
  // the query image, which is also the percentage shown (a percentage against the expanded query would
  // mean nothing to a user, and a list that is not "best first" by its own numbers looks broken).
  const matches: SimilarityMatch[] = await Promise.all(
    page.map(async ({ record, score }) => {
      const stored = await deps.store.getVector(guildId, record.id);
      const cosine = stored === undefined ? score : dot(vector, stored, 0, vector.length);
      return { record, score: cosine, percent: scorePercent(cosine) };
    }),
  );
  matches.sort((a, b) => b.score - a.score);
  return { matches, offset, hasMore: unique.length > offset + k && offset + k < MAX_RESULT_DEPTH };
}

async function expandedQuery(
  store: ImageStore,
  guildId: string,
  vector: Float32Array,
  allowed: (record: RecordMetadata) => boolean,
): Promise<Float32Array> {
  const neighbours = await store.findSimilar(guildId, vector, { k: QUERY_EXPANSION_NEIGHBOURS, filter: allowed });
  const vectors = await Promise.all(neighbours.map(({ record }) => store.getVector(guildId, record.id)));
  return expandQuery(vector, vectors.filter((stored): stored is Float32Array => stored !== undefined));
}

