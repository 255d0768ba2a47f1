/**
 * Verification stage of the duplicate detector: decides whether two images are the same picture (possibly
 * edited: re-encoded, bordered, captioned, cropped, mirrored, slightly rotated, colour-filtered) or merely
 * similar (another photo of the same building). It compares the two stored signatures (64-px gray thumbnails):
 *
 * 1. find the similarity transform (mirror, rotation, scale, translation) that best aligns them — a brute-force
 *    search on 16-px versions, then a local refinement on 32 and 64 px;
 * 2. score the aligned pair by the correlation of their finest detail (the thumbnail minus its 1-px blur) over
 *    the overlap.
 *
 * An edited copy keeps the pixel-level detail of its original (correlation 0.8–1.0 for 99 % of the edited
 * copies in oxford-neardup-dev); another photo of the same façade, even from nearly the same spot, agrees on
 * layout and on coarser detail but not at this scale (at most 0.78 among its 702 hardest look-alike pairs).
 */
import { decodeSignature } from '../../embedding/signature.ts';
import { bandPass, downsample, type GrayImage, grayImage, mirror, standardize } from './gray.ts';
import { correlationSums, shiftGrid } from './kernels/thumbnail-align.ts';

/** Search ranges: what reposts do to an image (crops down to ~55 % of a side, rotations up to ~15°). */
export interface AlignmentSearch {
  /** Largest rotation tried, degrees. */
  maxRotationDegrees: number;
  /** Largest scale ratio tried between the two images, either way (crop ↔ original). */
  maxScale: number;
  /** Smallest part of each image that must overlap the other (fraction of its area). */
  minOverlap: number;
  /**
   * Smallest part of at least one of the two images that must lie inside the other. Edits keep most of a
   * picture (a crop lies inside its original, a captioned copy contains it), so an alignment where both
   * images only half-overlap is a coincidence, not an edit.
   */
  minContainment: number;
}

export const DEFAULT_ALIGNMENT_SEARCH: AlignmentSearch = { maxRotationDegrees: 15, maxScale: 2, minOverlap: 0.3, minContainment: 0.75 };

/** Whether an overlap (fractions of each image's area) is one an edit could produce. */
function plausibleOverlap(queryFraction: number, candidateFraction: number, search: AlignmentSearch): boolean {
  return Math.min(queryFraction, candidateFraction) >= search.minOverlap && Math.max(queryFraction, candidateFraction) >= search.minContainment;
}

export interface Alignment {
  mirrored: boolean;
  /** Radians, query → candidate. */
  angle: number;
  /** Candidate pixels per query pixel. */
  scale: number;
  /** Query-frame shift, in 64-px thumbnail pixels. */
  shiftX: number;
  shiftY: number;
}

export interface Verification {
  /** Correlation of the finest detail at the best alignment, in [-1, 1]: the decision score. */
  score: number;
  /** Correlation of the 64-px band-pass the alignment was optimised on. */
  alignmentScore: number;
  /** Part of the query thumbnail covered by the candidate at that alignment. */
  overlap: number;
  alignment: Alignment;
}

/** A signature decoded into the pyramid the search uses (computed once per image, reused for every pair). */
export interface PreparedSignature {
  /** 16-px, standardized intensities: coarse layout for the brute-force search. */
  coarse: GrayImage;
  /** 32-px band-pass. */
  middle: GrayImage;
  /** 64-px band-pass: the finest level of the alignment search. */
  fine: GrayImage;
  /** The 64-px thumbnail itself (the decision's detail band is cut from it once the scale is known). */
  full: GrayImage;
  /** The same pyramid mirrored, made the first time this image is a query and kept for its other pairs. */
  mirrored?: PreparedSignature;
  /** detailBand(full, 1), made the first time a pair needs it: most pairs are at about the same scale. */
  detail?: GrayImage;
}

