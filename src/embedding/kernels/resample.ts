/**
 * The convolution passes of grey-resample.ts, run by the WebAssembly kernel in resample.wat. The caller
 * chooses every source row, column and weight; the kernel multiplies, adds and rounds. Each call copies the
 * image in and its result out, so callers hold no kernel memory.
 */
import { align16, instantiate, loadAtStart } from '../../webassembly.ts';
import { WASM_BASE64 } from './resample.wasm.ts';

interface Kernel {
  memory: WebAssembly.Memory;
  shrinkRows: (source: number, width: number, height: number, factor: number, outHeight: number, amend: number, multiplier: number, out: number) => void;
  reduceRows: (source: number, width: number, taps: number, points: number, outHeight: number, out: number) => void;
  reduceColumns: (
    source: number, width: number, height: number, starts: number, weights: number, outWidth: number, wide: number, out: number,
  ) => void;
  enlargeRows: (source: number, width: number, height: number, groups: number, groupCount: number, rows: number) => void;
  enlargeColumns: (rows: number, taps: number, outWidth: number, outHeight: number, out: number) => void;
}

/** Per output pixel (row or column), `points` source indices and their 12-bit fixed-point weights. */
export interface Taps {
  points: number;
  index: Int32Array;
  weight: Int32Array;
}

/** The kernel steps up to 16 bytes (or 8 words) at a time and may read and write that far past a buffer. */
const SLACK = 64;
/** Bytes per group of four enlarged columns: window offset, 16 byte indices, 16 i16 weights. */
const GROUP_BYTES = 64;
const COLUMNS_PER_GROUP = 4;

let kernel: Kernel | undefined;

/** The kernel, its memory grown to `bytes`, with the image copied to offset 0. */
function withImage(pixels: Uint8Array, bytes: number): Kernel {
  kernel ??= instantiate<Kernel>(WASM_BASE64);
  loadAtStart(kernel.memory, pixels, bytes);
  return kernel;
}

/**
 * Output row y: the mean of source rows y·factor … y·factor + factor − 1 (the last row repeated past the end),
 * as ((sum + amend) · multiplier) >>> 24 in 32 bits.
 */
export function meanOfRows(pixels: Uint8Array, width: number, height: number, factor: number, amend: number, multiplier: number): Uint8Array {
  const outHeight = Math.ceil(height / factor);
  const outAt = align16(pixels.length + SLACK);
  const { memory, shrinkRows } = withImage(pixels, outAt + width * outHeight + SLACK);
  shrinkRows(0, width, height, factor, outHeight, amend, multiplier, outAt);
  return new Uint8Array(memory.buffer, outAt, width * outHeight).slice();
}

/** Output row y: Σ weight · source row over `taps` for y, (sum + 2048) >> 12 clamped to a byte. */
export function convolveRows(pixels: Uint8Array, width: number, taps: Taps, outHeight: number): Uint8Array {
  const tapsAt = align16(pixels.length + SLACK);
  const outAt = align16(tapsAt + outHeight * taps.points * 8);
  const { memory, reduceRows } = withImage(pixels, outAt + width * outHeight + SLACK);
  const table = new Int32Array(memory.buffer, tapsAt, outHeight * taps.points * 2);
  for (let tap = 0; tap < outHeight * taps.points; tap += 1) {
    table[2 * tap] = taps.index[tap]! * width;
    table[2 * tap + 1] = taps.weight[tap]!;
  }
  reduceRows(0, width, tapsAt, taps.points, outHeight, outAt);
  return new Uint8Array(memory.buffer, outAt, width * outHeight).slice();
}

/** Widest window of source columns one output column of convolveColumns may read. */
export const MAX_COLUMN_TAPS = 32;
const WINDOW_WEIGHTS = 32;

/**
 * Output column x of every row: Σ weight · source column over `taps` for x, (sum + 2048) >> 12 clamped to a
 * byte. A column's taps must lie within MAX_COLUMN_TAPS consecutive source columns.
 */
