/**
 * The duplicate ("repost") detector the bot and `dejavu dupes` ship with. Two stages:
 *
 * 1. shortlist: the store's nearest neighbours by embedding cosine (`DUPLICATE_SHORTLIST`);
 * 2. verification: each shortlisted image's signature is aligned to the query's (mirror, rotation ≤ 15°,
 *    scale ≤ 2×, shift) and the correlation of their fine detail decides (see verify.ts).
 *
 * One cosine threshold cannot tell an edited repost from another photo of the same building (issue 5:
 * recall 0.49 at pair precision 0.99); the aligned fine-detail correlation can (≈ 0.99 on
 * oxford-neardup-dev, see README "Duplicate detection").
 */
import type { ImageEmbedding } from '../../embedding/types.ts';
import { isCurrentSignature } from '../../embedding/signature.ts';
import type { ImageRecord, ScoredRecord } from '../../store/types.ts';
import { DEFAULT_ALIGNMENT_SEARCH, prepareSignature, type PreparedSignature, type Verification, verifyPair } from './verify.ts';

export { verifyPair, prepareSignature, DEFAULT_ALIGNMENT_SEARCH, type Verification, type PreparedSignature, type AlignmentSearch } from './verify.ts';

/**
 * What to ask `ImageStore.findSimilar` for. Edited copies of one picture sit at cosine ≥ 0.65 (a 60 % crop
 * is the loosest on oxford-neardup-dev); 4 neighbours leave room for a picture reposted a few times while
 * capping the verification cost (~15 ms a pair on one core).
 */
export const DUPLICATE_SHORTLIST = { k: 4, minScore: 0.6 } as const;

export interface DuplicateSettings {
  /**
   * Minimum verification score (correlation of aligned, band-passed 64-px thumbnails, 0–1) to call a pair a
   * duplicate. This is the number a guild sets with `/dejavu config duplicate-threshold`: higher = stricter.
   * 0.84 gave pair precision ≥ 0.99 at recall 0.99 on oxford-neardup-dev; edited copies score 0.8–1.0,
   * other photos of the same scene 0.2–0.87, unrelated pictures never get this far (shortlist).
   */
  threshold: number;
  /** Shortlisted candidates below this cosine are not verified at all. */
  minCosine: number;
}

export const DEFAULT_DUPLICATE_SETTINGS: Readonly<DuplicateSettings> = Object.freeze({
  threshold: 0.84,
  minCosine: DUPLICATE_SHORTLIST.minScore,
});

export interface DuplicateMatch {
  record: ImageRecord;
  /** Cosine similarity of the search embeddings. */
  score: number;
  /** Verification score (see DuplicateSettings.threshold), clamped to [0, 1]: the detector's confidence. */
  confidence: number;
  verification: Verification;
}

export type DuplicateQuery = { embedding: ImageEmbedding } | { vector: Float32Array; signature: Uint8Array };

function querySignature(query: DuplicateQuery): Uint8Array {
  return 'embedding' in query ? query.embedding.signature : query.signature;
}

/**
 * Which of the shortlisted `candidates` (from `findSimilar(…, DUPLICATE_SHORTLIST)`) are duplicates of the
 * query, most confident first. Pure and synchronous. Candidates without a current-format signature (indexed
 * by an older version) cannot be verified and are never reported.
 */
export function detectDuplicates(
  query: DuplicateQuery,
  candidates: readonly ScoredRecord[],
  settings: Partial<DuplicateSettings> = {},
): DuplicateMatch[] {
  const { threshold, minCosine } = { ...DEFAULT_DUPLICATE_SETTINGS, ...settings };
  const signature = querySignature(query);
  if (!isCurrentSignature(signature)) return [];
  let prepared: PreparedSignature | undefined;
  const matches: DuplicateMatch[] = [];
  for (const candidate of candidates) {
    if (candidate.score < minCosine || !isCurrentSignature(candidate.record.signature)) continue;
    prepared ??= prepareSignature(signature);
    const verification = verifyPair(prepared, prepareSignature(candidate.record.signature), DEFAULT_ALIGNMENT_SEARCH);
    if (verification.score < threshold) continue;
    matches.push({ record: candidate.record, score: candidate.score, confidence: Math.max(0, Math.min(1, verification.score)), verification });
  }
  return matches.sort((a, b) => b.confidence - a.confidence);
}
