/**
 * ORB-style local features on a grey image, in pure typed-array code: FAST-9 corners spread over a grid,
 * an intensity-centroid orientation and a steered 256-bit BRIEF descriptor. They let the duplicate detector
 * find the transform between two pictures even when most of each is text that a 64-px thumbnail blurs away.
 *
 * The 256 binary tests are 128 random point pairs followed by the same pairs mirrored top–bottom. With the
 * orientation measured by intensity centroid, the descriptor of a keypoint in the left–right mirrored image
 * is then this descriptor with its two 128-bit halves swapped (see mirrorDescriptors), so matching against a
 * mirrored repost needs no second feature pass.
 */

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
/** FAST: a corner differs from its centre by more than this on 9 contiguous circle pixels. */
const FAST_THRESHOLD = 20;
/** Grid cells per side used to spread keypoints over the whole picture (text lines, not one busy corner). */
const GRID = 8;

const CIRCLE: ReadonlyArray<readonly [number, number]> = [
  [0, -3], [1, -3], [2, -2], [3, -1], [3, 0], [3, 1], [2, 2], [1, 3],
  [0, 3], [-1, 3], [-2, 2], [-3, 1], [-3, 0], [-3, -1], [-2, -2], [-1, -3],
];

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

/** 5×5 box blur (two passes of a running sum): the descriptor's tests compare smoothed pixels, as ORB does. */
function boxBlur5(pixels: Uint8Array, width: number, height: number): Uint8Array {
  const horizontal = new Uint16Array(width * height);
  for (let y = 0; y < height; y += 1) {
    const row = y * width;
    for (let x = 0; x < width; x += 1) {
      let sum = 0;
      for (let dx = -2; dx <= 2; dx += 1) sum += pixels[row + Math.min(width - 1, Math.max(0, x + dx))] ?? 0;
      horizontal[row + x] = sum;
    }
  }
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      let sum = 0;
      for (let dy = -2; dy <= 2; dy += 1) sum += horizontal[Math.min(height - 1, Math.max(0, y + dy)) * width + x] ?? 0;
      out[y * width + x] = Math.round(sum / 25);
    }
  }
  return out;
}

/** FAST-9 score at one pixel: 0 when it is not a corner, else the summed contrast of the circle beyond the threshold. */
function fastScore(pixels: Uint8Array, width: number, index: number, offsets: Int32Array): number {
  const centre = pixels[index] ?? 0;
  const high = centre + FAST_THRESHOLD;
  const low = centre - FAST_THRESHOLD;
  // Quick rejection: of the four compass pixels, at least three must be brighter or three darker.
  const p0 = pixels[index + (offsets[0] ?? 0)] ?? 0;
  const p4 = pixels[index + (offsets[4] ?? 0)] ?? 0;
  const p8 = pixels[index + (offsets[8] ?? 0)] ?? 0;
  const p12 = pixels[index + (offsets[12] ?? 0)] ?? 0;
  const brighter = Number(p0 > high) + Number(p4 > high) + Number(p8 > high) + Number(p12 > high);
  const darker = Number(p0 < low) + Number(p4 < low) + Number(p8 < low) + Number(p12 < low);
  if (brighter < 3 && darker < 3) return 0;
  let runBright = 0;
  let runDark = 0;
  let bestBright = 0;
  let bestDark = 0;
  let score = 0;
  for (let step = 0; step < 25; step += 1) {
    const value = pixels[index + (offsets[step % 16] ?? 0)] ?? 0;
    if (value > high) {
      runBright += 1;
      runDark = 0;
    } else if (value < low) {
      runDark += 1;
      runBright = 0;
    } else {
      runBright = 0;
      runDark = 0;
    }
    if (runBright > bestBright) bestBright = runBright;
    if (runDark > bestDark) bestDark = runDark;
    if (step < 16) score += Math.max(0, Math.abs(value - centre) - FAST_THRESHOLD);
  }
  return bestBright >= 9 || bestDark >= 9 ? score : 0;
}

interface Corner {
  x: number;
  y: number;
  score: number;
}