/**
 * The finest detail of a thumbnail (`images.full`): itself minus its σ=1 px blur. When the other image shows
 * the same content `ratio` times smaller (a crop against its original), the band is widened by that ratio
 * (and the image pre-blurred as if sampled that coarsely), so that both bands cover the same detail of the
 * scene.
 */
function detailBand(images: PreparedSignature, ratio: number): GrayImage {
  if (ratio <= 1.02) {
    images.detail ??= standardize(bandPass(images.full, 0, 1));
    return images.detail;
  }
  return standardize(bandPass(images.full, 0.5 * Math.sqrt(ratio * ratio - 1), ratio));
}

const LEVEL_FACTOR = { coarse: 4, middle: 2, fine: 1 } as const;
type Level = keyof typeof LEVEL_FACTOR;

export function prepareSignature(signature: Uint8Array): PreparedSignature {
  const { width, height, pixels } = decodeSignature(signature);
  const full = grayImage(width, height, pixels);
  const half = downsample(full, 2);
  return {
    coarse: standardize(downsample(full, 4)),
    middle: standardize(bandPass(half, 0, 2)),
    fine: standardize(bandPass(full, 0.6, 2.5)),
    full,
  };
}

function mirrorPrepared(prepared: PreparedSignature): PreparedSignature {
  return { coarse: mirror(prepared.coarse), middle: mirror(prepared.middle), fine: mirror(prepared.fine), full: mirror(prepared.full) };
}

interface PairScore {
  correlation: number;
  overlap: number;
}

/** Bilinear sample of `image` at (cx, cy); the caller has checked the point lies inside the image. */
function sampleBilinear(image: GrayImage, cx: number, cy: number): number {
  const x0 = Math.min(Math.floor(cx), Math.max(0, image.width - 2));
  const y0 = Math.min(Math.floor(cy), Math.max(0, image.height - 2));
  const fx = cx - x0;
  const fy = cy - y0;
  const row = y0 * image.width + x0;
  const data = image.data;
  const top = (data[row] ?? 0) * (1 - fx) + (data[row + 1] ?? 0) * fx;
  const bottom = (data[row + image.width] ?? 0) * (1 - fx) + (data[row + image.width + 1] ?? 0) * fx;
  return top * (1 - fy) + bottom * fy;
}

/**
 * Normalised correlation between the query and the candidate sampled (bilinearly) at the aligned positions,
 * over the query pixels that land inside the candidate (the sums come from kernels/thumbnail-align.wat).
 * Returns correlation -1 when the overlap is too small.
 */
function alignedCorrelation(query: GrayImage, candidate: GrayImage, alignment: Alignment, factor: number, search: AlignmentSearch): PairScore {
  const cos = Math.cos(alignment.angle) * alignment.scale;
  const sin = Math.sin(alignment.angle) * alignment.scale;
  const { n, sumQ, sumC, sumQQ, sumCC, sumQC } = correlationSums(query, candidate, cos, sin, alignment.shiftX / factor, alignment.shiftY / factor);
  const overlap = n / (query.width * query.height);
  const candidateCoverage = (n * alignment.scale * alignment.scale) / (candidate.width * candidate.height);
  if (!plausibleOverlap(overlap, Math.min(1, candidateCoverage), search) || n < 8) return { correlation: -1, overlap };
  const covariance = sumQC - (sumQ * sumC) / n;
  const varianceQ = sumQQ - (sumQ * sumQ) / n;
  const varianceC = sumCC - (sumC * sumC) / n;
  if (varianceQ <= 1e-9 || varianceC <= 1e-9) return { correlation: 0, overlap };
  return { correlation: covariance / Math.sqrt(varianceQ * varianceC), overlap };
}

/**
 * Fills `table` ((width + 1)×(height + 1), its first row and column zero) with the summed-area table of
 * `values`: the sum over [x0,x1)×[y0,y1) in four reads.
 */
