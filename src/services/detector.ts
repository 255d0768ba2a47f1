/**
 * Adapter between the indexer and the shipped duplicate detector (src/services/duplicates): the indexer
 * asks the store for the detector's shortlist, the detector verifies it, and its matches are reshaped into
 * the services' EarlierDuplicate (similarity = the detector's confidence, the number the guild threshold uses;
 * kind = repost or same template under other text).
 */
import type { ImageEmbedding } from '../embedding/types.ts';
import type { ScoredRecord } from '../store/types.ts';
import { DEFAULT_DUPLICATE_SETTINGS, detectDuplicates, DUPLICATE_SHORTLIST, type DuplicateSettings } from './duplicates/index.ts';
import type { DuplicateDetector } from './indexing.ts';
import type { EarlierDuplicate } from './types.ts';

/** The detector the bot ships with; `defaults` overrides its settings (a guild's threshold still wins). */
export function createDuplicateDetector(defaults: Partial<DuplicateSettings> = {}): DuplicateDetector {
  const settings = { ...DEFAULT_DUPLICATE_SETTINGS, ...defaults };
  return {
    shortlist: { k: DUPLICATE_SHORTLIST.k, minCosine: settings.minCosine },
    async detect(query: ImageEmbedding, candidates: readonly ScoredRecord[], threshold: number | null): Promise<EarlierDuplicate[]> {
      const matches = await detectDuplicates({ embedding: query }, candidates, { ...settings, ...(threshold === null ? {} : { threshold }) });
      return matches.map((match) => ({ record: match.record, similarity: match.confidence, cosine: match.score, exact: false, kind: match.kind }));
    },
  };
}
