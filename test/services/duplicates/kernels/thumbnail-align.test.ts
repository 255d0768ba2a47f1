/**
 * The thumbnail-alignment kernel computes what the scalar JavaScript loops compute, bit for bit: the
 * correlation sums of a rotated, scaled and shifted bilinear sample (one-pixel-wide candidates included), and
 * the coarse search's per-shift sums for a query and its mirror.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '../../../../src/index/random.ts';
import type { GrayImage } from '../../../../src/services/duplicates/gray.ts';
import { correlationSums, shiftGrid } from '../../../../src/services/duplicates/kernels/thumbnail-align.ts';

function image(width: number, height: number, random: () => number): GrayImage {
  return { width, height, data: Float32Array.from({ length: width * height }, () => random() * 4 - 2) };
}

/** The oracle: the bilinear correlation loop in plain JavaScript (undefined reads count as 0). */
function referenceSums(query: GrayImage, candidate: GrayImage, cos: number, sin: number, shiftX: number, shiftY: number): number[] {
  const data = candidate.data;
  let n = 0, sumQ = 0, sumC = 0, sumQQ = 0, sumCC = 0, sumQC = 0;
  for (let y = 0; y < query.height; y += 1) {
    const v = y + shiftY - (query.height - 1) / 2;
    for (let x = 0; x < query.width; x += 1) {
      const u = x + shiftX - (query.width - 1) / 2;
      const cx = cos * u - sin * v + (candidate.width - 1) / 2;
      const cy = sin * u + cos * v + (candidate.height - 1) / 2;
      if (cx < 0 || cy < 0 || cx > candidate.width - 1 || cy > candidate.height - 1) continue;
      const x0 = Math.min(Math.floor(cx), Math.max(0, candidate.width - 2));
      const y0 = Math.min(Math.floor(cy), Math.max(0, candidate.height - 2));
      const fx = cx - x0;
      const fy = cy - y0;
      const row = y0 * candidate.width + x0;
      const top = (data[row] ?? 0) * (1 - fx) + (data[row + 1] ?? 0) * fx;
      const bottom = (data[row + candidate.width] ?? 0) * (1 - fx) + (data[row + candidate.width + 1] ?? 0) * fx;
      const c = top * (1 - fy) + bottom * fy;
      const q = query.data[y * query.width + x] as number;
      n += 1;
      sumQ += q;
      sumC += c;
      sumQQ += q * q;
      sumCC += c * c;
      sumQC += q * c;
    }
  }
  return [n, sumQ, sumC, sumQQ, sumCC, sumQC];
}

test('correlationSums equals the scalar loop bit for bit', () => {
  const random = seededRandom(11);
  const pairs: Array<[GrayImage, GrayImage]> = [
    [image(32, 24, random), image(32, 24, random)],
    [image(64, 64, random), image(48, 64, random)],
    [image(16, 9, random), image(1, 9, random)],
    [image(16, 9, random), image(16, 1, random)],
  ];
  for (const [query, candidate] of pairs) {
    for (let trial = 0; trial < 20; trial += 1) {
      const angle = (random() - 0.5) * 0.5;
      const scale = 0.5 + random() * 1.5;
      const cos = Math.cos(angle) * scale;
      const sin = Math.sin(angle) * scale;
      const shiftX = (random() - 0.5) * query.width;
      const shiftY = (random() - 0.5) * query.height;
      const sums = correlationSums(query, candidate, cos, sin, shiftX, shiftY);
      assert.deepEqual([sums.n, sums.sumQ, sums.sumC, sums.sumQQ, sums.sumCC, sums.sumQC], referenceSums(query, candidate, cos, sin, shiftX, shiftY));
    }
  }
});

test('shiftGrid sums equal the scalar loop for both queries, and skip unflagged shifts', () => {
  const random = seededRandom(5);
  for (const [width, height] of [[16, 16], [16, 9], [5, 3]] as const) {
    const queries: [GrayImage, GrayImage] = [image(width, height, random), image(width, height, random)];
    const rangeX = Math.ceil(width / 2);
    const rangeY = Math.ceil(height / 2);
    const gridWidth = width + 2 * rangeX;
    const gridHeight = height + 2 * rangeY;
    const shiftsX = 2 * rangeX + 1;
    const shiftsY = 2 * rangeY + 1;
    const grid = shiftGrid(queries, gridWidth, gridHeight, shiftsX, shiftsY);
    for (let cell = 0; cell < gridWidth * gridHeight; cell += 1) {
      const inside = random() < 0.7 ? 1 : 0;
      grid.mask[cell] = inside;
      grid.warped[cell] = inside === 1 ? random() * 2 - 1 : 0;
    }
    for (let shift = 0; shift < shiftsX * shiftsY; shift += 1) grid.flags[shift] = shift % 5 === 0 ? 0 : 1;
    const warped = Float32Array.from(grid.warped);
    const mask = Float32Array.from(grid.mask);
    const sums = grid.sums().slice();
    for (let y0 = 0; y0 < shiftsY; y0 += 1) {
      for (let x0 = 0; x0 < shiftsX; x0 += 1) {
        const shift = y0 * shiftsX + x0;
        if (shift % 5 === 0) continue;
        for (const [which, query] of queries.entries()) {
          let sumQW = 0, sumQ = 0, sumQQ = 0;
          for (let y = 0; y < height; y += 1) {
            for (let x = 0; x < width; x += 1) {
              const q = query.data[y * width + x] as number;
              const at = (y + y0) * gridWidth + x0 + x;
              sumQW += q * (warped[at] as number);
              sumQ += q * (mask[at] as number);
              sumQQ += q * q * (mask[at] as number);
            }
          }
          assert.deepEqual([sums[shift * 6 + which], sums[shift * 6 + 2 + which], sums[shift * 6 + 4 + which]], [sumQW, sumQ, sumQQ], `${width}×${height} shift ${x0},${y0} query ${which}`);
        }
      }
    }
  }
});
