/**
 * dHash, the perceptual hash most repost bots use: the baseline the learned detector must beat.
 * 64 bits: for a 9×8 grayscale thumbnail, whether each pixel is brighter than its right neighbour.
 */
import sharp from 'sharp';

export const DHASH_BITS = 64;

/** 64-bit difference hash of an encoded image (EXIF orientation applied). */
export async function dHash(image: Uint8Array | string): Promise<bigint> {
  const { data } = await sharp(image)
    .rotate()
    .greyscale()
    .resize(9, 8, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  let hash = 0n;
  for (let y = 0; y < 8; y += 1) {
    for (let x = 0; x < 8; x += 1) {
      const left = data[y * 9 + x] ?? 0;
      const right = data[y * 9 + x + 1] ?? 0;
      hash = (hash << 1n) | (left > right ? 1n : 0n);
    }
  }
  return hash;
}

export function hammingDistance(a: bigint, b: bigint): number {
  let difference = a ^ b;
  let count = 0;
  while (difference !== 0n) {
    difference &= difference - 1n;
    count += 1;
  }
  return count;
}

/** 1 for identical hashes, 0 when every bit differs. */
export function dHashSimilarity(a: bigint, b: bigint): number {
  return 1 - hammingDistance(a, b) / DHASH_BITS;
}
