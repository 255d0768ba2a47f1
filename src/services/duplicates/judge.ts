/**
 * The decision on current-format signatures (detail image + keypoints, see src/embedding/signature.ts):
 *
 * 1. keypoints are matched (the query mirrored too) and a RANSAC similarity transform is fitted: too few
 *    inliers and the two images are not the same picture (different screenshots of one app share their
 *    chrome only);
 * 2. the candidate's detail image is warped onto the query's by that transform and compared block by block
 *    (detail.ts): a repost agrees almost everywhere, while the same picture under another caption or text
 *    (a meme template) disagrees over a connected region of text.
 */
import sharp from 'sharp';
import { type Keypoints, mirrorKeypoints } from '../../embedding/keypoints.ts';
import { decodeSignatureDetail } from '../../embedding/signature.ts';
import { type Affine, blur, compareDetail, type DetailComparison } from './detail.ts';
import { guidedMatch, type KeypointMatch, matchKeypoints, type Similarity } from './match.ts';
import type { Alignment } from './verify.ts';

export type PairKind = 'repost' | 'template' | 'different';

export interface Judgement {
  kind: PairKind;
  /** RANSAC inliers of the best transform (mirrored or not). */
  inliers: number;
  mirrored: boolean;
  /** Block comparison at that transform; absent when there were too few inliers to align. */
  detail?: DetailComparison;
  /** Share of textured blocks that agree (0 without an alignment): the detector's confidence. */
  score: number;
}

/** One image's signature, decoded once and reused for every pair it is part of. */
export interface PreparedDetail {
  width: number;
  height: number;
  /** Size of the 64-px thumbnail of the same picture (to carry a thumbnail alignment over). */
  thumbnailWidth: number;
  thumbnailHeight: number;
  keypoints: Keypoints;
  mirrored: Keypoints;
  jpeg: Uint8Array;
  blurred?: Float32Array;
}

/**
 * Fewest RANSAC inliers for "same picture". Unrelated screenshots of one layout reach about 26 (their shared
 * bars and avatars), screenshot reposts 36 and more, memes on one picture 70 and more.
 */
export const MIN_INLIERS = 30;
/**
 * A repost covers most of the other picture: at least this part of the query's blocks lie on the candidate
 * (a crop inside its original covers all of it). Two screenshots aligned on their chrome only cover a part.
 */
export const REPOST_MIN_OVERLAP = 0.6;
/**
 * A repost: at least this share of the textured blocks agree… (reposts of screenshots and memes agree on
 * 97–100 %, rescaled photos on 97 % and more; memes under another caption on at most ~88 %).
 */
export const REPOST_AGREEMENT = 0.95;
/** …and no group of disagreeing blocks is bigger than this (fine photo texture lost in a rescale, not a changed line of text). */
export const REPOST_MAX_REGION = 6;

export function prepareDetail(signature: Uint8Array): PreparedDetail {
  const detail = decodeSignatureDetail(signature);
  return {
    width: detail.width,
    height: detail.height,
    thumbnailWidth: signature[1] ?? 1,
    thumbnailHeight: signature[2] ?? 1,
    keypoints: detail.keypoints, mirrored: mirrorKeypoints(detail.keypoints, detail.width),
    jpeg: detail.jpeg,
  };
}

async function blurred(prepared: PreparedDetail): Promise<Float32Array> {
  if (prepared.blurred !== undefined) return prepared.blurred;
  // The detail JPEG holds one grey picture in three equal channels: channel 0 is the picture, and extracting
  // it costs less than a colourspace conversion.
  const { data, info } = await sharp(prepared.jpeg, { sequentialRead: true }).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  // extractChannel leaves one band, so the buffer is the grey image itself.
  const pixels = new Uint8Array(data.buffer, data.byteOffset, info.width * info.height);
  prepared.width = info.width;
  prepared.height = info.height;
  prepared.blurred = blur({ width: info.width, height: info.height, pixels });
  return prepared.blurred;
}

/** The transform as a map from unmirrored query pixels (a mirrored match maps the flipped query). */
function toAffine(transform: Similarity, mirrored: boolean, queryWidth: number): Affine {
  const { a, b, tx, ty } = transform;
  if (!mirrored) return { m00: a, m01: -b, m02: tx, m10: b, m11: a, m12: ty };
  // x_mirrored = (w − 1) − x.
  const w = queryWidth - 1;
  return { m00: -a, m01: -b, m02: a * w + tx, m10: -b, m11: a, m12: b * w + ty };
}

function shifted(transform: Affine, dx: number, dy: number): Affine {
  return { ...transform, m02: transform.m02 + dx, m12: transform.m12 + dy };
}

