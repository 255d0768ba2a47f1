/**
 * sharp's Lanczos-3 resize (`fit: 'inside'` here, any shrink factors through resizeByShrinks) for one-channel
 * 8-bit images, byte-identical to libvips 8.18 (the version sharp 0.35 bundles). The duplicate signature
 * was defined with sharp's resize and is stored with every record, so its pixels must not change; a sharp
 * call costs 1–2 ms of CPU in set-up alone, more than the arithmetic of these small images. Positions, phases and edge copies
 * are worked out here; the Lanczos reductions, the vertical box mean and both enlarge passes multiply and add
 * in a WebAssembly kernel (kernels/resample.wat).
 *
 * What libvips does, step by step, and what is repeated here:
 * - sharp: shrink factors per axis (for fit inside one for both, max(width / size, height / size));
 *   vips_resize(1 / hshrink, vscale = 1 / vshrink). Multi-band images are resized band by band alike.
 * - reducing (vips_reducev, then vips_reduceh, each with gap 2): a box shrink by the integer part
 *   floor(in / out / 2) (vips_shrinkv/h, fixed-point average, edge copied), then a Lanczos-3 convolution
 *   with 12-bit fixed-point coefficients picked from 65 sub-pixel phases;
 * - enlarging (vips_affine with the bicubic interpolator): Catmull-Rom with 12-bit coefficients, 65 phases,
 *   rows rounded before the vertical pass, edges copied.
 * Positions are accumulated in doubles in the same order as libvips (per output strip for reducev), so the
 * phase chosen for every pixel, and therefore every byte, is the same. test/embedding/grey-resample.test.ts
 * compares with sharp.
 */

import { convolveColumns, convolveRows, enlargeBicubic, meanOfRows, type Taps } from './kernels/resample.ts';

export interface GreyImage {
  pixels: Uint8Array;
  width: number;
  height: number;
}

/** libvips VIPS_TRANSFORM_SCALE: sub-pixel phases per pixel (the tables have one more, for the rounding). */
const PHASES = 64;
/** libvips VIPS_INTERPOLATE_SHIFT: coefficients are fixed point with this many fraction bits. */
const SHIFT = 12;
const ONE = 1 << SHIFT;
/** vips_resize's default gap: the box pre-shrink leaves at least this much for the kernel. */
const GAP = 2;
/**
 * Rows per region when libvips's sink pulls the reduced image (vips__fatstrip_height): reducev restarts its
 * row position at each region's top, so the accumulation below restarts there too.
 */
const STRIP_HEIGHT = 16;

/** C rint(): round half to even. */
function rint(value: number): number {
  const rounded = Math.round(value);
  return rounded - value === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const scaled = x * Math.PI;
  return Math.sin(scaled) / scaled;
}

function lanczos3(x: number): number {
  return x >= -3 && x <= 3 ? sinc(x) * sinc(x / 3) : 0;
}

/** Tables by residual shrink: the same few factors recur for every picture of one size. */
const lanczosCache = new Map<number, Int32Array[]>();
const LANCZOS_CACHE_LIMIT = 64;

/** vips_reduce_make_mask for Lanczos 3, truncated to fixed point as libvips does (`(short) (c * 4096)`). */
function lanczosTables(points: number, shrink: number): Int32Array[] {
  const cached = lanczosCache.get(shrink);
  if (cached !== undefined) return cached;
  const tables = Array.from({ length: PHASES + 1 }, (_, phase) => {
    const x = phase / PHASES;
    const half = x + points / 2 - 1;
    const weights = new Float64Array(points);
    let sum = 0;
    for (let i = 0; i < points; i += 1) {
      const weight = lanczos3((i - half) / shrink);
      weights[i] = weight;
      sum += weight;
    }
    return Int32Array.from(weights, (weight) => Math.trunc((weight / sum) * ONE));
  });
  if (lanczosCache.size >= LANCZOS_CACHE_LIMIT) lanczosCache.clear();
  lanczosCache.set(shrink, tables);
  return tables;
}

/** Catmull-Rom coefficients of libvips's bicubic interpolator (calculate_coefficients_catmull), fixed point. */
const BICUBIC: Int32Array[] = Array.from({ length: PHASES + 1 }, (_, phase) => {
  const x = phase / PHASES;
  const cr1 = 1 - x;
  const cr2 = -0.5 * x;
  const cr3 = cr1 * cr2;
  const cone = cr1 * cr3;
  const cfou = x * cr3;
  const cr4 = cfou - cone;
  const ctwo = cr1 - cone + cr4;
  const cthr = x - cfou - cr4;
  return Int32Array.from([cone, ctwo, cthr, cfou], (weight) => Math.trunc(weight * ONE));
});

