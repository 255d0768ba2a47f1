/**
 * Keypoint matching and geometric verification: mutual nearest neighbours by Hamming distance with a ratio
 * test, then a RANSAC similarity transform (rotation, uniform scale, shift). The number of inliers says
 * whether two images show the same picture at all: unrelated screenshots of one app share only their chrome,
 * a few dozen corners at most that rarely agree on one transform.
 */
import { DESCRIPTOR_WORDS, type Keypoints } from '../../embedding/keypoints.ts';
import { bestMatches } from './kernels/descriptor-match.ts';

/** A similarity transform: x' = a·x − b·y + tx, y' = b·x + a·y + ty. */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

export interface KeypointMatch {
  transform: Similarity;
  inliers: number;
  /** Matches that passed the ratio test (the RANSAC input). */
  matches: number;
}

/** A match's Hamming distance must be below this fraction of the second best. */
const RATIO = 0.9;
/** Matches farther than this (of 256 bits) are noise. */
const MAX_DISTANCE = 80;
const RANSAC_ITERATIONS = 300;
/** Reprojection error of an inlier, in candidate detail pixels. */
const INLIER_PIXELS = 4;
/** Scale range a repost plausibly has (candidate pixels per query pixel). */
const MIN_SCALE = 0.3;
const MAX_SCALE = 3.5;

