/**
 * Duplicate-verification signature, stored with each record so the duplicate detector can compare two
 * images without downloading them again. Uniform borders (letterbox, screenshot frames) are trimmed first and
 * the aspect ratio is kept, so a rotation stays a rotation. Every part is of that trimmed picture.
 *
 * Format 3 (current, SIGNATURE_VERSION):
 * - byte 0 = 3, byte 1 = thumbnail width, byte 2 = height, then the 64-px grey thumbnail (≤ 4096 bytes);
 * - uint16 LE detail width, uint16 LE detail height, uint32 LE length, then the detail image: the picture in
 *   grey, longest side ≤ 512 px, as a JPEG of at most DETAIL_MAX_BYTES (text stays legible at this size);
 * - uint16 LE keypoint count, then per keypoint uint16 LE x, uint16 LE y (detail-image pixels) and its
 *   32-byte descriptor (see keypoints.ts).
 * Typically 25–45 KB, never more than ~62 KB.
 *
 * Format 2 (older records): byte 0 = 2, width, height, then the thumbnail only. The detector still reads it
 * and judges such pairs on the thumbnail alone until the record is signed again.
 */
import sharp from 'sharp';
import { ImageError } from '../errors.ts';
import { findContentBox } from './borders.ts';
import { greyCrop } from './grey.ts';
import { resizeInside, type GreyImage } from './grey-resample.ts';
import { computeKeypoints, DESCRIPTOR_WORDS, type Keypoints } from './keypoints.ts';

export const SIGNATURE_VERSION = 'gray64-detail512-orb-v4';
/**
 * The tag the embedder's vector variant carries. Frozen: the vectors did not change when the signature did,
 * and a new variant would make every existing index unreadable.
 */
export const VECTOR_SIGNATURE_TAG = 'gray64-trim-v3';
const SIGNATURE_FORMAT = 3;
const THUMBNAIL_FORMAT = 2;
const HEADER_BYTES = 3;
/** Longest side of the detail image. */
export const DETAIL_SIZE = 512;
/** Byte cap on the detail JPEG: quality steps down until it fits, so a record stays ≤ 64 KB. */
export const DETAIL_MAX_BYTES = 44_000;
const DETAIL_QUALITIES = [80, 70, 60, 50, 40] as const;
const KEYPOINT_BYTES = 4 + DESCRIPTOR_WORDS * 4;
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
 * The picture inside its uniform borders, in grey. The border scan is findContentBox (well under a
 * millisecond, where sharp's `trim` median-filters the whole image first and costs 25–50 ms); the grey
 * conversion and the resizes are libvips's, repeated in-process (grey.ts, grey-resample.ts and their
 * WebAssembly kernels) because a sharp call costs more in set-up than these small images cost to compute.
 */
function trimmedGray(rgb: Uint8Array, width: number, height: number): GreyImage {
  const box = findContentBox(rgb, width, height, BORDER_TRIM_THRESHOLD);
  return { pixels: greyCrop(rgb, width, box), width: box.width, height: box.height };
}

function thumbnailSection({ pixels, width, height }: GreyImage): Uint8Array {
  const section = new Uint8Array(HEADER_BYTES + width * height);
  section[0] = SIGNATURE_FORMAT;
  section[1] = width;
  section[2] = height;
  section.set(pixels, HEADER_BYTES);
  return section;
}

function firstChannel(pixels: Buffer, width: number, height: number, channels: number): Uint8Array {
  if (channels === 1) return new Uint8Array(pixels.buffer, pixels.byteOffset, width * height);
  return Uint8Array.from({ length: width * height }, (_, index) => pixels[index * channels] ?? 0);
}

interface DetailImage {
  gray: Uint8Array;
  width: number;
  height: number;
  jpeg: Buffer;
}

/** The detail JPEG at the highest quality that fits DETAIL_MAX_BYTES; a picture too noisy for that is halved. */
async function detailImage(gray: Uint8Array, width: number, height: number): Promise<DetailImage> {
  for (const quality of DETAIL_QUALITIES) {
    const jpeg = await sharp(gray, { raw: { width, height, channels: 1 } }).jpeg({ quality }).toBuffer();
    if (jpeg.length <= DETAIL_MAX_BYTES) return { gray, width, height, jpeg };
  }
  const { data, info } = await sharp(gray, { raw: { width, height, channels: 1 } })
    .resize(Math.max(1, Math.round(width / 2)), Math.max(1, Math.round(height / 2)))
    .raw()
    .toBuffer({ resolveWithObject: true });
  return detailImage(firstChannel(data, info.width, info.height, info.channels), info.width, info.height);
}

