/**
 * ORB-style local features on a grey image: FAST-9 corners spread over a grid, an intensity-centroid
 * orientation and a steered 256-bit BRIEF descriptor. They let the duplicate detector find the transform
 * between two pictures even when most of each is text that a 64-px thumbnail blurs away. The pixel work
 * (corner scores, blur, orientation, descriptors) runs in a WebAssembly kernel (kernels/keypoints.wat); the
 * choice of corners and the test pattern are here.
 *
 * The 256 binary tests are 128 random point pairs followed by the same pairs mirrored top–bottom. With the
 * orientation measured by intensity centroid, the descriptor of a keypoint in the left–right mirrored image
 * is then this descriptor with its two 128-bit halves swapped (see mirrorDescriptors), so matching against a
 * mirrored repost needs no second feature pass.
 */

import { cornerScores, describeKeypoints, type DescriptorPattern } from './kernels/keypoints.ts';

export interface Keypoints {
  count: number;
  /** Keypoint positions in image pixels. */
  x: Float32Array;
  y: Float32Array;
  /** DESCRIPTOR_WORDS 32-bit words per keypoint. */
  descriptors: Uint32Array;
}

export const DESCRIPTOR_WORDS = 8;
/** Cap on keypoints per image: enough for a robust transform, small enough to match in a few ms. */
export const MAX_KEYPOINTS = 320;
/** Radius of the patch the descriptor and the orientation read. */
const PATCH_RADIUS = 13;
/** Margin kept from the border so that a rotated patch stays inside the image. */
const MARGIN = Math.ceil(PATCH_RADIUS * Math.SQRT2) + 2;
/** Grid cells per side used to spread keypoints over the whole picture (text lines, not one busy corner). */
const GRID = 8;

/** 128 test pairs (x1, y1, x2, y2), Gaussian around the centre (σ = radius / 2), from a fixed seed. */
const PAIRS: Int8Array = (() => {
  let state = 0x9e3779b9;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const gaussian = (): number => {
    const value = Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform()) * (PATCH_RADIUS / 2);
    return Math.max(-PATCH_RADIUS, Math.min(PATCH_RADIUS, Math.round(value)));
  };
  const pairs = new Int8Array(128 * 4);
  for (let index = 0; index < pairs.length; index += 1) pairs[index] = gaussian();
  return pairs;
})();

/** Corners as parallel arrays, in raster order or in the order chosen. */
interface Corners {
  x: Int32Array;
  y: Int32Array;
  score: Uint16Array;
}

/**
 * FAST-9 corners with 3×3 non-maximum suppression (keypoints.wat). A corner's score is the summed contrast of
 * its 16 circle pixels beyond the threshold of 20 levels; a pixel is a corner when three of the four compass
 * pixels are brighter (or three darker) than its centre by more than the threshold, and 9 contiguous circle
 * pixels too. On a tie between neighbours the earlier pixel (raster order) is kept.
 */
function detectCorners(pixels: Uint8Array, width: number, height: number): Corners {
  const { index, score } = cornerScores(pixels, width, height, MARGIN);
  const x = new Int32Array(index.length);
  const y = new Int32Array(index.length);
  for (let k = 0; k < index.length; k += 1) {
    x[k] = index[k]! % width;
    y[k] = (index[k]! - x[k]!) / width;
  }
  return { x, y, score };
}

/** Scores are at most 16 × 235, so a counting sort over this many keys orders them. */
const SCORE_KEYS = 4096;

/**
 * `items` stably sorted by `key(item)`, an integer in [0, keys) (a counting sort), with the offset where
 * each key's run starts (`keys` + 1 offsets, the last one the total).
 */
function sortByKey(items: Int32Array, key: (item: number) => number, keys: number): { sorted: Int32Array; starts: Int32Array } {
  const starts = new Int32Array(keys + 1);
  for (const item of items) starts[key(item) + 1] = starts[key(item) + 1]! + 1;
  for (let k = 0; k < keys; k += 1) starts[k + 1] = starts[k + 1]! + starts[k]!;
  const next = starts.slice(0, keys);
  const sorted = new Int32Array(items.length);
  for (const item of items) {
    const k = key(item);
    sorted[next[k]!] = item;
    next[k] = next[k]! + 1;
  }
  return { sorted, starts };
}

/** `items` (corner numbers) by descending score, equal scores in their order in `items`. */
function byScore(items: Int32Array, score: Uint16Array): Int32Array {
  return sortByKey(items, (item) => SCORE_KEYS - score[item]!, SCORE_KEYS + 1).sorted;
}

