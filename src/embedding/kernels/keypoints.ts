/**
 * The two whole-image passes of keypoints.ts, corner detection and the 5×5 blur, run by the WebAssembly
 * kernel in keypoints.wat. Each call copies the image in and its result out, so callers hold no kernel memory.
 */
import { ensureBytes, instantiate } from '../../services/duplicates/kernels/instance.ts';
import { WASM_BASE64 } from './keypoints.wasm.ts';

interface Kernel {
  memory: WebAssembly.Memory;
  corners: (pixels: number, width: number, height: number, margin: number, scores: number, list: number) => number;
  blur: (pixels: number, width: number, height: number, horizontal: number, smooth: number) => void;
}

/** Corners after suppression, in raster order. */
export interface CornerScores {
  /** Pixel index (y · width + x) of each corner. */
  index: Int32Array;
  score: Uint16Array;
}

/** The kernels step 16 pixels at a time and may read and write up to that many past an image's end. */
const SLACK = 64;
const align = (offset: number): number => Math.ceil(offset / 16) * 16;

let kernel: Kernel | undefined;

/** The kernel, its memory grown to `bytes`, with the image copied to offset 0. */
function withImage(pixels: Uint8Array, bytes: number): Kernel {
  kernel ??= instantiate<Kernel>(WASM_BASE64);
  ensureBytes(kernel.memory, bytes);
  new Uint8Array(kernel.memory.buffer).set(pixels, 0);
  return kernel;
}

/** FAST-9 scores of the pixels at least `margin` from every edge, 3×3 maxima only (see keypoints.wat). */
export function cornerScores(pixels: Uint8Array, width: number, height: number, margin: number): CornerScores {
  const count = width * height;
  const scoresAt = align(count + SLACK);
  const listAt = align(scoresAt + 2 * count + SLACK);
  const { memory, corners } = withImage(pixels, listAt + 4 * count);
  const found = corners(0, width, height, margin, scoresAt, listAt);
  const index = new Int32Array(memory.buffer, listAt, found).slice();
  const scores = new Uint16Array(memory.buffer, scoresAt, count);
  return { index, score: Uint16Array.from(index, (at) => scores[at]!) };
}

/** The 5×5 box mean of the image, edge pixels repeated, rounded to the nearest level; `width` ≥ 4. */
export function boxBlur5(pixels: Uint8Array, width: number, height: number): Uint8Array {
  const count = width * height;
  const horizontalAt = align(count + SLACK);
  const smoothAt = align(horizontalAt + 2 * count + SLACK);
  const { memory, blur } = withImage(pixels, smoothAt + count + SLACK);
  blur(0, width, height, horizontalAt, smoothAt);
  return new Uint8Array(memory.buffer, smoothAt, count).slice();
}