/** `rgb` is packed 8-bit RGB, `width`×`height`, already oriented and flattened. */
export async function computeSignature(rgb: Uint8Array, width: number, height: number): Promise<Uint8Array> {
  const trimmed = trimmedGray(rgb, width, height);
  const resized = resizeInside(trimmed, DETAIL_SIZE);
  const { gray, width: detailWidth, height: detailHeight, jpeg } = await detailImage(resized.pixels, resized.width, resized.height);
  const keypoints = computeKeypoints(gray, detailWidth, detailHeight);
  const head = thumbnailSection(resizeInside(trimmed, SIGNATURE_SIZE));
  const signature = new Uint8Array(head.length + 8 + jpeg.length + 2 + keypoints.count * KEYPOINT_BYTES);
  signature.set(head, 0);
  const view = new DataView(signature.buffer);
  let offset = head.length;
  view.setUint16(offset, detailWidth, true);
  view.setUint16(offset + 2, detailHeight, true);
  view.setUint32(offset + 4, jpeg.length, true);
  signature.set(jpeg, offset + 8);
  offset += 8 + jpeg.length;
  view.setUint16(offset, keypoints.count, true);
  offset += 2;
  for (let k = 0; k < keypoints.count; k += 1) {
    view.setUint16(offset, Math.round(keypoints.x[k] ?? 0), true);
    view.setUint16(offset + 2, Math.round(keypoints.y[k] ?? 0), true);
    for (let word = 0; word < DESCRIPTOR_WORDS; word += 1) view.setUint32(offset + 4 + word * 4, keypoints.descriptors[k * DESCRIPTOR_WORDS + word] ?? 0, true);
    offset += KEYPOINT_BYTES;
  }
  return signature;
}

/** The detail part of a current signature. */
export interface SignatureDetail {
  /** Detail image size in pixels (the JPEG's). */
  width: number;
  height: number;
  jpeg: Uint8Array;
  keypoints: Keypoints;
}

function thumbnailLength(signature: Uint8Array): number {
  return HEADER_BYTES + (signature[1] ?? 0) * (signature[2] ?? 0);
}

/** Reads the thumbnail of a signature (format 2 or 3); throws an ImageError for any other bytes. */
export function decodeSignature(signature: Uint8Array): SignatureImage {
  const width = signature[1] ?? 0;
  const height = signature[2] ?? 0;
  const valid = width > 0 && height > 0 && (isCurrentSignature(signature) || (signature[0] === THUMBNAIL_FORMAT && signature.length === thumbnailLength(signature)));
  if (!valid) {
    throw new ImageError('INVALID_INPUT', `Not a duplicate signature (${signature.length} bytes)`, { format: signature[0], length: signature.length });
  }
  return { width, height, pixels: signature.subarray(HEADER_BYTES, thumbnailLength(signature)) };
}

/** Reads the detail image and keypoints of a current signature; throws an ImageError for any other bytes. */
export function decodeSignatureDetail(signature: Uint8Array): SignatureDetail {
  const detail = readDetail(signature);
  if (detail === undefined) {
    throw new ImageError('INVALID_INPUT', `Not a ${SIGNATURE_VERSION} signature (${signature.length} bytes)`, { format: signature[0], length: signature.length });
  }
  return detail;
}

function readDetail(signature: Uint8Array): SignatureDetail | undefined {
  if (signature[0] !== SIGNATURE_FORMAT || (signature[1] ?? 0) === 0 || (signature[2] ?? 0) === 0) return undefined;
  const view = new DataView(signature.buffer, signature.byteOffset, signature.byteLength);
  let offset = thumbnailLength(signature);
  if (offset + 8 > signature.length) return undefined;
  const width = view.getUint16(offset, true);
  const height = view.getUint16(offset + 2, true);
  const jpegLength = view.getUint32(offset + 4, true);
  offset += 8;
  if (width === 0 || height === 0 || offset + jpegLength + 2 > signature.length) return undefined;
  const jpeg = signature.subarray(offset, offset + jpegLength);
  offset += jpegLength;
  const count = view.getUint16(offset, true);
  offset += 2;
  if (offset + count * KEYPOINT_BYTES !== signature.length) return undefined;
  const x = new Float32Array(count);
  const y = new Float32Array(count);
  const descriptors = new Uint32Array(count * DESCRIPTOR_WORDS);
  for (let k = 0; k < count; k += 1) {
    x[k] = view.getUint16(offset, true);
    y[k] = view.getUint16(offset + 2, true);
    for (let word = 0; word < DESCRIPTOR_WORDS; word += 1) descriptors[k * DESCRIPTOR_WORDS + word] = view.getUint32(offset + 4 + word * 4, true);
    offset += KEYPOINT_BYTES;
  }
  return { width, height, jpeg, keypoints: { count, x, y, descriptors } };
}

/** Whether the bytes are a signature of the current format (detail image and keypoints included). */
export function isCurrentSignature(signature: Uint8Array): boolean {
  return readDetail(signature) !== undefined;
}

/** Whether the bytes hold a thumbnail the 64-px comparison can read (current or older format). */
export function hasThumbnail(signature: Uint8Array): boolean {
  const width = signature[1] ?? 0;
  const height = signature[2] ?? 0;
  if (width === 0 || height === 0) return false;
  return signature[0] === THUMBNAIL_FORMAT ? signature.length === thumbnailLength(signature) : isCurrentSignature(signature);
}