/** The table phase libvips picks for a position: round to nearest of 64ths (`((int) (p * 128) & 127) + 1 >> 1`). */
function phaseOf(position: number): number {
  return (((position * PHASES * 2) | 0) & (PHASES * 2 - 1)) + 1 >> 1;
}

/** libvips's fixed-point mean of `factor` values: (sum + amend) · multiplier >> 24 in uint32. */
function boxMeanConstants(factor: number): { amend: number; multiplier: number } {
  return { amend: factor >> 1, multiplier: Math.floor(2 ** 32 / (256 * factor)) };
}

/** (sum + amend) · multiplier >> 24 in uint32, libvips's fixed-point mean of `factor` values. */
function boxMean(factor: number): (sum: number) => number {
  const { amend, multiplier } = boxMeanConstants(factor);
  return (sum) => ((sum + amend) * multiplier) >>> 24;
}

/** vips_shrinkv with ceil: means of `factor` rows, the last row repeated to fill the final group. */
function shrinkRows(image: GreyImage, factor: number): GreyImage {
  const { pixels, width, height } = image;
  const { amend, multiplier } = boxMeanConstants(factor);
  return { pixels: meanOfRows(pixels, width, height, factor, amend, multiplier), width, height: Math.ceil(height / factor) };
}

/** vips_shrinkh with ceil: means of `factor` columns, the last column repeated to fill the final group. */
function shrinkColumns(image: GreyImage, factor: number): GreyImage {
  const { pixels, width, height } = image;
  const outWidth = Math.ceil(width / factor);
  const out = new Uint8Array(outWidth * height);
  const mean = boxMean(factor);
  for (let y = 0; y < height; y += 1) {
    const row = y * width;
    for (let x = 0; x < outWidth; x += 1) {
      let sum = 0;
      for (let k = 0; k < factor; k += 1) sum += pixels[row + Math.min(width - 1, x * factor + k)]!;
      out[y * outWidth + x] = mean(sum);
    }
  }
  return { pixels: out, width: outWidth, height };
}

interface ReducePlan {
  /** Box pre-shrink factor (1 = none). */
  boxFactor: number;
  /** Output length along the axis. */
  length: number;
  /** Residual shrink after the box step; 1 = no convolution. */
  residual: number;
  points: number;
  offset: number;
  tables: Int32Array[];
}

/** vips_reducev_build / vips_reduceh_build for one axis of `inLength` pixels shrunk by `shrink`. */
function planReduce(inLength: number, shrink: number): ReducePlan {
  const length = Math.floor(inLength / shrink + 0.5);
  let extra = length * shrink - inLength;
  let residual = shrink;
  const boxFactor = Math.max(1, Math.floor(inLength / length / GAP));
  if (boxFactor > 1) {
    extra /= boxFactor;
    residual /= boxFactor;
  }
  if (residual === 1) return { boxFactor, length, residual, points: 1, offset: 0, tables: [] };
  const points = 2 * rint(3 * residual) + 1;
  return { boxFactor, length, residual, points, offset: (1 + extra) / 2 - 1, tables: lanczosTables(points, residual) };
}

/**
 * Per output index, the `plan.points` input indices it reads (the edge copied past either end of the
 * `inLength` inputs) and their weights from the phase's table; positions accumulate like libvips's.
 */
function reduceTaps(plan: ReducePlan, inLength: number, start: (index: number) => number): Taps {
  const { points } = plan;
  const index = new Int32Array(plan.length * points);
  const weight = new Int32Array(plan.length * points);
  const pad = Math.ceil(points / 2) - 1;
  let position = 0;
  for (let out = 0; out < plan.length; out += 1) {
    const restart = start(out);
    if (restart === out) position = (restart + 0.5) * plan.residual - 0.5 - plan.offset;
    const first = (position | 0) - pad;
    const weights = plan.tables[phaseOf(position)]!;
    for (let i = 0; i < points; i += 1) {
      index[out * points + i] = Math.min(inLength - 1, Math.max(0, first + i));
      weight[out * points + i] = weights[i]!;
    }
    position += plan.residual;
  }
  return { points, index, weight };
}

function reduceRows(image: GreyImage, shrink: number): GreyImage {
  const plan = planReduce(image.height, shrink);
  const source = plan.boxFactor > 1 ? shrinkRows(image, plan.boxFactor) : image;
  if (plan.residual === 1) return source;
  const { pixels, width, height } = source;
  const taps = reduceTaps(plan, height, (y) => y - (y % STRIP_HEIGHT));
  return { pixels: convolveRows(pixels, width, taps, plan.length), width, height: plan.length };
}

