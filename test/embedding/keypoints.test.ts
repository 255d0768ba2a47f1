import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { computeKeypoints, DESCRIPTOR_WORDS, MAX_KEYPOINTS } from '../../src/embedding/keypoints.ts';
import { seededRandom } from '../../src/index/random.ts';

/** Digests of the reference implementation's keypoints for the pictures below (count, sha256 prefix). */
const GOLDEN: Array<{ count: number; sha: string }> = [
  { count: 320, sha: 'c74aa529d494e92a' },
  { count: 320, sha: 'f13bbb85c1a2ba1d' },
  { count: 320, sha: '5dca58fa0c304e75' },
  { count: 1, sha: '5bf67955eac61513' },
  { count: 32, sha: '4938b91df11143e8' },
];

/** A grey picture with text-like strokes, blocks and noise: many FAST corners, some ties, some flat areas. */
function strokes(width: number, height: number, seed: number, blocks = 600): Uint8Array {
  const random = seededRandom(seed);
  const pixels = new Uint8Array(width * height).fill(230);
  for (let block = 0; block < blocks; block += 1) {
    const left = Math.floor(random() * width);
    const top = Math.floor(random() * height);
    const right = Math.min(width, left + 2 + Math.floor(random() * 14));
    const bottom = Math.min(height, top + 2 + Math.floor(random() * 8));
    const shade = Math.floor(random() * 80);
    for (let y = top; y < bottom; y += 1) pixels.fill(shade, y * width + left, y * width + right);
  }
  for (let index = 0; index < pixels.length; index += 1) pixels[index] = Math.max(0, Math.min(255, pixels[index]! + Math.floor(random() * 9) - 4));
  return pixels;
}

function digest(width: number, height: number, seed: number, blocks?: number): { count: number; sha: string } {
  const keypoints = computeKeypoints(strokes(width, height, seed, blocks), width, height);
  assert.equal(keypoints.descriptors.length, keypoints.count * DESCRIPTOR_WORDS);
  const hash = createHash('sha256');
  hash.update(new Uint8Array(keypoints.x.buffer)).update(new Uint8Array(keypoints.y.buffer)).update(new Uint8Array(keypoints.descriptors.buffer));
  return { count: keypoints.count, sha: hash.digest('hex').slice(0, 16) };
}

// Signatures are stored with every record and compared across versions, so the keypoints of a picture must
// not change with a refactoring. These digests were computed by the reference implementation; a faster
// implementation has to reproduce them bit for bit.
test('keypoints are bit-identical to the reference implementation', () => {
  assert.deepEqual(
    [digest(512, 341, 1), digest(385, 512, 2), digest(512, 155, 3), digest(64, 48, 4), digest(400, 300, 6, 30)],
    GOLDEN,
  );
});

test('keypoints stay within the cap and the margins', () => {
  const keypoints = computeKeypoints(strokes(512, 384, 5), 512, 384);
  assert.ok(keypoints.count > 0 && keypoints.count <= MAX_KEYPOINTS);
  for (let k = 0; k < keypoints.count; k += 1) {
    assert.ok(keypoints.x[k]! >= 20 && keypoints.x[k]! < 512 - 20);
    assert.ok(keypoints.y[k]! >= 20 && keypoints.y[k]! < 384 - 20);
  }
});

