/**
 * Decoded RGB → the model's 224×224×3 float32 input in [0, 1]. ImageNet mean/std normalisation is part of
 * the graph, so it is deliberately NOT applied here.
 *
 * `fit`: `fill` squeezes the whole frame into the square (nothing is lost; aspect ratio is not kept),
 * `cover` centre-crops to a square, `contain` pads to a square with the ImageNet mean colour (which the
 * in-graph normalisation maps to zero). `trimBorders` first removes uniform borders (letterboxing,
 * screenshot margins) so that a bordered repost still matches its original.
 */
import sharp, { type Sharp } from 'sharp';
import { DEFAULT_BORDER_THRESHOLD, findContentBox, type Box } from './borders.ts';
import type { DecodedImage } from './decode.ts';
import { resizeByShrinks } from './grey-resample.ts';
import { bandsOf, packedFloats } from './kernels/preprocess.ts';
import { INPUT_SIZE } from './types.ts';

export type Fit = 'fill' | 'cover' | 'contain';

export interface PreprocessOptions {
  fit: Fit;
  trimBorders: boolean;
}

export const DEFAULT_PREPROCESS: PreprocessOptions = { fit: 'fill', trimBorders: true };

/** How different from the corner colour a pixel must be to count as content (0–255 scale). */
export const TRIM_THRESHOLD = DEFAULT_BORDER_THRESHOLD;

const IMAGENET_MEAN_COLOUR = { r: 124, g: 116, b: 104 };
const BYTE_TO_UNIT = 1 / 255;
/** Each byte's float, as the conversion loop below stores it (the double product rounded to float). */
const UNIT_OF_BYTE = Float32Array.from({ length: 256 }, (_, value) => value * BYTE_TO_UNIT);

/** Short tag for variant strings, e.g. `fill-trim`, `cover`. */
export function preprocessTag(options: PreprocessOptions): string {
  return options.trimBorders ? `${options.fit}-trim` : options.fit;
}

/** Returns INPUT_SIZE×INPUT_SIZE×3 float32 values in [0, 1], row-major RGB. */
export async function preprocess(image: DecodedImage, options: PreprocessOptions = DEFAULT_PREPROCESS): Promise<Float32Array> {
  const box = options.trimBorders ? findContentBox(image.rgb, image.width, image.height, TRIM_THRESHOLD) : wholeImage(image);
  if (options.fit === 'fill') return fillInput(image, box);
  const pixels = await resizeToInput(image, box, options.fit);
  const out = new Float32Array(pixels.length);
  for (let index = 0; index < pixels.length; index += 1) out[index] = pixels[index]! * BYTE_TO_UNIT;
  return out;
}

function wholeImage(image: DecodedImage): Box {
  return { left: 0, top: 0, width: image.width, height: image.height };
}

/**
 * `fill`: `box` squeezed to the input size, byte for byte what sharp's `extract(box).resize(INPUT_SIZE,
 * INPUT_SIZE, { fit: 'fill', kernel: 'lanczos3' })` gives (libvips resizes the bands alike, so each is
 * resized as a grey image), without a sharp pipeline's set-up cost. test/embedding/preprocess.test.ts
 * compares the two.
 */
function fillInput(image: DecodedImage, box: Box): Float32Array {
  // sharp's ResolveShrink for fill: each axis its own factor, capped at the side.
  const hshrink = Math.min(box.width / INPUT_SIZE, box.width);
  const vshrink = Math.min(box.height / INPUT_SIZE, box.height);
  const resize = (band: Uint8Array): Uint8Array => {
    const { pixels, width, height } = resizeByShrinks({ pixels: band, width: box.width, height: box.height }, hshrink, vshrink);
    if (width !== INPUT_SIZE || height !== INPUT_SIZE) throw new Error(`preprocess produced ${width}×${height}, expected ${INPUT_SIZE}×${INPUT_SIZE}`);
    return pixels;
  };
  const [red, green, blue] = bandsOf(image.rgb, image.width, box);
  return packedFloats([resize(red), resize(green), resize(blue)], UNIT_OF_BYTE);
}

async function resizeToInput(image: DecodedImage, box: Box, fit: Fit): Promise<Uint8Array> {
  let pipeline = sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } });
  if (box.width !== image.width || box.height !== image.height) pipeline = pipeline.extract(box);
  return toPixels(
    pipeline.resize(INPUT_SIZE, INPUT_SIZE, { fit, position: 'centre', background: IMAGENET_MEAN_COLOUR, kernel: 'lanczos3' }),
  );
}

async function toPixels(pipeline: Sharp): Promise<Uint8Array> {
  const { data, info } = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.width !== INPUT_SIZE || info.height !== INPUT_SIZE || info.channels !== 3) {
    throw new Error(`preprocess produced ${info.width}×${info.height}×${info.channels}, expected ${INPUT_SIZE}×${INPUT_SIZE}×3`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}
