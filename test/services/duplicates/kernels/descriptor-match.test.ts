/**
 * The descriptor-matching kernel: its best and second-best distances are those of a plain scan over every
 * pair, ties included.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DESCRIPTOR_WORDS, type Keypoints } from '../../../../src/embedding/keypoints.ts';
import { seededRandom } from '../../../../src/index/random.ts';
import { bestMatches } from '../../../../src/services/duplicates/kernels/descriptor-match.ts';

function keypoints(count: number, random: () => number, pool?: Uint32Array): Keypoints {
  const descriptors = new Uint32Array(count * DESCRIPTOR_WORDS);
  for (let index = 0; index < descriptors.length; index += 1) descriptors[index] = Math.floor(random() * 2 ** 32) >>> 0;
  // Copies of descriptors from `pool` (exact and with a few flipped bits) make ties and close matches.
  if (pool !== undefined) {
    for (let k = 0; k < count; k += 3) {
      const from = Math.floor(random() * (pool.length / DESCRIPTOR_WORDS));
      for (let word = 0; word < DESCRIPTOR_WORDS; word += 1) descriptors[k * DESCRIPTOR_WORDS + word] = pool[from * DESCRIPTOR_WORDS + word] as number;
      if (k % 2 === 1) descriptors[k * DESCRIPTOR_WORDS] = (descriptors[k * DESCRIPTOR_WORDS] as number) ^ (1 << (k % 32));
    }
  }
  return { count, x: new Float32Array(count), y: new Float32Array(count), descriptors };
}

function distance(a: Keypoints, i: number, b: Keypoints, j: number): number {
  let bits = 0;
  for (let word = 0; word < DESCRIPTOR_WORDS; word += 1) {
    let x = ((a.descriptors[i * DESCRIPTOR_WORDS + word] as number) ^ (b.descriptors[j * DESCRIPTOR_WORDS + word] as number)) >>> 0;
    while (x !== 0) {
      bits += x & 1;
      x >>>= 1;
    }
  }
  return bits;
}

/** Best, second best and the first index of the best, scanning in index order. */
function scan(count: number, distanceTo: (index: number) => number): [number, number, number] {
  let best = 1e9;
  let second = 1e9;
  let at = -1;
  for (let index = 0; index < count; index += 1) {
    const d = distanceTo(index);
    if (d < best) {
      second = best;
      best = d;
      at = index;
    } else if (d < second) second = d;
  }
  return [best, second, at];
}

test('best and second-best distances per row and column equal a plain scan, ties resolved to the first index', () => {
  const random = seededRandom(7);
  for (const [n, m] of [[1, 1], [2, 3], [37, 5], [320, 320], [500, 130]] as const) {
    const candidate = keypoints(m, random);
    const query = keypoints(n, random, candidate.descriptors);
    const { rows, columns } = bestMatches(query, candidate);
    for (let i = 0; i < n; i += 1) assert.deepEqual([rows.best[i], rows.second[i], rows.at[i]], scan(m, (j) => distance(query, i, candidate, j)), `row ${i} of ${n}×${m}`);
    for (let j = 0; j < m; j += 1) assert.deepEqual([columns.best[j], columns.second[j], columns.at[j]], scan(n, (i) => distance(query, i, candidate, j)), `column ${j} of ${n}×${m}`);
  }
});

test('memory grows for inputs larger than one page and smaller inputs afterwards still match', () => {
  const random = seededRandom(11);
  const large = keypoints(1500, random);
  const other = keypoints(1200, random, large.descriptors);
  const big = bestMatches(large, other);
  assert.equal(big.rows.best.length, 1500);
  assert.equal(big.columns.at.length, 1200);
  const small = keypoints(4, random);
  const { rows } = bestMatches(small, other);
  for (let i = 0; i < 4; i += 1) assert.deepEqual([rows.best[i], rows.second[i], rows.at[i]], scan(1200, (j) => distance(small, i, other, j)));
});
