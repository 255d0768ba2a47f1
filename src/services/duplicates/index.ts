/**
 * The duplicate ("repost") detector the bot and `dejavu dupes` ship with. Two stages:
 *
 * 1. shortlist: the store's nearest neighbours by embedding cosine (`DUPLICATE_SHORTLIST`);
 * 2. verification of each shortlisted image, on the signatures stored with the records:
 *    - current signatures (detail image + keypoints): keypoint matching with a RANSAC transform, then a
 *      block comparison of the aligned detail images (judge.ts). It tells a repost from the same picture
 *      under other text (a meme template, reported with kind `template`) and from another screenshot of
 *      the same app;
 *    - a pair where either image still has an older signature: the 64-px thumbnails are aligned and the
 *      correlation of their fine detail decides (verify.ts), as it did when those images were indexed.
 *
 * One cosine threshold cannot tell an edited repost from another photo of the same building, nor one chat
 * screenshot from another; the verification can (see docs/how-it-works.md, "Duplicate detection").
 */
import type { ImageEmbedding } from '../../embedding/types.ts';
import { hasThumbnail, isCurrentSignature } from '../../embedding/signature.ts';
import type { ImageRecord, ScoredRecord } from '../../store/types.ts';
import { judgeAligned, type Judgement, judgePair, type PreparedDetail } from './judge.ts';
import { PreparedSignatures } from './prepared.ts';
import { DEFAULT_ALIGNMENT_SEARCH, type PreparedSignature, type Verification, verifyPair } from './verify.ts';

export { verifyPair, prepareSignature, DEFAULT_ALIGNMENT_SEARCH, type Verification, type PreparedSignature, type AlignmentSearch } from './verify.ts';
export { judgePair, prepareDetail, type Judgement, type PairKind } from './judge.ts';
export { PreparedSignatures } from './prepared.ts';

/**
 * What to ask `ImageStore.findSimilar` for. Edited copies of one picture sit at cosine ≥ 0.65 (a 60 % crop
 * is the loosest on oxford-neardup-dev). Screenshots of one app all look alike to the embedding, so a
 * screenshot's repost is not always its nearest neighbour (rank 2–3 on text-heavy-dev): 8 neighbours leave
 * room for that and for a picture reposted a few times, at 1–2 ms of keypoint matching per candidate.
 */
export const DUPLICATE_SHORTLIST = { k: 8, minScore: 0.6 } as const;

/**
 * Candidates (by cosine) that get the thumbnail-guided second look when their keypoints do not match: a crop
 * or rescale of a photo is among its nearest neighbours, and the thumbnail alignment costs about 3 ms a pair.
 */
const GUIDED_CANDIDATES = 4;

/**
 * A pair the detail check calls the same template is still a repost when the 64-px thumbnails agree this
 * well: a semi-transparent watermark changes the detail like new text does, but leaves the thumbnail as it
 * was, while a new caption changes the thumbnail too.
 */
const WATERMARK_THUMBNAIL_SCORE = 0.9;
/**
 * A pair whose keypoints found no shared picture is still a repost when the 64-px thumbnails agree this well:
 * photos cropped or rescaled beyond what single-scale keypoints survive keep their thumbnail (0.94–0.99 on
 * the photo set), while different screenshots of one layout and memes on one picture stay at or below 0.88.
 */
const THUMBNAIL_REPOST_SCORE = 0.94;