function integral(values: Float32Array, width: number, height: number, table: Float64Array): Float64Array {
  for (let y = 0; y < height; y += 1) {
    let rowSum = 0;
    for (let x = 0; x < width; x += 1) {
      rowSum += values[y * width + x] ?? 0;
      table[(y + 1) * (width + 1) + x + 1] = (table[y * (width + 1) + x + 1] ?? 0) + rowSum;
    }
  }
  return table;
}

function boxSum(table: Float64Array, width: number, x0: number, y0: number, x1: number, y1: number): number {
  const stride = width + 1;
  return (table[y1 * stride + x1] ?? 0) - (table[y0 * stride + x1] ?? 0) - (table[y1 * stride + x0] ?? 0) + (table[y0 * stride + x0] ?? 0);
}

const COARSE_ANGLE_STEP_DEGREES = 6;
const COARSE_SCALE_STEP = 1.2;

/**
 * Brute force at 16 px: for every rotation and scale on a coarse grid, the candidate is resampled once into the
 * query's frame, then every integer shift is scored by a correlation (query standardized once; overlap counts
 * and energies from summed-area tables, the query sums of every shift from kernels/thumbnail-align.wat).
 * `queries` are the query and its mirror; returns the best shift of each (query, rotation, scale), the
 * unmirrored query's first.
 */
