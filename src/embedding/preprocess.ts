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
import { DEFAULT_BORDER_THRESHOLD, findContentBox } from './borders.ts';
import type { DecodedImage } from './decode.ts';

/** The model's native input side. */
export const INPUT_SIZE = 224;

export type Fit = 'fill' | 'cover' | 'contain';

export interface PreprocessOptions {
  fit: Fit;
  trimBorders: boolean;
}

export const DEFAULT_PREPROCESS: PreprocessOptions = { fit: 'fill', trimBorders: true };

/** How different from the corner colour a pixel must be to count as content (0–255 scale). */
export const TRIM_THRESHOLD = DEFAULT_BORDER_THRESHOLD;

const IMAGENET_MEAN_COLOUR = { r: 124, g: 116, b: 104 };

/** Short tag for variant strings, e.g. `fill-trim`, `cover`. */
export function preprocessTag(options: PreprocessOptions): string {
  return options.trimBorders ? `${options.fit}-trim` : options.fit;
}

/** Returns INPUT_SIZE×INPUT_SIZE×3 float32 values in [0, 1], row-major RGB. */
export async function preprocess(image: DecodedImage, options: PreprocessOptions = DEFAULT_PREPROCESS): Promise<Float32Array> {
  const pixels = await resizeToInput(image, options);
  const out = new Float32Array(pixels.length);
  const scale = 1 / 255;
  for (let index = 0; index < pixels.length; index += 1) out[index] = pixels[index]! * scale;
  return out;
}

async function resizeToInput(image: DecodedImage, options: PreprocessOptions): Promise<Uint8Array> {
  let pipeline = sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } });
  if (options.trimBorders) {
    const box = findContentBox(image.rgb, image.width, image.height, TRIM_THRESHOLD);
    if (box.width !== image.width || box.height !== image.height) pipeline = pipeline.extract(box);
  }
  return toPixels(
    pipeline.resize(INPUT_SIZE, INPUT_SIZE, { fit: options.fit, position: 'centre', background: IMAGENET_MEAN_COLOUR, kernel: 'lanczos3' }),
  );
}

async function toPixels(pipeline: Sharp): Promise<Uint8Array> {
  const { data, info } = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.width !== INPUT_SIZE || info.height !== INPUT_SIZE || info.channels !== 3) {
    throw new Error(`preprocess produced ${info.width}×${info.height}×${info.channels}, expected ${INPUT_SIZE}×${INPUT_SIZE}×3`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}
