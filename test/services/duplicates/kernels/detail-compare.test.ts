/**
 * The detail-comparison kernel computes what a plain scalar loop over the same f64 arithmetic computes, bit
 * for bit: sampled sums, block counts and the disagree grid, for shifted, rotated, scaled and partly
 * overlapping pairs of different sizes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '../../../../src/index/random.ts';
import { blur } from '../../../../src/services/duplicates/detail.ts';
import { type BlockRule, compareBlocks, sampleCandidate } from '../../../../src/services/duplicates/kernels/detail-compare.ts';

type Matrix = [number, number, number, number, number, number];

/** The two passes as scalar JavaScript: the oracle. */
function reference(query: Float32Array, w: number, h: number, candidate: Float32Array, cw: number, ch: number, m: Matrix, rule: Omit<BlockRule, 'gain' | 'offset'>) {
  const sampled = new Float32Array(w * h);
  const inside = new Uint8Array(w * h);
  let n = 0, sumQ = 0, sumC = 0, sumCC = 0, sumQC = 0;
  for (let y = 0; y < h; y += 1) {
    for (let x = 0; x < w; x += 1) {
      const index = y * w + x;
      const cx = m[0] * x + m[1] * y + m[2];
      const cy = m[3] * x + m[4] * y + m[5];
      if (cx < 0 || cy < 0 || cx > cw - 1 || cy > ch - 1) continue;
      const x0 = Math.min(Math.floor(cx), cw - 2);
      const y0 = Math.min(Math.floor(cy), ch - 2);
      const fx = cx - x0;
      const fy = cy - y0;
      const at = y0 * cw + x0;
      const top = (candidate[at] as number) * (1 - fx) + (candidate[at + 1] as number) * fx;
      const bottom = (candidate[at + cw] as number) * (1 - fx) + (candidate[at + cw + 1] as number) * fx;
      sampled[index] = top * (1 - fy) + bottom * fy;
      const c = sampled[index] as number;
      const q = query[index] as number;
      inside[index] = 1;
      n += 1;
      sumQ += q;
      sumC += c;
      sumCC += c * c;
      sumQC += q * c;
    }
  }
  const gain = 1.1;
  const offset = -3;
  const fitted = (at: number): number => (inside[at] === 1 ? gain * (sampled[at] as number) + offset : (query[at] as number));
  const columns = Math.floor(w / 16);
  const rows = Math.floor(h / 16);
  const disagree = new Uint8Array(columns * rows);
  let textured = 0, agreeing = 0, covered = 0;
  for (let by = 0; by < rows; by += 1) {
    for (let bx = 0; bx < columns; bx += 1) {
      let count = 0, differing = 0, sq = 0, sqq = 0, sc = 0, scc = 0;
      for (let y = by * 16; y < (by + 1) * 16; y += 1) {
        const up = y > 0 ? -w : 0;
        const down = y < h - 1 ? w : 0;
        for (let x = bx * 16; x < (bx + 1) * 16; x += 1) {
          const at = y * w + x;
          if (inside[at] !== 1) continue;
          const q = query[at] as number;
          const c = gain * (sampled[at] as number) + offset;
          count += 1;
          if (Math.abs(q - c) > rule.pixelDifference) {
            const nearest = Math.min(
              Math.abs(q - fitted(x > 0 ? at - 1 : at)), Math.abs(q - fitted(x < w - 1 ? at + 1 : at)), Math.abs(q - fitted(at + up)), Math.abs(q - fitted(at + down)),
            );
            if (nearest > rule.pixelDifference) differing += 1;
          }
          sq += q;
          sqq += q * q;
          sc += c;
          scc += c * c;
        }
      }
      if (count < rule.minCount) continue;
      covered += 1;
      const deviation = Math.sqrt(Math.max(sqq / count - (sq / count) * (sq / count), scc / count - (sc / count) * (sc / count), 0));
      if (deviation <= rule.textureDeviation) continue;
      textured += 1;
      if (differing >= count * rule.differingShare) disagree[by * columns + bx] = 1;
      else agreeing += 1;
    }
  }
  return { sums: { n, sumQ, sumC, sumCC, sumQC }, gain, offset, blocks: { textured, agreeing, covered, disagree } };
}

/** Blocks of noise, flat areas and bars: textured and untextured blocks, agreeing and not. */
function picture(width: number, height: number, random: () => number): Float32Array {
  const pixels = new Uint8Array(width * height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const region = (Math.floor(x / 40) + Math.floor(y / 24)) % 3;
      pixels[y * width + x] = region === 0 ? 200 : region === 1 ? Math.floor(random() * 256) : (x % 9 < 3 ? 30 : 220);
    }
  }
  return blur({ width, height, pixels });
}

test('sums, block counts and disagree flags equal the scalar loop for every transform and size', () => {
  const random = seededRandom(3);
  const rule = { pixelDifference: 48, minCount: 230.4, textureDeviation: 6, differingShare: 0.04 };
  const query = picture(200, 150, random);
  const cases: Array<{ candidate: Float32Array; width: number; height: number; m: Matrix }> = [
    { candidate: query, width: 200, height: 150, m: [1, 0, 0, 0, 1, 0] },
    { candidate: picture(200, 150, random), width: 200, height: 150, m: [1, 0, 2.5, 0, 1, -1.25] },
    { candidate: picture(320, 90, random), width: 320, height: 90, m: [0.9, -0.05, 10, 0.05, 0.9, -20] },
    { candidate: picture(64, 300, random), width: 64, height: 300, m: [1.3, 0.2, -30, -0.2, 1.3, 40] },
    { candidate: picture(200, 150, random), width: 200, height: 150, m: [-1, 0, 199, 0, 1, 0] },
  ];
  for (const [index, { candidate, width, height, m }] of cases.entries()) {
    const expected = reference(query, 200, 150, candidate, width, height, m, rule);
    const sums = sampleCandidate(query, { width: 200, height: 150 }, candidate, { width, height }, m, 12 * 9);
    assert.deepEqual(sums, expected.sums, `sums, case ${index}`);
    const blocks = compareBlocks({ width: 200, height: 150 }, 12, 9, { ...rule, gain: expected.gain, offset: expected.offset });
    assert.deepEqual(blocks, expected.blocks, `blocks, case ${index}`);
  }
});
