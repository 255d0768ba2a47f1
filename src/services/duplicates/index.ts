/**
 * The duplicate ("repost") detector the bot and `dejavu dupes` ship with. Two stages:
 *
 * 1. shortlist: the store's nearest neighbours by embedding cosine (`DUPLICATE_SHORTLIST`);
 * 2. verification: each shortlisted image's signature is aligned to the query's (mirror, rotation ≤ 15°,
 *    scale ≤ 2×, shift) and the correlation of their fine detail decides (see verify.ts).
 *
 * One cosine threshold cannot tell an edited repost from another photo of the same building (issue 5:
 * recall 0.49 at pair precision 0.99); the aligned fine-detail correlation can (see README "Duplicate
 * detection" for the measured precision and recall).
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
   * Minimum verification score to call a pair a duplicate: the correlation (0–1) of the two images' finest
   * detail once aligned (see verify.ts). This is the number a guild sets with `/dejavu config`: higher =
   * stricter. On oxford-neardup-dev, 99 % of edited copies score ≥ 0.80 while the 702 hardest look-alike
   * pairs (other photos of the same building, shortlisted by the embedding) score ≤ 0.78; 0.80 keeps that
   * gap as margin. Suggested range 0.7 (catch more heavily edited reposts) – 0.9 (near-identical files only).
   */
  threshold: number;
  /** Shortlisted candidates below this cosine are not verified at all. */
  minCosine: number;
}

export const DEFAULT_DUPLICATE_SETTINGS: Readonly<DuplicateSettings> = Object.freeze({
  threshold: 0.8,
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
