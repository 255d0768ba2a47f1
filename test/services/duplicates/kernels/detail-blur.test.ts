/**
 * The blur kernel gives the f32 values of the plain JavaScript blur, ((a + b) + c) / 3 in f64 stored to a
 * Float32Array, bit for bit: even and odd widths, one-pixel rows and columns, and random content.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '../../../../src/index/random.ts';
import { boxBlurTwice } from '../../../../src/services/duplicates/kernels/detail-blur.ts';

/** The oracle: 3×3 box, twice, the edge pixel standing in for its missing neighbour. */
function reference(pixels: Uint8Array, width: number, height: number): Float32Array {
  let current: ArrayLike<number> = pixels;
  let result = new Float32Array(0);
  for (let pass = 0; pass < 2; pass += 1) {
    const horizontal = new Float32Array(width * height);
    for (let y = 0; y < height; y += 1) {
      for (let x = 0; x < width; x += 1) {
        const at = y * width + x;
        const left = current[x > 0 ? at - 1 : at] as number;
        const right = current[x < width - 1 ? at + 1 : at] as number;
        horizontal[at] = width === 1 ? (current[at] as number) : (left + (current[at] as number) + right) / 3;
      }
    }
    result = new Float32Array(width * height);
    for (let y = 0; y < height; y += 1) {
      for (let x = 0; x < width; x += 1) {
        const up = Math.max(0, y - 1) * width + x;
        const down = Math.min(height - 1, y + 1) * width + x;
        result[y * width + x] = ((horizontal[up] as number) + (horizontal[y * width + x] as number) + (horizontal[down] as number)) / 3;
      }
    }
    current = result;
  }
  return result;
}

test('the blur kernel equals the scalar blur bit for bit', () => {
  const random = seededRandom(7);
  const sizes: Array<[number, number]> = [[1, 1], [1, 6], [6, 1], [2, 2], [3, 7], [7, 3], [64, 65], [511, 301], [512, 384]];
  for (const [width, height] of sizes) {
    for (const kind of ['random', 'edges'] as const) {
      const pixels = new Uint8Array(width * height);
      // Random noise, and hard black/white edges (the text case: the largest sums and every rounding).
      for (let index = 0; index < pixels.length; index += 1) pixels[index] = kind === 'random' ? Math.floor(random() * 256) : ((index * 7) % 13 < 6 ? 0 : 255);
      const expected = reference(pixels, width, height);
      const actual = boxBlurTwice(pixels, width, height);
      assert.equal(actual.length, expected.length);
      const differing = expected.findIndex((value, index) => !Object.is(value, actual[index]));
      assert.equal(differing, -1, `${width}×${height} ${kind}: first difference at ${differing}`);
    }
  }
});