/**
 * The strongest corners of each grid cell first, then the strongest of the rest, up to `limit`; returns the
 * chosen corner numbers in order. Cells are visited in the order their first corner appears in raster order,
 * and every ordering is stable, so equal scores keep raster order.
 */
function spreadCorners(corners: Corners, width: number, height: number, limit: number): Int32Array {
  const count = corners.score.length;
  const cellRank = new Int32Array(GRID * GRID).fill(-1);
  const rankOf = new Int32Array(count);
  let cells = 0;
  for (let k = 0; k < count; k += 1) {
    const cell =
      Math.min(GRID - 1, Math.floor((corners.y[k]! / height) * GRID)) * GRID + Math.min(GRID - 1, Math.floor((corners.x[k]! / width) * GRID));
    if (cellRank[cell] === -1) cellRank[cell] = cells++;
    rankOf[k] = cellRank[cell]!;
  }
  // By score, then (stable) by cell: each cell's corners together, strongest first.
  const strongest = byScore(Int32Array.from({ length: count }, (_, k) => k), corners.score);
  const { sorted: grouped, starts } = sortByKey(strongest, (k) => rankOf[k]!, cells);
  const perCell = Math.ceil(limit / (GRID * GRID));
  const chosen: number[] = [];
  const rest: number[] = [];
  for (let rank = 0; rank < cells; rank += 1) {
    const first = starts[rank]!;
    for (let at = first; at < starts[rank + 1]!; at += 1) {
      if (at - first < perCell) chosen.push(grouped[at]!);
      else rest.push(grouped[at]!);
    }
  }
  if (chosen.length >= limit) return byScore(Int32Array.from(chosen), corners.score).slice(0, limit);
  const more = byScore(Int32Array.from(rest), corners.score).subarray(0, limit - chosen.length);
  const all = new Int32Array(chosen.length + more.length);
  all.set(chosen, 0);
  all.set(more, chosen.length);
  return all;
}

/** Per row of the patch disc (dy = -PATCH_RADIUS … PATCH_RADIUS), its half-width. */
const DISC_SPANS: Int32Array = Int32Array.from({ length: 2 * PATCH_RADIUS + 1 }, (_, row) => {
  const dy = row - PATCH_RADIUS;
  return Math.floor(Math.sqrt(PATCH_RADIUS * PATCH_RADIUS - dy * dy));
});

/** The descriptor's test pairs and patch disc, in the form the kernel reads. */
const PATTERN: DescriptorPattern = { pairs: Float64Array.from(PAIRS), spans: DISC_SPANS };

/** Keypoints and descriptors of a row-major 8-bit grey image. */
export function computeKeypoints(pixels: Uint8Array, width: number, height: number, limit = MAX_KEYPOINTS): Keypoints {
  if (width <= 2 * MARGIN || height <= 2 * MARGIN) return { count: 0, x: new Float32Array(0), y: new Float32Array(0), descriptors: new Uint32Array(0) };
  const corners = detectCorners(pixels, width, height);
  const chosen = spreadCorners(corners, width, height, limit);
  const count = chosen.length;
  const x = Int32Array.from(chosen, (k) => corners.x[k]!);
  const y = Int32Array.from(chosen, (k) => corners.y[k]!);
  // The descriptor's tests compare smoothed pixels, as ORB does, steered by the intensity-centroid orientation.
  const descriptors = describeKeypoints(pixels, width, height, x, y, PATTERN);
  return { count, x: Float32Array.from(x), y: Float32Array.from(y), descriptors };
}

/** The keypoints of the left–right mirrored image (`width` wide): x flipped, descriptor halves swapped. */
export function mirrorKeypoints(keypoints: Keypoints, width: number): Keypoints {
  const half = DESCRIPTOR_WORDS / 2;
  const descriptors = new Uint32Array(keypoints.descriptors.length);
  for (let k = 0; k < keypoints.count; k += 1) {
    const base = k * DESCRIPTOR_WORDS;
    for (let word = 0; word < half; word += 1) {
      descriptors[base + word] = keypoints.descriptors[base + half + word] ?? 0;
      descriptors[base + half + word] = keypoints.descriptors[base + word] ?? 0;
    }
  }
  return { count: keypoints.count, x: Float32Array.from(keypoints.x, (x) => width - 1 - x), y: keypoints.y, descriptors };
}