/** The transform applied after scaling by `scale` and rotating by `angle` about the query point (cx, cy). */
function scaledAbout(transform: Affine, scale: number, angle: number, cx: number, cy: number): Affine {
  const cos = Math.cos(angle) * scale;
  const sin = Math.sin(angle) * scale;
  // p' = c + R·(p − c): the linear part R, the offset c − R·c.
  const ox = cx - cos * cx + sin * cy;
  const oy = cy - sin * cx - cos * cy;
  const { m00, m01, m02, m10, m11, m12 } = transform;
  return {
    m00: m00 * cos + m01 * sin,
    m01: -m00 * sin + m01 * cos,
    m02: m00 * ox + m01 * oy + m02,
    m10: m10 * cos + m11 * sin,
    m11: -m10 * sin + m11 * cos,
    m12: m10 * ox + m11 * oy + m12,
  };
}

/** Sub-pixel moves tried when the keypoint transform is close but not clean (keypoints sit on whole pixels). */
function refinements(transform: Affine, width: number, height: number): Affine[] {
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  return [
    ...([[0.5, 0], [-0.5, 0], [0, 0.5], [0, -0.5], [1, 0], [-1, 0], [0, 1], [0, -1]] as const).map(([dx, dy]) => shifted(transform, dx, dy)),
    ...[0.996, 1.004, 0.992, 1.008].map((scale) => scaledAbout(transform, scale, 0, cx, cy)),
    ...[0.003, -0.003].map((angle) => scaledAbout(transform, 1, angle, cx, cy)),
  ];
}

/**
 * Refinement only chases a pair this close to the agreement it needs: sub-pixel misalignment costs a few
 * percent of the blocks (the reposts it brings into place on the dev sets start at most 0.007 below the
 * rule), while a pair further off differs in content, and trying 14 moves on it would be most of a decision's
 * cost.
 */
const REFINE_MARGIN = 0.06;

const isRepost = (detail: DetailComparison, minAgreement: number): boolean =>
  detail.texturedBlocks > 0 && detail.overlap >= REPOST_MIN_OVERLAP && detail.agreement >= minAgreement && detail.largestRegion <= REPOST_MAX_REGION;

/**
 * Coordinate ascent over small moves of `start` (at most `rounds` rounds) while the pair is close to, but not
 * yet, a repost that needs `minAgreement`: keypoints sit on whole pixels and thumbnail alignments on 64-px
 * ones. Moves this small cannot bring in more overlap, so a pair short of it is not refined.
 */
function refineDetail(
  compare: (affine: Affine) => DetailComparison,
  start: Affine,
  done: (comparison: DetailComparison) => boolean,
  minAgreement: number,
  query: PreparedDetail,
  rounds: number,
): DetailComparison {
  const worthRefining = (comparison: DetailComparison): boolean =>
    comparison.overlap >= REPOST_MIN_OVERLAP && comparison.agreement >= minAgreement - REFINE_MARGIN;
  let current = start;
  let detail = compare(current);
  for (let round = 0; round < rounds && !done(detail) && worthRefining(detail); round += 1) {
    const from = current;
    for (const move of refinements(from, query.width, query.height)) {
      const other = compare(move);
      if (other.agreement > detail.agreement) {
        detail = other;
        current = move;
      }
      if (done(detail)) break;
    }
    if (current === from) break;
  }
  return detail;
}

/**
 * Judges a (query, candidate) pair. `minAgreement` can only make the repost rule stricter than
 * REPOST_AGREEMENT (a guild asking for near-identical files only).
 */
export async function judgePair(query: PreparedDetail, candidate: PreparedDetail, minAgreement = REPOST_AGREEMENT): Promise<Judgement> {
  const direct = matchKeypoints(query.keypoints, candidate.keypoints);
  const flipped = direct.inliers >= MIN_INLIERS * 2 ? undefined : matchKeypoints(query.mirrored, candidate.keypoints);
  const mirrored = flipped !== undefined && flipped.inliers > direct.inliers;
  const best = mirrored && flipped !== undefined ? flipped : direct;
  if (best.inliers < MIN_INLIERS) return { kind: 'different', inliers: best.inliers, mirrored, score: 0 };
  const required = Math.max(REPOST_AGREEMENT, minAgreement);
  const queryPixels = await blurred(query);
  const candidatePixels = await blurred(candidate);
  const transform = toAffine(best.transform, mirrored, query.width);
  const compare = (affine: Affine): DetailComparison => compareDetail(queryPixels, query, candidatePixels, candidate, affine);
  // One round: a RANSAC transform refitted on its inliers is within one small move of the best one.
  const detail = refineDetail(compare, transform, (comparison) => isRepost(comparison, required), required, query, 1);
  const kind: PairKind = isRepost(detail, required) ? 'repost' : detail.texturedBlocks > 0 ? 'template' : 'different';
  return { kind, inliers: best.inliers, mirrored, detail, score: detail.agreement };
}

