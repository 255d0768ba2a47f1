/**
 * sRGB → 8-bit grey exactly as libvips converts (`sharp().greyscale()`, colourspace sRGB → B_W). The
 * signature's thumbnail and detail image were defined by that conversion, and stored signatures must not
 * change, so every step repeats libvips's single-precision arithmetic: the 8-bit → linear table, the CIE
 * luminance sum, and the linear → 8-bit table read with linear interpolation, rounded to even. The tables are
 * built here; whole images are converted by a WebAssembly kernel (kernels/grey.wat) that sums in native f32
 * and reads the level from a table of luminance buckets. Doing it here saves the two sharp pipelines the
 * signature needs one float colour conversion each (test/embedding/grey.test.ts compares it with sharp on
 * every 8-bit colour).
 */
import type { Box } from './borders.ts';
import { greyOfBox } from './kernels/grey.ts';

const f = Math.fround;

/** C's rintf for the non-negative values used here: round to nearest, ties to even. */
function roundHalfEven(value: number): number {
  const rounded = Math.round(value);
  return rounded - value === 0.5 && (rounded & 1) === 1 ? rounded - 1 : rounded;
}

/** libvips vips_v2Y_8: 8-bit sRGB → linear light, in float. */
const SRGB_TO_LINEAR: Float32Array = Float32Array.from({ length: 256 }, (_, index) => {
  const value = f(index / 255);
  return value <= 0.04045 ? f(value / f(12.92)) : f(Math.pow(f(f(value + f(0.055)) / f(1.055)), f(2.4)));
});

/** libvips vips_Y2v_8: linear light → 8-bit sRGB, with the last entry repeated for the interpolation. */
const LINEAR_TO_SRGB: Int32Array = (() => {
  const table = new Int32Array(257);
  for (let index = 0; index < 256; index += 1) {
    const value = f(index / 255);
    const encoded = value <= 0.0031308 ? f(f(12.92) * value) : f(f(f(1.055) * f(Math.pow(value, f(1 / 2.4)))) - f(0.055));
    table[index] = roundHalfEven(f(255 * encoded));
  }
  table[256] = table[255]!;
  return table;
})();

/** The luminance weights times the linear value of each 8-bit level (each product a float, as in C). */
const RED = Float32Array.from(SRGB_TO_LINEAR, (linear) => f(f(0.2126) * linear));
const GREEN = Float32Array.from(SRGB_TO_LINEAR, (linear) => f(f(0.7152) * linear));
const BLUE = Float32Array.from(SRGB_TO_LINEAR, (linear) => f(f(0.0722) * linear));

/** The linear luminance of a colour, as libvips sums it (float products, float sums, in this order). */
function luminanceOf(red: number, green: number, blue: number): number {
  return f(f(RED[red]! + GREEN[green]!) + BLUE[blue]!);
}

/** The grey level of a luminance: libvips's table read with linear interpolation, rounded to even. */
function greyOfLuminance(luminance: number): number {
  let scaled = f(luminance * 255);
  if (scaled < 0) scaled = 0;
  else if (scaled > 255) scaled = 255;
  const whole = scaled | 0;
  const low = LINEAR_TO_SRGB[whole]!;
  return roundHalfEven(f(low + f(f(LINEAR_TO_SRGB[whole + 1]! - low) * f(scaled - whole))));
}

/** The grey level of one sRGB colour, bit-identical to libvips. */
export function greyOf(red: number, green: number, blue: number): number {
  return greyOfLuminance(luminanceOf(red, green, blue));
}

/**
 * greyOfLuminance as a table: the grey level only grows with the luminance, and over a bucket of 1/8192 it
 * steps up at most once (the steepest part of the sRGB curve is 12.92 × 255 levels per unit), so a bucket's
 * level at its start plus one comparison with the luminance where it steps gives the exact level. There are
 * buckets up to the largest luminance (white's, 1 or a hair above); building the table checks the one-step
 * property for every bucket.
 */
const BUCKET_SCALE = 8192;
const BUCKETS = Math.floor(luminanceOf(255, 255, 255) * BUCKET_SCALE) + 1;

/** The kernel's tables: red, green and blue products (f32 × 256 each), then per bucket the step (f32), then the base level (u8). */
const KERNEL_TABLES: Uint8Array = (() => {
  const tables = new Uint8Array(3 * 256 * 4 + BUCKETS * 5);
  const floats = new Float32Array(tables.buffer, 0, 3 * 256);
  floats.set(RED, 0);
  floats.set(GREEN, 256);
  floats.set(BLUE, 512);
  const steps = new Float32Array(tables.buffer, 3 * 256 * 4, BUCKETS);
  const bases = new Uint8Array(tables.buffer, 3 * 256 * 4 + BUCKETS * 4, BUCKETS);
  const bits = new Uint32Array(1);
  const asFloat = new Float32Array(bits.buffer);
  const floatAt = (pattern: number): number => {
    bits[0] = pattern;
    return asFloat[0]!;
  };
  const patternOf = (value: number): number => {
    asFloat[0] = value;
    return bits[0]!;
  };
  for (let bucket = 0; bucket < BUCKETS; bucket += 1) {
    // The float luminances in [bucket, bucket + 1) / BUCKET_SCALE, as a range of bit patterns (positive floats sort by bits).
    let first = patternOf(f(bucket / BUCKET_SCALE));
    if (floatAt(first) * BUCKET_SCALE < bucket) first += 1;
    let last = patternOf(f((bucket + 1) / BUCKET_SCALE));
    while (floatAt(last) * BUCKET_SCALE >= bucket + 1) last -= 1;
    const base = greyOfLuminance(floatAt(first));
    const top = greyOfLuminance(floatAt(last));
    bases[bucket] = base;
    if (top === base) {
      steps[bucket] = Infinity;
      continue;
    }
    if (top > base + 1) throw new Error(`grey level steps twice within luminance bucket ${bucket}`);
    // Binary search for the first pattern whose level is base + 1.
    let low = first;
    let high = last;
    while (low < high) {
      const middle = low + Math.floor((high - low) / 2);
      if (greyOfLuminance(floatAt(middle)) > base) high = middle;
      else low = middle + 1;
    }
    steps[bucket] = floatAt(low);
  }
  return tables;
})();

/** `box` of packed RGB `rgb` (`width` pixels per row) as row-major 8-bit grey. */
export function greyCrop(rgb: Uint8Array, width: number, box: Box): Uint8Array {
  return greyOfBox(KERNEL_TABLES, BUCKETS, rgb, width, box);
}
