/**
 * The pixel work of keypoints.ts (corner detection, the 5×5 blur, orientation and descriptors), run by the
 * WebAssembly kernel in keypoints.wat. Each call copies the image in and its result out, so callers hold no
 * kernel memory.
 */
import { align16, instantiate, loadAtStart } from '../../webassembly.ts';
import { WASM_BASE64 } from './keypoints.wasm.ts';

interface Kernel {
  memory: WebAssembly.Memory;
  corners: (pixels: number, width: number, height: number, margin: number, scores: number, list: number) => number;
  blur: (pixels: number, width: number, height: number, horizontal: number, smooth: number) => void;
  moments: (smooth: number, width: number, points: number, count: number, spans: number, out: number) => void;
  describe: (smooth: number, width: number, points: number, count: number, trig: number, pairs: number, out: number) => void;
}

/** What the descriptor reads besides the image: the test pairs and the patch disc. */
export interface DescriptorPattern {
  /** 128 pairs (x1, y1, x2, y2) of offsets from the keypoint. */
  pairs: Float64Array;
  /** Half-width of each row of the patch disc, dy = −13 … 13. */
  spans: Int32Array;
}

/** Words per descriptor: 128 direct bits, then 128 mirrored. */
const DESCRIPTOR_WORDS = 8;

/** Corners after suppression, in raster order. */
export interface CornerScores {
  /** Pixel index (y · width + x) of each corner. */
  index: Int32Array;
  score: Uint16Array;
}

/** The kernels step 16 pixels at a time and may read and write up to that many past an image's end. */
const SLACK = 64;

let kernel: Kernel | undefined;

/** The kernel, its memory grown to `bytes`, with the image copied to offset 0. */
function withImage(pixels: Uint8Array, bytes: number): Kernel {
  kernel ??= instantiate<Kernel>(WASM_BASE64);
  loadAtStart(kernel.memory, pixels, bytes);
  return kernel;
}

/** FAST-9 scores of the pixels at least `margin` from every edge, 3×3 maxima only (see keypoints.wat). */
export function cornerScores(pixels: Uint8Array, width: number, height: number, margin: number): CornerScores {
  const count = width * height;
  const scoresAt = align16(count + SLACK);
  const listAt = align16(scoresAt + 2 * count + SLACK);
  const { memory, corners } = withImage(pixels, listAt + 4 * count);
  const found = corners(0, width, height, margin, scoresAt, listAt);
  const index = new Int32Array(memory.buffer, listAt, found).slice();
  const scores = new Uint16Array(memory.buffer, scoresAt, count);
  return { index, score: Uint16Array.from(index, (at) => scores[at]!) };
}

/**
 * Steered BRIEF descriptors of the keypoints at (x[k], y[k]) (each at least 19 pixels from every edge), read
 * from the 5×5 blur of the image and steered by the intensity-centroid orientation atan2(my, mx) of the
 * blurred patch disc: DESCRIPTOR_WORDS words per keypoint (see keypoints.wat).
 */
export function describeKeypoints(pixels: Uint8Array, width: number, height: number, x: Int32Array, y: Int32Array, pattern: DescriptorPattern): Uint32Array {
  const count = x.length;
  const pixelCount = width * height;
  const horizontalAt = align16(pixelCount + SLACK);
  const smoothAt = align16(horizontalAt + 2 * pixelCount + SLACK);
  const pointsAt = align16(smoothAt + pixelCount + SLACK);
  const momentsAt = pointsAt + 8 * count;
  const trigAt = align16(momentsAt + 8 * count);
  const pairsAt = trigAt + 16 * count;
  const spansAt = pairsAt + pattern.pairs.length * 8;
  const outAt = align16(spansAt + pattern.spans.length * 4);
  const { memory, blur, moments, describe } = withImage(pixels, outAt + DESCRIPTOR_WORDS * 4 * count);
  blur(0, width, height, horizontalAt, smoothAt);
  const points = new Int32Array(memory.buffer, pointsAt, 2 * count);
  for (let k = 0; k < count; k += 1) {
    points[2 * k] = x[k]!;
    points[2 * k + 1] = y[k]!;
  }
  new Int32Array(memory.buffer, spansAt, pattern.spans.length).set(pattern.spans);
  moments(smoothAt, width, pointsAt, count, spansAt, momentsAt);
  const sums = new Int32Array(memory.buffer, momentsAt, 2 * count);
  const trig = new Float64Array(memory.buffer, trigAt, 2 * count);
  for (let k = 0; k < count; k += 1) {
    const angle = Math.atan2(sums[2 * k + 1]!, sums[2 * k]!);
    trig[2 * k] = Math.cos(angle);
    trig[2 * k + 1] = Math.sin(angle);
  }
  new Float64Array(memory.buffer, pairsAt, pattern.pairs.length).set(pattern.pairs);
  describe(smoothAt, width, pointsAt, count, trigAt, pairsAt, outAt);
  return new Uint32Array(memory.buffer, outAt, DESCRIPTOR_WORDS * count).slice();
}

/** The 5×5 box mean of the image, edge pixels repeated, rounded to the nearest level; `width` ≥ 4. */
export function boxBlur5(pixels: Uint8Array, width: number, height: number): Uint8Array {
  const count = width * height;
  const horizontalAt = align16(count + SLACK);
  const smoothAt = align16(horizontalAt + 2 * count + SLACK);
  const { memory, blur } = withImage(pixels, smoothAt + count + SLACK);
  blur(0, width, height, horizontalAt, smoothAt);
  return new Uint8Array(memory.buffer, smoothAt, count).slice();
}