function reduceColumns(image: GreyImage, shrink: number): GreyImage {
  const plan = planReduce(image.width, shrink);
  const source = plan.boxFactor > 1 ? shrinkColumns(image, plan.boxFactor) : image;
  if (plan.residual === 1) return source;
  const { pixels, width, height } = source;
  // reduceh's regions are whole rows, so the position runs from the left edge across each row.
  const taps = reduceTaps(plan, width, (x) => (x === 0 ? 0 : -1));
  return { pixels: convolveColumns(pixels, width, height, taps, plan.length), width: plan.length, height };
}

/**
 * vips_affine(scaleX, 0, 0, scaleY) with the bicubic interpolator, idx = idy = 0.5 and copied edges, as
 * vips_resize enlarges. Output positions map to input as libvips computes them: x·ia + 1.5 accumulated
 * along the row, y·id + 0.5 + 1 per row, in an input padded by two copied pixels.
 */
function enlarge(image: GreyImage, scaleX: number, scaleY: number): GreyImage {
  const { pixels, width, height } = image;
  const det = scaleX * scaleY;
  const inverse = 1 / det;
  const ia = inverse * scaleY;
  const id = inverse * scaleX;
  const outWidth = Math.floor(scaleX * width + 0.5);
  const outHeight = Math.floor(scaleY * height + 0.5);
  const pad = 2;
  // A pixel whose position falls outside the padded input stays 0, as libvips leaves it: zero weights there.
  const columns = { points: 4, index: new Int32Array(outWidth * 4), weight: new Int32Array(outWidth * 4) };
  let position = 0.5 + 1;
  for (let x = 0; x < outWidth; x += 1) {
    const whole = Math.floor(position);
    const inside = whole >= 1 && whole <= 1 + width;
    const start = (position | 0) - 1 - pad;
    const weights = BICUBIC[phaseOf(position)]!;
    for (let k = 0; k < 4; k += 1) {
      columns.index[x * 4 + k] = Math.min(width - 1, Math.max(0, start + k));
      columns.weight[x * 4 + k] = inside ? weights[k]! : 0;
    }
    position += ia;
  }
  const rows = { points: 4, index: new Int32Array(outHeight * 4), weight: new Int32Array(outHeight * 4) };
  for (let y = 0; y < outHeight; y += 1) {
    const positionY = id * y + 0.5 + 1;
    const whole = Math.floor(positionY);
    if (whole < 1 || whole > 1 + height) continue;
    const weights = BICUBIC[phaseOf(positionY)]!;
    const first = (positionY | 0) - 1 - pad;
    for (let k = 0; k < 4; k += 1) {
      rows.index[y * 4 + k] = Math.min(height - 1, Math.max(0, first + k));
      rows.weight[y * 4 + k] = weights[k]!;
    }
  }
  return { pixels: enlargeBicubic(pixels, width, height, columns, rows), width: outWidth, height: outHeight };
}

/** sharp's `resize(size, size, { fit: 'inside', kernel: 'lanczos3' })` of a grey image, byte for byte. */
export function resizeInside(image: GreyImage, size: number): GreyImage {
  const { width, height } = image;
  // sharp's ResolveShrink for fit inside: the larger of the two ratios for both axes, capped at the size.
  const ratio = Math.max(width / size, height / size);
  return resizeByShrinks(image, Math.min(ratio, width), Math.min(ratio, height));
}

/**
 * What sharp's resize does once ResolveShrink has chosen the shrink factors (input size / output size, per
 * axis): vips_resize(1 / hshrink, vscale = 1 / vshrink) with the Lanczos-3 kernel, byte for byte.
 */
export function resizeByShrinks(image: GreyImage, hshrink: number, vshrink: number): GreyImage {
  const { width, height } = image;
  if (hshrink === 1 && vshrink === 1) return image;
  // vips_resize: scales, kept from sending an axis below one pixel.
  const hscale = Math.max(1 / hshrink, 1 / width);
  const vscale = Math.max(1 / vshrink, 1 / height);
  let result = image;
  if (vscale < 1) result = reduceRows(result, 1 / vscale);
  if (hscale < 1) result = reduceColumns(result, 1 / hscale);
  if (hscale > 1 || vscale > 1) result = enlarge(result, hscale > 1 ? hscale : 1, vscale > 1 ? vscale : 1);
  return result;
}