export interface DuplicateSettings {
  /**
   * Minimum verification score to call a pair a duplicate. This is the number a guild sets with
   * `/dejavu config`: higher = stricter. For pairs of current signatures the score is the share of agreeing
   * detail blocks, and a repost needs at least REPOST_AGREEMENT (0.97) whatever the threshold: a lower one
   * would let the same meme under another caption through. For older signatures it is the correlation
   * (0–1) of the two thumbnails' finest detail once aligned (see verify.ts). On oxford-neardup-dev, 99 % of edited copies score ≥ 0.80 while the 702 hardest look-alike
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

/** A shortlisted image the verification calls a duplicate of the query (src/services/detector.ts turns it into an EarlierDuplicate). */
export interface VerifiedCandidate {
  record: ImageRecord;
  /** Cosine similarity of the search embeddings. */
  score: number;
  /** Verification score (see DuplicateSettings.threshold), clamped to [0, 1]: the detector's confidence. */
  confidence: number;
  /** `repost`: the same picture again. `template`: the same picture under different text (not a repost). */
  kind: 'repost' | 'template';
  /** How a pair of current signatures was judged. */
  judgement?: Judgement;
  /** How a pair with an older signature was verified. */
  verification?: Verification;
}

export type DuplicateQuery = { embedding: ImageEmbedding } | { vector: Float32Array; signature: Uint8Array };

function querySignature(query: DuplicateQuery): Uint8Array {
  return 'embedding' in query ? query.embedding.signature : query.signature;
}

const clamp = (value: number): number => Math.max(0, Math.min(1, value));

/** Shared by every decision of this process: a candidate of one decision is often a candidate of the next. */
const recentlyPrepared = new PreparedSignatures();

/**
 * Which of the shortlisted `candidates` (from `findSimilar(…, DUPLICATE_SHORTLIST)`) are reposts of the query
 * or the same template under other text, most confident first. Candidates without a readable signature are
 * never reported. `prepared` holds decoded signatures across decisions (the process-wide one by default).
 */
export async function detectDuplicates(
  query: DuplicateQuery,
  candidates: readonly ScoredRecord[],
  settings: Partial<DuplicateSettings> = {},
  prepared: PreparedSignatures = recentlyPrepared,
): Promise<VerifiedCandidate[]> {
  const { threshold, minCosine } = { ...DEFAULT_DUPLICATE_SETTINGS, ...settings };
  const signature = querySignature(query);
  if (!hasThumbnail(signature)) return [];
  const current = isCurrentSignature(signature);
  let detail: PreparedDetail | undefined;
  let thumbnail: PreparedSignature | undefined;
  const matches: VerifiedCandidate[] = [];
  const byCosine = [...candidates].sort((a, b) => b.score - a.score);
  for (const [rank, candidate] of byCosine.entries()) {
    const other = candidate.record.signature;
    if (candidate.score < minCosine || !hasThumbnail(other)) continue;
    if (current && isCurrentSignature(other)) {
      detail ??= prepared.detail(signature);
      const candidateDetail = prepared.detail(other);
      let judgement = await judgePair(detail, candidateDetail, threshold);
      if (judgement.kind === 'different') {
        if (rank >= GUIDED_CANDIDATES) continue;
        // Keypoints alone miss strong crops and rescales: the thumbnail alignment, where it finds one, guides them.
        thumbnail ??= prepared.thumbnail(signature);
        const verification = verifyPair(thumbnail, prepared.thumbnail(other), DEFAULT_ALIGNMENT_SEARCH);
        // The guild's threshold applies to the thumbnail score on this path, as on the thumbnail-only one.
        if (verification.score < threshold) continue;
        if (verification.score >= Math.max(THUMBNAIL_REPOST_SCORE, threshold)) {
          matches.push({ record: candidate.record, score: candidate.score, confidence: clamp(verification.score), kind: 'repost', verification });
          continue;
        }
        judgement = await judgeAligned(detail, candidateDetail, verification.alignment, threshold);
        if (judgement.kind === 'different') continue;
      } else if (judgement.kind === 'template') {
        thumbnail ??= prepared.thumbnail(signature);
        const verification = verifyPair(thumbnail, prepared.thumbnail(other), DEFAULT_ALIGNMENT_SEARCH);
        if (verification.score >= Math.max(WATERMARK_THUMBNAIL_SCORE, threshold)) {
          matches.push({ record: candidate.record, score: candidate.score, confidence: clamp(verification.score), kind: 'repost', judgement, verification });
          continue;
        }
      }
      // Block agreement saturates at 1 for clean reposts, so a guild asking for near-identical files only (a
      // threshold above the default) also needs the thumbnails to agree that well, as its setting always meant.
      if (judgement.kind === 'repost' && threshold > DEFAULT_DUPLICATE_SETTINGS.threshold) {
        thumbnail ??= prepared.thumbnail(signature);
        if (verifyPair(thumbnail, prepared.thumbnail(other), DEFAULT_ALIGNMENT_SEARCH).score < threshold) continue;
      }
      matches.push({ record: candidate.record, score: candidate.score, confidence: clamp(judgement.score), kind: judgement.kind, judgement });
      continue;
    }
    thumbnail ??= prepared.thumbnail(signature);
    const verification = verifyPair(thumbnail, prepared.thumbnail(other), DEFAULT_ALIGNMENT_SEARCH);
    if (verification.score < threshold) continue;
    matches.push({ record: candidate.record, score: candidate.score, confidence: clamp(verification.score), kind: 'repost', verification });
  }
  // Reposts first, then templates; each most confident first.
  return matches.sort((a, b) => Number(a.kind === 'template') - Number(b.kind === 'template') || b.confidence - a.confidence);
}