function coarseHypotheses(queries: readonly [plain: GrayImage, mirrored: GrayImage], candidate: GrayImage, search: AlignmentSearch): Array<{ alignment: Alignment; score: number }> {
  // The query and its mirror have one size, so they share each warp of the candidate.
  const [query] = queries;
  const angles: number[] = [];
  const angleSteps = Math.floor(search.maxRotationDegrees / COARSE_ANGLE_STEP_DEGREES);
  for (let step = -angleSteps; step <= angleSteps; step += 1) angles.push((step * COARSE_ANGLE_STEP_DEGREES * Math.PI) / 180);
  const scaleSteps = Math.round(Math.log(search.maxScale) / Math.log(COARSE_SCALE_STEP));
  const scales: number[] = [];
  for (let step = -scaleSteps; step <= scaleSteps; step += 1) scales.push(COARSE_SCALE_STEP ** step);

  const factor = LEVEL_FACTOR.coarse;
  const { width: queryWidth, height: queryHeight } = query;
  // Shifts up to half the query: beyond that the overlap is too small for any crop a repost makes.
  const rangeX = Math.ceil(queryWidth / 2);
  const rangeY = Math.ceil(queryHeight / 2);
  const gridWidth = queryWidth + 2 * rangeX;
  const gridHeight = queryHeight + 2 * rangeY;
  const shiftsX = 2 * rangeX + 1;
  const shiftsY = 2 * rangeY + 1;
  const grid = shiftGrid(queries, gridWidth, gridHeight, shiftsX, shiftsY);
  const { warped, mask, flags } = grid;
  const overlaps = new Float64Array(shiftsX * shiftsY);
  const squares = new Float32Array(gridWidth * gridHeight);
  // One set of tables for every warp: the search makes 45 of them.
  const tableSize = (gridWidth + 1) * (gridHeight + 1);
  const maskTable = new Float64Array(tableSize);
  const valueTable = new Float64Array(tableSize);
  const squareTable = new Float64Array(tableSize);
  const queryCenterX = (queryWidth - 1) / 2;
  const queryCenterY = (queryHeight - 1) / 2;
  const candidateCenterX = (candidate.width - 1) / 2;
  const candidateCenterY = (candidate.height - 1) / 2;
  const maxX = candidate.width - 1;
  const maxY = candidate.height - 1;
  const queryPixels = queryWidth * queryHeight;
  const candidatePixels = candidate.width * candidate.height;

  const results: Array<Array<{ alignment: Alignment; score: number }>> = queries.map(() => []);
  for (const angle of angles) {
    for (const scale of scales) {
      const cos = Math.cos(angle) * scale;
      const sin = Math.sin(angle) * scale;
      let sum = 0;
      let sumSquares = 0;
      let count = 0;
      for (let gy = 0; gy < gridHeight; gy += 1) {
        const v = gy - rangeY - queryCenterY;
        for (let gx = 0; gx < gridWidth; gx += 1) {
          const u = gx - rangeX - queryCenterX;
          const cx = cos * u - sin * v + candidateCenterX;
          const cy = sin * u + cos * v + candidateCenterY;
          const index = gy * gridWidth + gx;
          if (cx < 0 || cy < 0 || cx > maxX || cy > maxY || maxX < 1 || maxY < 1) {
            warped[index] = 0;
            mask[index] = 0;
            continue;
          }
          const value = sampleBilinear(candidate, cx, cy);
          warped[index] = value;
          mask[index] = 1;
          sum += value;
          sumSquares += value * value;
          count += 1;
        }
      }
      if (count === 0) continue;
      const average = sum / count;
      const deviation = Math.sqrt(Math.max(1e-9, sumSquares / count - average * average));
      for (let index = 0; index < warped.length; index += 1) {
        const value = mask[index] ? ((warped[index] ?? 0) - average) / deviation : 0;
        warped[index] = value;
        squares[index] = value * value;
      }
      integral(mask, gridWidth, gridHeight, maskTable);
      integral(warped, gridWidth, gridHeight, valueTable);
      integral(squares, gridWidth, gridHeight, squareTable);

      // Which shifts overlap plausibly (from the mask's table alone), then their query sums in one kernel call.
      for (let dy = -rangeY; dy <= rangeY; dy += 1) {
        const y0 = dy + rangeY;
        for (let dx = -rangeX; dx <= rangeX; dx += 1) {
          const x0 = dx + rangeX;
          const shift = y0 * shiftsX + x0;
          const n = boxSum(maskTable, gridWidth, x0, y0, x0 + queryWidth, y0 + queryHeight);
          overlaps[shift] = n;
          flags[shift] = plausibleOverlap(n / queryPixels, Math.min(1, (n * scale * scale) / candidatePixels), search) ? 1 : 0;
        }
      }
      const sums = grid.sums();
      for (let which = 0; which < queries.length; which += 1) {
        let best: { alignment: Alignment; score: number } | undefined;
        for (let dy = -rangeY; dy <= rangeY; dy += 1) {
          const y0 = dy + rangeY;
          for (let dx = -rangeX; dx <= rangeX; dx += 1) {
            const x0 = dx + rangeX;
            const shift = y0 * shiftsX + x0;
            if (flags[shift] === 0) continue;
            const n = overlaps[shift] as number;
            const sumW = boxSum(valueTable, gridWidth, x0, y0, x0 + queryWidth, y0 + queryHeight);
            const sumWW = boxSum(squareTable, gridWidth, x0, y0, x0 + queryWidth, y0 + queryHeight);
            // Query sums only over the pixels that land on the candidate (the mask), for a true local correlation.
            const sumQW = sums[shift * 6 + which] as number;
            const sumQ = sums[shift * 6 + 2 + which] as number;
            const sumQQ = sums[shift * 6 + 4 + which] as number;
            const varianceQ = sumQQ - (sumQ * sumQ) / n;
            const varianceW = sumWW - (sumW * sumW) / n;
            if (varianceQ <= 1e-9 || varianceW <= 1e-9) continue;
            const score = (sumQW - (sumQ * sumW) / n) / Math.sqrt(varianceQ * varianceW);
            if (best === undefined || score > best.score) {
              best = { alignment: { mirrored: which === 1, angle, scale, shiftX: dx * factor, shiftY: dy * factor }, score };
            }
          }
        }
        if (best !== undefined) results[which]?.push(best);
      }
    }
  }
  return results.flat();
}

