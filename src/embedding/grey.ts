/**
 * sRGB → 8-bit grey exactly as libvips converts (`sharp().greyscale()`, colourspace sRGB → B_W). The
 * signature's thumbnail and detail image were defined by that conversion, and stored signatures must not
 * change, so every step repeats libvips's single-precision arithmetic: the 8-bit → linear table, the CIE
 * luminance sum, and the linear → 8-bit table read with linear interpolation, rounded to even. The tables are
 * built here; whole images are converted by a WebAssembly kernel (kernels/grey.wat) that does the same f32
 * operations natively. Doing it here saves the two sharp pipelines the signature needs one float colour
 * conversion each (test/embedding/grey.test.ts compares it with sharp on every 8-bit colour).
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

/** The tables the kernel reads: red, green and blue products (f32 × 256 each), then LINEAR_TO_SRGB. */
const KERNEL_TABLES: Uint8Array = (() => {
  const tables = new Uint8Array(3 * 256 * 4 + 257 * 4);
  const floats = new Float32Array(tables.buffer, 0, 3 * 256);
  floats.set(RED, 0);
  floats.set(GREEN, 256);
  floats.set(BLUE, 512);
  new Int32Array(tables.buffer, 3 * 256 * 4, 257).set(LINEAR_TO_SRGB);
  return tables;
})();

/** `box` of packed RGB `rgb` (`width` pixels per row) as row-major 8-bit grey. */
export function greyCrop(rgb: Uint8Array, width: number, box: Box): Uint8Array {
  return greyOfBox(KERNEL_TABLES, rgb, width, box);
}
