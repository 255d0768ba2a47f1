/**
 * The keypoint kernel: its corner scores, blur and descriptors equal plain scalar code of the same
 * definitions, on widths that are and are not multiples of its 16-pixel step, flat pictures, noise and strokes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boxBlur5, cornerScores, describeKeypoints } from '../../../src/embedding/kernels/keypoints.ts';
import { seededRandom } from '../../../src/index/random.ts';

const CIRCLE: ReadonlyArray<readonly [number, number]> = [
  [0, -3], [1, -3], [2, -2], [3, -1], [3, 0], [3, 1], [2, 2], [1, 3],
  [0, 3], [-1, 3], [-2, 2], [-3, 1], [-3, 0], [-3, -1], [-2, -2], [-1, -3],
];
const THRESHOLD = 20;

function hasRunOf9(mask: number): boolean {
  for (let start = 0; start < 16; start += 1) {
    let run = true;
    for (let k = 0; k < 9; k += 1) run &&= ((mask >> ((start + k) % 16)) & 1) === 1;
    if (run) return true;
  }
  return false;
}

function referenceCorners(pixels: Uint8Array, width: number, height: number, margin: number): { index: number[]; score: number[] } {
  const scores = new Int32Array(width * height);
  for (let y = margin; y < height - margin; y += 1) {
    for (let x = margin; x < width - margin; x += 1) {
      const centre = pixels[y * width + x]!;
      const values = CIRCLE.map(([dx, dy]) => pixels[(y + dy) * width + x + dx]!);
      const brighter = values.map((value) => value > centre + THRESHOLD);
      const darker = values.map((value) => value < centre - THRESHOLD);
      const compass = (flags: boolean[]): number => [0, 4, 8, 12].filter((k) => flags[k]).length;
      const mask = (flags: boolean[]): number => flags.reduce((bits, flag, k) => bits | (flag ? 1 << k : 0), 0);
      if (compass(brighter) < 3 && compass(darker) < 3) continue;
      if (!hasRunOf9(mask(brighter)) && !hasRunOf9(mask(darker))) continue;
      scores[y * width + x] = values.reduce((sum, value) => sum + Math.max(0, Math.abs(value - centre) - THRESHOLD), 0);
    }
  }
  const index: number[] = [];
  const score: number[] = [];
  for (let at = 0; at < scores.length; at += 1) {
    const value = scores[at]!;
    if (value === 0) continue;
    const earlier = [at - width - 1, at - width, at - width + 1, at - 1];
    const later = [at + 1, at + width - 1, at + width, at + width + 1];
    if (earlier.some((other) => scores[other]! >= value) || later.some((other) => scores[other]! > value)) continue;
    index.push(at);
    score.push(value);
  }
  return { index, score };
}

function referenceBlur(pixels: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const clamp = (value: number, last: number): number => Math.min(last, Math.max(0, value));
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      let sum = 0;
      for (let dy = -2; dy <= 2; dy += 1) for (let dx = -2; dx <= 2; dx += 1) sum += pixels[clamp(y + dy, height - 1) * width + clamp(x + dx, width - 1)]!;
      out[y * width + x] = Math.round(sum / 25);
    }
  }
  return out;
}

/** Blocks of random shade over noise (`noise` levels), or plain noise when `blocks` is 0. */
function picture(width: number, height: number, seed: number, blocks: number, noise: number): Uint8Array {
  const random = seededRandom(seed);
  const pixels = new Uint8Array(width * height).fill(blocks > 0 ? 230 : 128);
  for (let block = 0; block < blocks; block += 1) {
    const left = Math.floor(random() * width);
    const top = Math.floor(random() * height);
    const shade = Math.floor(random() * 256);
    for (let y = top; y < Math.min(height, top + 2 + Math.floor(random() * 8)); y += 1) {
      pixels.fill(shade, y * width + left, y * width + Math.min(width, left + 2 + Math.floor(random() * 14)));
    }
  }
  for (let index = 0; index < pixels.length; index += 1) pixels[index] = Math.max(0, Math.min(255, pixels[index]! + Math.floor(random() * (2 * noise + 1)) - noise));
  return pixels;
}

