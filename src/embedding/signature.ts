/**
 * Duplicate-verification signature: a small grayscale thumbnail of the decoded image, stored with each
 * record so the duplicate detector can compare two images' fine detail without re-downloading them.
 * Owned by the duplicate-detection work (issue 5); the format is versioned through SIGNATURE_VERSION.
 */
import sharp from 'sharp';

export const SIGNATURE_VERSION = 'gray32-v1';
export const SIGNATURE_SIZE = 32;

/** `rgb` is packed 8-bit RGB, `width`×`height`, already oriented and flattened. */
export async function computeSignature(rgb: Uint8Array, width: number, height: number): Promise<Uint8Array> {
  const { data } = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .greyscale()
    .resize(SIGNATURE_SIZE, SIGNATURE_SIZE, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return new Uint8Array(data.buffer, data.byteOffset, SIGNATURE_SIZE * SIGNATURE_SIZE);
}