/** Query detail pixel → candidate detail pixel, from an alignment of the two 64-px thumbnails (verify.ts). */
function fromThumbnailAlignment(alignment: Alignment, query: PreparedDetail, candidate: PreparedDetail): (x: number, y: number) => [number, number] {
  const toQueryThumb = query.thumbnailWidth / query.width;
  const toCandidateDetail = candidate.width / candidate.thumbnailWidth;
  const cos = Math.cos(alignment.angle) * alignment.scale;
  const sin = Math.sin(alignment.angle) * alignment.scale;
  const queryCentreX = (query.thumbnailWidth - 1) / 2;
  const queryCentreY = (query.thumbnailHeight - 1) / 2;
  const candidateCentreX = (candidate.thumbnailWidth - 1) / 2;
  const candidateCentreY = (candidate.thumbnailHeight - 1) / 2;
  return (x, y) => {
    const thumbX = x * toQueryThumb;
    const u = (alignment.mirrored ? query.thumbnailWidth - 1 - thumbX : thumbX) + alignment.shiftX - queryCentreX;
    const v = y * toQueryThumb + alignment.shiftY - queryCentreY;
    return [(cos * u - sin * v + candidateCentreX) * toCandidateDetail, (sin * u + cos * v + candidateCentreY) * toCandidateDetail];
  };
}

/** The affine map that `map` is (it is one by construction), read off three points. */
function affineOf(map: (x: number, y: number) => [number, number]): Affine {
  const [ox, oy] = map(0, 0);
  const [xx, xy] = map(1, 0);
  const [yx, yy] = map(0, 1);
  return { m00: xx - ox, m01: yx - ox, m02: ox, m10: xy - oy, m11: yy - oy, m12: oy };
}

/** Pixels around the thumbnail alignment's prediction searched for a keypoint's partner (one 64-px pixel ≈ 8). */
const GUIDED_RADIUS = 12;
/** Guided matches that must agree on one transform before the detail check trusts it. */
const GUIDED_MIN_INLIERS = 12;
/**
 * The stricter detail rule of the guided path. Guided matches are near their predicted place by construction,
 * so two screenshots of one layout that the thumbnails align get many of them: only the detail can tell, and
 * different text in the same bubbles agrees on up to ~96 % of the blocks.
 */
const GUIDED_AGREEMENT = 0.99;
const GUIDED_MAX_REGION = 1;

/**
 * The pair as judged from a thumbnail alignment, for pictures whose keypoints did not match on their own (a
 * crop or rescale beyond what single-scale descriptors survive): the alignment guides a second keypoint
 * match, and the detail check at the refined transform decides. Without keypoint evidence there is no claim
 * of a template: the pair is a repost or different.
 */
export async function judgeAligned(query: PreparedDetail, candidate: PreparedDetail, alignment: Alignment, minAgreement = REPOST_AGREEMENT): Promise<Judgement> {
  const predict = fromThumbnailAlignment(alignment, query, candidate);
  const keypoints = alignment.mirrored ? query.mirrored : query.keypoints;
  // guidedMatch predicts from the keypoints it is given: undo the mirror for the prediction.
  const guided: KeypointMatch = guidedMatch(keypoints, candidate.keypoints, (x, y) => predict(alignment.mirrored ? query.width - 1 - x : x, y), GUIDED_RADIUS);
  // Too few guided matches (repetitive texture makes descriptors ambiguous): the thumbnail alignment itself,
  // refined at detail resolution, is the transform; the strict detail rule below still decides.
  const transform = guided.inliers >= GUIDED_MIN_INLIERS ? toAffine(guided.transform, alignment.mirrored, query.width) : affineOf(predict);
  const queryPixels = await blurred(query);
  const candidatePixels = await blurred(candidate);
  const required = Math.max(GUIDED_AGREEMENT, minAgreement);
  const strictRepost = (comparison: DetailComparison): boolean => isRepost(comparison, required) && comparison.largestRegion <= GUIDED_MAX_REGION;
  const compare = (affine: Affine): DetailComparison => compareDetail(queryPixels, query, candidatePixels, candidate, affine);
  const detail = refineDetail(compare, transform, strictRepost, required, query, guided.inliers >= GUIDED_MIN_INLIERS ? 1 : 3);
  const repost = strictRepost(detail);
  return { kind: repost ? 'repost' : 'different', inliers: guided.inliers, mirrored: alignment.mirrored, detail, score: repost ? detail.agreement : 0 };
}