const PICTURES = [
  { width: 43, height: 43, blocks: 20, noise: 4 },
  { width: 64, height: 48, blocks: 0, noise: 127 },
  { width: 75, height: 90, blocks: 0, noise: 0 },
  { width: 117, height: 61, blocks: 150, noise: 3 },
  { width: 128, height: 100, blocks: 300, noise: 30 },
  { width: 200, height: 133, blocks: 600, noise: 0 },
];

test('corner scores equal a scalar scan, suppression ties included', () => {
  PICTURES.forEach(({ width, height, blocks, noise }, seed) => {
    const pixels = picture(width, height, seed + 1, blocks, noise);
    const { index, score } = cornerScores(pixels, width, height, 21);
    assert.deepEqual({ index: [...index], score: [...score] }, referenceCorners(pixels, width, height, 21), `${width}×${height}`);
  });
});

test('the blur equals the rounded 5×5 mean with edges repeated', () => {
  PICTURES.forEach(({ width, height, blocks, noise }, seed) => {
    const pixels = picture(width, height, seed + 1, blocks, noise);
    assert.deepEqual(boxBlur5(pixels, width, height), referenceBlur(pixels, width, height), `${width}×${height}`);
  });
  assert.deepEqual(boxBlur5(new Uint8Array(4 * 3).fill(255), 4, 3), new Uint8Array(12).fill(255));
});

test("the blur's fixed-point division rounds every possible 5×5 sum as Math.round(sum / 25) does", () => {
  for (let sum = 0; sum <= 25 * 255; sum += 1) assert.equal(((sum + 12) * 5243) >>> 17, Math.round(sum / 25));
});

const RADIUS = 13;
const SPANS = Int32Array.from({ length: 2 * RADIUS + 1 }, (_, row) => Math.floor(Math.sqrt(RADIUS * RADIUS - (row - RADIUS) ** 2)));

/** The descriptor as first defined: orientation by intensity centroid, Math.round sample positions. */
function referenceDescriptor(smooth: Uint8Array, width: number, x: number, y: number, pairs: Float64Array): number[] {
  let mx = 0;
  let my = 0;
  for (let dy = -RADIUS; dy <= RADIUS; dy += 1) {
    const span = SPANS[dy + RADIUS]!;
    for (let dx = -span; dx <= span; dx += 1) {
      mx += dx * smooth[(y + dy) * width + x + dx]!;
      my += dy * smooth[(y + dy) * width + x + dx]!;
    }
  }
  const angle = Math.atan2(my, mx);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const words = new Uint32Array(8);
  const at = (px: number, py: number, flip: number): number => {
    const cx = x + cos * px;
    const sx = y + sin * px;
    return smooth[Math.round(flip > 0 ? sx + cos * py : sx - cos * py) * width + Math.round(flip > 0 ? cx - sin * py : cx + sin * py)]!;
  };
  for (let pair = 0; pair < 128; pair += 1) {
    const [x1, y1, x2, y2] = [pairs[pair * 4]!, pairs[pair * 4 + 1]!, pairs[pair * 4 + 2]!, pairs[pair * 4 + 3]!];
    if (at(x1, y1, 1) < at(x2, y2, 1)) words[pair >> 5] = words[pair >> 5]! | (1 << (pair & 31));
    if (at(x1, y1, -1) < at(x2, y2, -1)) words[4 + (pair >> 5)] = words[4 + (pair >> 5)]! | (1 << (pair & 31));
  }
  return [...words];
}

test('descriptors equal the scalar definition with Math.round', () => {
  const random = seededRandom(7);
  const pairs = Float64Array.from({ length: 512 }, () => Math.round((random() - 0.5) * 2 * RADIUS));
  for (const { width, height, blocks, noise } of PICTURES.slice(3)) {
    const pixels = picture(width, height, width, blocks, noise);
    const x = Int32Array.from({ length: 40 }, () => 21 + Math.floor(random() * (width - 42)));
    const y = Int32Array.from({ length: 40 }, () => 21 + Math.floor(random() * (height - 42)));
    const descriptors = describeKeypoints(pixels, width, height, x, y, { pairs, spans: SPANS });
    const smooth = referenceBlur(pixels, width, height);
    for (let k = 0; k < x.length; k += 1) {
      assert.deepEqual([...descriptors.subarray(k * 8, k * 8 + 8)], referenceDescriptor(smooth, width, x[k]!, y[k]!, pairs), `${width}×${height} keypoint ${k}`);
    }
  }
});
