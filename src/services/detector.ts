/**
 * Adapter between the indexer and the duplicate detector of src/services/duplicates (the quality work).
 * Until that module exports `detectDuplicates`, the plain recipe stands in: one cosine threshold (0.94,
 * pair precision ≥ 0.99 on oxford-neardup-dev per issue 5's baseline table).
 */
import type { ImageEmbedding } from '../embedding/types.ts';
import type { ScoredRecord } from '../store/types.ts';
import type { DuplicateDetector } from './indexing.ts';
import type { DuplicateMatch } from './types.ts';

export const PLAIN_COSINE_THRESHOLD = 0.94;

/** The plain recipe: a candidate is a duplicate when its cosine reaches the threshold. */
export function cosineDetector(defaultThreshold = PLAIN_COSINE_THRESHOLD, k = 8): DuplicateDetector {
  return {
    shortlist: { k, minCosine: Math.min(defaultThreshold, 0.5) },
    async detect(_query: ImageEmbedding, candidates: readonly ScoredRecord[], threshold: number | null): Promise<DuplicateMatch[]> {
      const limit = threshold ?? defaultThreshold;
      return candidates
        .filter((candidate) => candidate.score >= limit)
        .map((candidate) => ({ record: candidate.record, similarity: candidate.score, cosine: candidate.score, exact: false }));
    },
  };
}

/** The detector the bot ships with. */
export function createDuplicateDetector(): DuplicateDetector {
  return cosineDetector();
}
