/**
 * The inner loops of the thumbnail alignment, run by the WebAssembly kernel in thumbnail-align.wat. Its
 * arithmetic is the JavaScript's, step for step, so the scores are the same to the last bit. The images of
 * the last correlate call stay in the kernel's memory: the refinement scores one pair at many alignments.
 */
import type { GrayImage } from '../gray.ts';
import { WASM_BASE64 } from './thumbnail-align.wasm.ts';
import { align16, ensureBytes, instantiate } from '../../../webassembly.ts';

interface Kernel {
  memory: WebAssembly.Memory;
  shiftSums: (
    queries: number, width: number, height: number, warped: number, mask: number, gridWidth: number,
    shiftsX: number, shiftsY: number, flags: number, out: number,
  ) => void;
  correlate: (
    query: number, width: number, height: number, candidate: number, candidateWidth: number, candidateHeight: number,
    cos: number, sin: number, shiftX: number, shiftY: number, sums: number, row: number,
  ) => void;
}

let kernel: Kernel | undefined;
/** The pair the last correlate call loaded (a coarse search overwrites that memory). */
let correlateLoaded: { query: GrayImage; candidate: GrayImage; candidateAt: number; rowAt: number } | undefined;

const SUMS_AT = 0;
const IMAGES_AT = 64;

/** The grid buffers of one coarse search, as views on the kernel's memory (valid until the next kernel call). */
export interface ShiftGrid {
  /** The candidate warped into the query's frame, standardised; 0 outside it. */
  warped: Float32Array;
  /** 1 where the warped candidate exists. */
  mask: Float32Array;
  /** Per shift (row-major over dy, then dx), 1 to have its sums computed. */
  flags: Uint8Array;
  /** Per shift, after `sums()`: Σq·w, Σq·m, Σq²·m for the first query, then the same for the second, at 6·shift. */
  sums: () => Float64Array;
}

/**
 * Prepares the kernel for a coarse search of `queries` (two images of one size, the query and its mirror)
 * over a grid of `gridWidth`×`gridHeight` cells with `shiftsX`×`shiftsY` shifts. The caller fills the
 * grid's `warped`, `mask` and `flags`, then calls `sums()`.
 */
export function shiftGrid(queries: readonly [GrayImage, GrayImage], gridWidth: number, gridHeight: number, shiftsX: number, shiftsY: number): ShiftGrid {
  kernel ??= instantiate<Kernel>(WASM_BASE64);
  const [first, second] = queries;
  const { width, height } = first;
  const cells = gridWidth * gridHeight;
  const shifts = shiftsX * shiftsY;
  const queriesAt = IMAGES_AT;
  const warpedAt = align16(queriesAt + width * height * 16);
  const maskAt = align16(warpedAt + cells * 4);
  const flagsAt = align16(maskAt + cells * 4);
  const outAt = align16(flagsAt + shifts);
  ensureBytes(kernel.memory, outAt + shifts * 48);
  correlateLoaded = undefined;
  const interleaved = new Float64Array(kernel.memory.buffer, queriesAt, width * height * 2);
  for (let index = 0; index < width * height; index += 1) {
    interleaved[2 * index] = first.data[index] as number;
    interleaved[2 * index + 1] = second.data[index] as number;
  }
  const memory = kernel.memory;
  const run = kernel.shiftSums;
  const flags = new Uint8Array(memory.buffer, flagsAt, shifts);
  return {
    warped: new Float32Array(memory.buffer, warpedAt, cells),
    mask: new Float32Array(memory.buffer, maskAt, cells),
    flags,
    sums: () => {
      run(queriesAt, width, height, warpedAt, maskAt, gridWidth, shiftsX, shiftsY, flagsAt, outAt);
      return new Float64Array(memory.buffer, outAt, shifts * 6);
    },
  };
}

/** Sums over the query pixels that land inside the candidate. */
export interface CorrelationSums {
  n: number;
  sumQ: number;
  sumC: number;
  sumQQ: number;
  sumCC: number;
  sumQC: number;
}

/** Loads the pair (unless it is loaded already); returns where the candidate and the kernel's row buffer are. */
function loadPair(k: Kernel, query: GrayImage, candidate: GrayImage): { candidateAt: number; rowAt: number } {
  if (correlateLoaded?.query === query && correlateLoaded.candidate === candidate) return correlateLoaded;
  const candidateAt = align16(IMAGES_AT + query.data.length * 4);
  // Past the candidate: the zeros JavaScript reads where an index runs off the image.
  const padding = candidate.width + 2;
  const rowAt = align16(candidateAt + (candidate.data.length + padding) * 4);
  // The row buffer: a sample and a mask (f64 each) per query pixel, two spare.
  ensureBytes(k.memory, rowAt + (query.width + 2) * 16);
  new Float32Array(k.memory.buffer, IMAGES_AT, query.data.length).set(query.data);
  const target = new Float32Array(k.memory.buffer, candidateAt, candidate.data.length + padding);
  target.set(candidate.data);
  target.fill(0, candidate.data.length);
  correlateLoaded = { query, candidate, candidateAt, rowAt };
  return correlateLoaded;
}

/**
 * The correlation sums of `query` against `candidate` sampled bilinearly at
 * (cos·u − sin·v, sin·u + cos·v) about the centres, u and v being query pixels shifted by (shiftX, shiftY).
 * Images are compared by identity to skip reloading: a GrayImage's pixels are never modified.
 */
export function correlationSums(query: GrayImage, candidate: GrayImage, cos: number, sin: number, shiftX: number, shiftY: number): CorrelationSums {
  kernel ??= instantiate<Kernel>(WASM_BASE64);
  const { candidateAt, rowAt } = loadPair(kernel, query, candidate);
  kernel.correlate(IMAGES_AT, query.width, query.height, candidateAt, candidate.width, candidate.height, cos, sin, shiftX, shiftY, SUMS_AT, rowAt);
  const sums = new Float64Array(kernel.memory.buffer, SUMS_AT, 6);
  return { n: sums[0] as number, sumQ: sums[1] as number, sumC: sums[2] as number, sumQQ: sums[3] as number, sumCC: sums[4] as number, sumQC: sums[5] as number };
}