/** Coordinate ascent on (angle, log scale, shift) at one pyramid level, halving the steps when stuck. */
function refine(
  query: GrayImage,
  candidate: GrayImage,
  start: Alignment,
  level: Level,
  steps: { angle: number; logScale: number; shift: number },
  rounds: number,
  search: AlignmentSearch,
): { alignment: Alignment; score: number } {
  const factor = LEVEL_FACTOR[level];
  // The ascent steps back onto alignments it has scored (a move and its reverse): about one in nine.
  const scored = new Map<string, number>();
  const evaluate = (alignment: Alignment): number => {
    const key = `${alignment.angle} ${alignment.scale} ${alignment.shiftX} ${alignment.shiftY}`;
    let score = scored.get(key);
    if (score === undefined) {
      score = alignedCorrelation(query, candidate, alignment, factor, search).correlation;
      scored.set(key, score);
    }
    return score;
  };
  let current = start;
  let currentScore = evaluate(current);
  let { angle, logScale, shift } = steps;
  for (let round = 0; round < rounds; round += 1) {
    let improved = true;
    let guard = 0;
    while (improved && guard < 12) {
      improved = false;
      guard += 1;
      const moves: Alignment[] = [
        { ...current, angle: current.angle + angle },
        { ...current, angle: current.angle - angle },
        { ...current, scale: current.scale * Math.exp(logScale) },
        { ...current, scale: current.scale * Math.exp(-logScale) },
        { ...current, shiftX: current.shiftX + shift },
        { ...current, shiftX: current.shiftX - shift },
        { ...current, shiftY: current.shiftY + shift },
        { ...current, shiftY: current.shiftY - shift },
      ];
      for (const move of moves) {
        const score = evaluate(move);
        if (score > currentScore + 1e-6) {
          current = move;
          currentScore = score;
          improved = true;
        }
      }
    }
    angle /= 2;
    logScale /= 2;
    shift /= 2;
  }
  return { alignment: current, score: currentScore };
}

/** How many coarse hypotheses are refined (the best coarse one is not always the right one). */
const REFINED_HYPOTHESES = 3;

/**
 * Aligns the candidate to the query and returns the band-pass correlation at the best alignment found.
 * Symmetric enough for a decision, but not exactly: call it with the newer image as the query.
 */
export function verifyPair(query: PreparedSignature, candidate: PreparedSignature, search: AlignmentSearch = DEFAULT_ALIGNMENT_SEARCH): Verification {
  query.mirrored ??= mirrorPrepared(query);
  const mirroredQuery = query.mirrored;
  const hypotheses = coarseHypotheses([query.coarse, mirroredQuery.coarse], candidate.coarse, search).sort((a, b) => b.score - a.score);

  let best: { score: number; alignment: Alignment } = { score: -Infinity, alignment: { mirrored: false, angle: 0, scale: 1, shiftX: 0, shiftY: 0 } };
  for (const hypothesis of hypotheses.slice(0, REFINED_HYPOTHESES)) {
    const images = hypothesis.alignment.mirrored ? mirroredQuery : query;
    const middle = refine(images.middle, candidate.middle, hypothesis.alignment, 'middle', { angle: 0.04, logScale: 0.06, shift: 2 }, 3, search);
    if (middle.score > best.score) best = middle;
  }
  if (best.score > -Infinity) {
    const images = best.alignment.mirrored ? mirroredQuery : query;
    best = refine(images.fine, candidate.fine, best.alignment, 'fine', { angle: 0.01, logScale: 0.015, shift: 0.5 }, 2, search);
  }
  if (best.score === -Infinity) return { score: -1, alignmentScore: -1, overlap: 0, alignment: best.alignment };
  const images = best.alignment.mirrored ? mirroredQuery : query;
  // scale = candidate pixels per query pixel: the image with more pixels per detail gets the wider band.
  const { scale } = best.alignment;
  const detail = alignedCorrelation(detailBand(images, 1 / scale), detailBand(candidate, scale), best.alignment, 1, search);
  return { score: detail.correlation, alignmentScore: best.score, overlap: detail.overlap, alignment: best.alignment };
}
