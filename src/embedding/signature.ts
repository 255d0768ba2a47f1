/**
 * Duplicate-verification signature: a small grayscale thumbnail of the decoded image, stored with each
 * record so the duplicate detector can compare two images' fine detail without re-downloading them.
 * Owned by the duplicate-detection work (issue 5); the format is versioned through SIGNATURE_VERSION.
 *
 * Format (v2): byte 0 = format number (2), byte 1 = width, byte 2 = height, then width×height 8-bit
 * gray pixels, row-major. Uniform borders (letterbox, screenshot frames) are trimmed first and the aspect
 * ratio is kept, so a rotation stays a rotation (a square "fill" thumbnail would turn it into a shear).
 * At most 3 + 64×64 = 4099 bytes.
 */
import sharp, { type Sharp } from 'sharp';
import { ImageError } from '../errors.ts';
import { findContentBox } from './borders.ts';

export const SIGNATURE_VERSION = 'gray64-trim-v3';
const SIGNATURE_FORMAT = 2;
const HEADER_BYTES = 3;
/** Longest side of the thumbnail, in pixels. */
export const SIGNATURE_SIZE = 64;
/**
 * Pixels differing from the corner colour by at most this much count as border (sharp's `trim` threshold).
 * 25 of 255 removes JPEG-noisy solid frames but stops at real image content.
 */
export const BORDER_TRIM_THRESHOLD = 25;

export interface SignatureImage {
  width: number;
  height: number;
  /** Row-major 8-bit gray pixels. */
  pixels: Uint8Array;
}

/**
 * Crops uniform borders with the same scan the embedding's preprocessing uses (findContentBox: well under
 * a millisecond, where sharp's `trim` median-filters the whole image first and costs 25–50 ms).
 */
function trimmedGray(rgb: Uint8Array, width: number, height: number): Sharp {
  const box = findContentBox(rgb, width, height, BORDER_TRIM_THRESHOLD);
  const image = sharp(rgb, { raw: { width, height, channels: 3 } });
  const trimmed = box.width === width && box.height === height ? image : image.extract(box);
  return trimmed.greyscale();
}

/** `rgb` is packed 8-bit RGB, `width`×`height`, already oriented and flattened. */
export async function computeSignature(rgb: Uint8Array, width: number, height: number): Promise<Uint8Array> {
  const { data, info } = await trimmedGray(rgb, width, height)
    .resize(SIGNATURE_SIZE, SIGNATURE_SIZE, { fit: 'inside', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const signature = new Uint8Array(HEADER_BYTES + info.width * info.height);
  signature[0] = SIGNATURE_FORMAT;
  signature[1] = info.width;
  signature[2] = info.height;
  // sharp may hand back more than one channel for a gray raw image on some inputs: keep the first.
  const channels = info.channels;
  for (let index = 0; index < info.width * info.height; index += 1) {
    signature[HEADER_BYTES + index] = data[index * channels] ?? 0;
  }
  return signature;
}

/** Reads a signature written by computeSignature; throws an ImageError for any other bytes. */
export function decodeSignature(signature: Uint8Array): SignatureImage {
  const width = signature[1] ?? 0;
  const height = signature[2] ?? 0;
  if (signature[0] !== SIGNATURE_FORMAT || width === 0 || height === 0 || signature.length !== HEADER_BYTES + width * height) {
    throw new ImageError('INVALID_INPUT', `Not a ${SIGNATURE_VERSION} signature (${signature.length} bytes)`, {
      format: signature[0],
      length: signature.length,
    });
  }
  return { width, height, pixels: signature.subarray(HEADER_BYTES) };
}

/** Whether the bytes are a signature this version can compare (older records may hold another format). */
export function isCurrentSignature(signature: Uint8Array): boolean {
  const width = signature[1] ?? 0;
  const height = signature[2] ?? 0;
  return signature[0] === SIGNATURE_FORMAT && width > 0 && height > 0 && signature.length === HEADER_BYTES + width * height;
}