export function convolveColumns(pixels: Uint8Array, width: number, height: number, taps: Taps, outWidth: number): Uint8Array {
  const startsAt = align16(pixels.length + SLACK);
  const weightsAt = align16(startsAt + outWidth * 4);
  const outAt = weightsAt + outWidth * WINDOW_WEIGHTS * 2;
  const { memory, reduceColumns } = withImage(pixels, outAt + outWidth * height + SLACK);
  const starts = new Int32Array(memory.buffer, startsAt, outWidth);
  const weights = new Int16Array(memory.buffer, weightsAt, outWidth * WINDOW_WEIGHTS);
  weights.fill(0);
  let span = 0;
  for (let x = 0; x < outWidth; x += 1) {
    let first = Infinity;
    for (let i = 0; i < taps.points; i += 1) first = Math.min(first, taps.index[x * taps.points + i]!);
    starts[x] = first;
    // Taps that read the same column (edge copies) add their weights: the sum of products is the same.
    for (let i = 0; i < taps.points; i += 1) {
      const offset = taps.index[x * taps.points + i]! - first;
      if (offset >= MAX_COLUMN_TAPS) throw new RangeError(`convolveColumns: taps span more than ${MAX_COLUMN_TAPS} columns`);
      span = Math.max(span, offset + 1);
      weights[x * WINDOW_WEIGHTS + offset] = weights[x * WINDOW_WEIGHTS + offset]! + taps.weight[x * taps.points + i]!;
    }
  }
  reduceColumns(0, width, height, startsAt, weightsAt, outWidth, span > 16 ? 1 : 0, outAt);
  return new Uint8Array(memory.buffer, outAt, outWidth * height).slice();
}

/**
 * Bicubic enlarge: each source row convolved with the four-point `columns` taps, (sum + 2048) >> 12, then each
 * output row the four-point `rows` taps of those sums, (sum + 2048) >> 12 clamped to a byte. The four source
 * columns of any four consecutive output columns must lie within 16 pixels (true when enlarging).
 */
export function enlargeBicubic(pixels: Uint8Array, width: number, height: number, columns: Taps, rows: Taps): Uint8Array {
  const outWidth = columns.index.length / COLUMNS_PER_GROUP;
  const outHeight = rows.index.length / COLUMNS_PER_GROUP;
  const groupCount = Math.ceil(outWidth / COLUMNS_PER_GROUP);
  const rowBytes = groupCount * COLUMNS_PER_GROUP * 4;
  const groupsAt = align16(pixels.length + SLACK);
  const rowTapsAt = groupsAt + groupCount * GROUP_BYTES;
  const sumsAt = align16(rowTapsAt + outHeight * 32);
  const outAt = align16(sumsAt + height * rowBytes + SLACK);
  const { memory, enlargeRows, enlargeColumns } = withImage(pixels, outAt + outWidth * outHeight + SLACK);
  const bytes = new Uint8Array(memory.buffer);
  const words = new Int32Array(memory.buffer);
  const halves = new Int16Array(memory.buffer);
  bytes.fill(0, groupsAt, rowTapsAt);
  for (let group = 0; group < groupCount; group += 1) {
    const at = groupsAt + group * GROUP_BYTES;
    const window = columns.index[group * COLUMNS_PER_GROUP * 4]!;
    words[at / 4] = window;
    for (let lane = 0; lane < COLUMNS_PER_GROUP * 4; lane += 1) {
      const tap = group * COLUMNS_PER_GROUP * 4 + lane;
      if (tap >= columns.index.length) break;
      const offset = columns.index[tap]! - window;
      if (offset < 0 || offset > 15) throw new RangeError('enlargeBicubic: four output columns span more than 16 source pixels');
      bytes[at + 16 + lane] = offset;
      halves[(at + 32) / 2 + lane] = columns.weight[tap]!;
    }
  }
  for (let y = 0; y < outHeight; y += 1) {
    for (let k = 0; k < 4; k += 1) {
      words[(rowTapsAt + y * 32) / 4 + k] = rows.index[y * 4 + k]! * rowBytes;
      words[(rowTapsAt + y * 32 + 16) / 4 + k] = rows.weight[y * 4 + k]!;
    }
  }
  enlargeRows(0, width, height, groupsAt, groupCount, sumsAt);
  enlargeColumns(sumsAt, rowTapsAt, outWidth, outHeight, outAt);
  return new Uint8Array(memory.buffer, outAt, outWidth * outHeight).slice();
}