/** Set bits of a 32-bit word (SWAR: no table lookups). */
function popcount(value: number): number {
  let x = value - ((value >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/** Pairs (query index, candidate index) that are each other's best match and pass the ratio test both ways. */
export function mutualMatches(query: Keypoints, candidate: Keypoints): Array<[number, number]> {
  const n = query.count;
  const m = candidate.count;
  if (n < 2 || m < 2) return [];
  const { rows, columns } = bestMatches(query, candidate);
  const pairs: Array<[number, number]> = [];
  for (let j = 0; j < m; j += 1) {
    const at = columns.at[j] as number;
    if (at < 0) continue;
    const rowBest = rows.best[at] as number;
    const rowOk = rowBest <= MAX_DISTANCE && rowBest < RATIO * (rows.second[at] as number);
    if (rowOk && rows.at[at] === j && (columns.best[j] as number) < RATIO * (columns.second[j] as number)) pairs.push([at, j]);
  }
  return pairs;
}

/** The similarity mapping p1→q1 and p2→q2 exactly. */
function fromTwo(px1: number, py1: number, px2: number, py2: number, qx1: number, qy1: number, qx2: number, qy2: number): Similarity | undefined {
  const dx = px2 - px1;
  const dy = py2 - py1;
  const norm = dx * dx + dy * dy;
  if (norm < 16) return undefined;
  const ex = qx2 - qx1;
  const ey = qy2 - qy1;
  const a = (dx * ex + dy * ey) / norm;
  const b = (dx * ey - dy * ex) / norm;
  return { a, b, tx: qx1 - a * px1 + b * py1, ty: qy1 - b * px1 - a * py1 };
}

/** Least-squares similarity over the given correspondences. */
export function fitSimilarity(px: Float64Array, py: Float64Array, qx: Float64Array, qy: Float64Array): Similarity | undefined {
  const n = px.length;
  if (n < 2) return undefined;
  let mpx = 0;
  let mpy = 0;
  let mqx = 0;
  let mqy = 0;
  for (let k = 0; k < n; k += 1) {
    mpx += px[k] ?? 0;
    mpy += py[k] ?? 0;
    mqx += qx[k] ?? 0;
    mqy += qy[k] ?? 0;
  }
  mpx /= n;
  mpy /= n;
  mqx /= n;
  mqy /= n;
  let sxx = 0;
  let sab = 0;
  let sba = 0;
  for (let k = 0; k < n; k += 1) {
    const x = (px[k] ?? 0) - mpx;
    const y = (py[k] ?? 0) - mpy;
    const u = (qx[k] ?? 0) - mqx;
    const v = (qy[k] ?? 0) - mqy;
    sxx += x * x + y * y;
    sab += x * u + y * v;
    sba += x * v - y * u;
  }
  if (sxx < 1e-9) return undefined;
  const a = sab / sxx;
  const b = sba / sxx;
  return { a, b, tx: mqx - a * mpx + b * mpy, ty: mqy - b * mpx - a * mpy };
}

function plausible(transform: Similarity): boolean {
  const scale = Math.hypot(transform.a, transform.b);
  return scale >= MIN_SCALE && scale <= MAX_SCALE;
}

/**
 * The similarity transform from query to candidate detail pixels that most matches agree on, refitted on
 * its inliers. Deterministic (a fixed-seed generator picks the samples).
 */
export function matchKeypoints(query: Keypoints, candidate: Keypoints): KeypointMatch {
  return fitMatches(query, candidate, mutualMatches(query, candidate));
}

/**
 * Matches each query keypoint to the closest-descriptor candidate keypoint near where `predict` puts it
 * (within `radius` pixels), then fits the transform on those. For a pair that an approximate alignment
 * already relates (a crop whose scale change defeats descriptor-only matching), this recovers a precise one.
 */
export function guidedMatch(query: Keypoints, candidate: Keypoints, predict: (x: number, y: number) => [number, number], radius: number): KeypointMatch {
  const pairs: Array<[number, number]> = [];
  const limit = radius * radius;
  for (let i = 0; i < query.count; i += 1) {
    const [px, py] = predict(query.x[i] ?? 0, query.y[i] ?? 0);
    const qi = i * DESCRIPTOR_WORDS;
    let best = MAX_DISTANCE + 1;
    let at = -1;
    for (let j = 0; j < candidate.count; j += 1) {
      const dx = (candidate.x[j] ?? 0) - px;
      const dy = (candidate.y[j] ?? 0) - py;
      if (dx * dx + dy * dy > limit) continue;
      let distance = 0;
      for (let word = 0; word < DESCRIPTOR_WORDS; word += 1) distance += popcount((query.descriptors[qi + word] ?? 0) ^ (candidate.descriptors[j * DESCRIPTOR_WORDS + word] ?? 0));
      if (distance < best) {
        best = distance;
        at = j;
      }
    }
    if (at >= 0) pairs.push([i, at]);
  }
  return fitMatches(query, candidate, pairs);
}

function fitMatches(query: Keypoints, candidate: Keypoints, pairs: Array<[number, number]>): KeypointMatch {
  const none: KeypointMatch = { transform: { a: 1, b: 0, tx: 0, ty: 0 }, inliers: 0, matches: pairs.length };
  if (pairs.length < 3) return none;
  const n = pairs.length;
  const px = Float64Array.from(pairs, ([i]) => query.x[i] ?? 0);
  const py = Float64Array.from(pairs, ([i]) => query.y[i] ?? 0);
  const qx = Float64Array.from(pairs, ([, j]) => candidate.x[j] ?? 0);
  const qy = Float64Array.from(pairs, ([, j]) => candidate.y[j] ?? 0);
  const countInliers = (t: Similarity, keep?: Uint8Array, pixels = INLIER_PIXELS): number => {
    const limit = pixels * pixels;
    let count = 0;
    for (let k = 0; k < n; k += 1) {
      const x = px[k] ?? 0;
      const y = py[k] ?? 0;
      const ex = t.a * x - t.b * y + t.tx - (qx[k] ?? 0);
      const ey = t.b * x + t.a * y + t.ty - (qy[k] ?? 0);
      const inside = ex * ex + ey * ey <= limit;
      if (keep !== undefined) keep[k] = Number(inside);
      if (inside) count += 1;
    }
    return count;
  };
  let seed = 12345;
  const next = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  let best: Similarity | undefined;
  let bestCount = 0;
  for (let iteration = 0; iteration < RANSAC_ITERATIONS; iteration += 1) {
    const first = next();
    const second = next();
    if (first === second) continue;
    const t = fromTwo(px[first] ?? 0, py[first] ?? 0, px[second] ?? 0, py[second] ?? 0, qx[first] ?? 0, qy[first] ?? 0, qx[second] ?? 0, qy[second] ?? 0);
    if (t === undefined || !plausible(t)) continue;
    const count = countInliers(t);
    if (count > bestCount) {
      bestCount = count;
      best = t;
    }
  }
  if (best === undefined || bestCount < 3) return none;
  // Refits on the inliers, the last ones on the tighter half of them: the least-squares transform is more
  // precise than any two-point sample, and text's repeated letters leave near-miss matches a loose fit keeps.
  for (const pixels of [INLIER_PIXELS, INLIER_PIXELS / 2, INLIER_PIXELS / 2]) {
    const keep = new Uint8Array(n);
    if (countInliers(best, keep, pixels) < 3) break;
    const pick = (values: Float64Array): Float64Array => values.filter((_, k) => keep[k] === 1);
    const refit = fitSimilarity(pick(px), pick(py), pick(qx), pick(qy));
    if (refit === undefined || !plausible(refit)) break;
    best = refit;
  }
  return { transform: best, inliers: Math.max(bestCount, countInliers(best)), matches: n };
}