function detectCorners(pixels: Uint8Array, width: number, height: number): Corner[] {
  const offsets = Int32Array.from(CIRCLE, ([dx, dy]) => dy * width + dx);
  const scores = new Float32Array(width * height);
  for (let y = MARGIN; y < height - MARGIN; y += 1) {
    for (let x = MARGIN; x < width - MARGIN; x += 1) scores[y * width + x] = fastScore(pixels, width, y * width + x, offsets);
  }
  const corners: Corner[] = [];
  for (let y = MARGIN; y < height - MARGIN; y += 1) {
    for (let x = MARGIN; x < width - MARGIN; x += 1) {
      const index = y * width + x;
      const score = scores[index] ?? 0;
      if (score === 0) continue;
      // 3×3 non-maximum suppression (ties broken by position so a flat run keeps one corner).
      let isMax = true;
      for (let dy = -1; dy <= 1 && isMax; dy += 1) {
        for (let dx = -1; dx <= 1; dx += 1) {
          if (dx === 0 && dy === 0) continue;
          const other = scores[index + dy * width + dx] ?? 0;
          if (other > score || (other === score && dy * width + dx < 0)) {
            isMax = false;
            break;
          }
        }
      }
      if (isMax) corners.push({ x, y, score });
    }
  }
  return corners;
}

/** The strongest corners of each grid cell first, then the strongest of the rest, up to `limit`. */
function spreadCorners(corners: Corner[], width: number, height: number, limit: number): Corner[] {
  const cells = new Map<number, Corner[]>();
  for (const corner of corners) {
    const cell = Math.min(GRID - 1, Math.floor((corner.y / height) * GRID)) * GRID + Math.min(GRID - 1, Math.floor((corner.x / width) * GRID));
    const list = cells.get(cell) ?? [];
    list.push(corner);
    cells.set(cell, list);
  }
  const perCell = Math.ceil(limit / (GRID * GRID));
  const chosen: Corner[] = [];
  const rest: Corner[] = [];
  for (const list of cells.values()) {
    list.sort((a, b) => b.score - a.score);
    chosen.push(...list.slice(0, perCell));
    rest.push(...list.slice(perCell));
  }
  if (chosen.length >= limit) return chosen.sort((a, b) => b.score - a.score).slice(0, limit);
  rest.sort((a, b) => b.score - a.score);
  return chosen.concat(rest.slice(0, limit - chosen.length));
}

/** Orientation by intensity centroid over the patch disc. */
function orientation(pixels: Uint8Array, width: number, x: number, y: number): number {
  let mx = 0;
  let my = 0;
  for (let dy = -PATCH_RADIUS; dy <= PATCH_RADIUS; dy += 1) {
    const span = Math.floor(Math.sqrt(PATCH_RADIUS * PATCH_RADIUS - dy * dy));
    const row = (y + dy) * width + x;
    for (let dx = -span; dx <= span; dx += 1) {
      const value = pixels[row + dx] ?? 0;
      mx += dx * value;
      my += dy * value;
    }
  }
  return Math.atan2(my, mx);
}

/** Keypoints and descriptors of a row-major 8-bit grey image. */
export function computeKeypoints(pixels: Uint8Array, width: number, height: number, limit = MAX_KEYPOINTS): Keypoints {
  if (width <= 2 * MARGIN || height <= 2 * MARGIN) return { count: 0, x: new Float32Array(0), y: new Float32Array(0), descriptors: new Uint32Array(0) };
  const corners = spreadCorners(detectCorners(pixels, width, height), width, height, limit);
  const smooth = boxBlur5(pixels, width, height);
  const count = corners.length;
  const xs = new Float32Array(count);
  const ys = new Float32Array(count);
  const descriptors = new Uint32Array(count * DESCRIPTOR_WORDS);
  for (const [k, corner] of corners.entries()) {
    xs[k] = corner.x;
    ys[k] = corner.y;
    const angle = orientation(smooth, width, corner.x, corner.y);
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    const at = (px: number, py: number): number => {
      const sx = Math.round(corner.x + cos * px - sin * py);
      const sy = Math.round(corner.y + sin * px + cos * py);
      return smooth[sy * width + sx] ?? 0;
    };
    for (let pair = 0; pair < 128; pair += 1) {
      const x1 = PAIRS[pair * 4] ?? 0;
      const y1 = PAIRS[pair * 4 + 1] ?? 0;
      const x2 = PAIRS[pair * 4 + 2] ?? 0;
      const y2 = PAIRS[pair * 4 + 3] ?? 0;
      const direct = at(x1, y1) < at(x2, y2);
      const mirrored = at(x1, -y1) < at(x2, -y2);
      const base = k * DESCRIPTOR_WORDS;
      if (direct) descriptors[base + (pair >>> 5)] = (descriptors[base + (pair >>> 5)] ?? 0) | (1 << (pair & 31));
      const bit = pair + 128;
      if (mirrored) descriptors[base + (bit >>> 5)] = (descriptors[base + (bit >>> 5)] ?? 0) | (1 << (bit & 31));
    }
  }
  return { count, x: xs, y: ys, descriptors };
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
