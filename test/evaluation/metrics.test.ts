import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  averagePrecision,
  bestRecallAtPrecision,
  operatingPointAt,
  precisionAtK,
  rankByScore,
  recallAt1,
} from '../../src/evaluation/metrics.ts';
import { editKind } from '../../src/evaluation/dataset.ts';
import { dHashSimilarity, hammingDistance } from '../../src/evaluation/dhash.ts';

test('average precision of hand-made rankings', () => {
  assert.equal(averagePrecision([true, true, false], 2), 1);
  // relevant at ranks 1 and 3: (1/1 + 2/3) / 2
  assert.ok(Math.abs(averagePrecision([true, false, true, false], 2) - (1 + 2 / 3) / 2) < 1e-12);
  // one of two relevant items never ranked counts as a miss
  assert.equal(averagePrecision([false, true], 2), 0.25);
  assert.equal(averagePrecision([false, false], 0), 0);
});

test('precision@k and recall@1', () => {
  assert.equal(precisionAtK([true, false, true, true], 2), 0.5);
  assert.equal(precisionAtK([true], 10), 0.1);
  assert.equal(recallAt1([false, true]), 0);
  assert.equal(recallAt1([true]), 1);
});

test('rankByScore orders by descending score, ties by index', () => {
  assert.deepEqual(rankByScore([0.1, 0.9, 0.5, 0.9], [0, 1, 2, 3]), [1, 3, 2, 0]);
  assert.deepEqual(rankByScore([0.1, 0.9, 0.5], [0, 2]), [2, 0]);
});

test('best recall at a precision floor picks the lowest safe threshold', () => {
  const pairs = { positives: Float64Array.from([0.95, 0.9, 0.8, 0.4]), negatives: Float64Array.from([0.85, 0.3, -Infinity]) };
  const perfect = bestRecallAtPrecision(pairs, 1);
  assert.equal(perfect.threshold, 0.9);
  assert.equal(perfect.recall, 0.5);
  assert.equal(perfect.falsePositives, 0);
  // at 0.4 all four positives and one negative are called: precision 0.8
  const loose = bestRecallAtPrecision(pairs, 0.8);
  assert.equal(loose.threshold, 0.4);
  assert.equal(loose.recall, 1);
  assert.equal(loose.precision, 0.8);
  assert.equal(bestRecallAtPrecision(pairs, 0.81).threshold, 0.9);
  // a tie between a positive and a negative is called together
  const tied = bestRecallAtPrecision({ positives: Float64Array.from([0.9, 0.7]), negatives: Float64Array.from([0.9]) }, 0.99);
  assert.equal(tied.recall, 0);
});

test('operating point at a fixed threshold; unreported pairs never count', () => {
  const pairs = { positives: Float64Array.from([0.9, -Infinity]), negatives: Float64Array.from([0.95, 0.1]) };
  const point = operatingPointAt(pairs, 0.5);
  assert.equal(point.recall, 0.5);
  assert.equal(point.precision, 0.5);
  assert.equal(operatingPointAt(pairs, -Infinity).truePositives, 1);
});

test('edit kinds from sources.json transforms', () => {
  assert.equal(editKind('horizontal mirror'), 'mirror');
  assert.equal(editKind('downscale to 256px, JPEG q30'), 'recompress');
  assert.equal(editKind('semi-transparent box at 12%,46%'), 'watermark');
  assert.equal(editKind('darker/contrast'), 'color');
  assert.equal(editKind('rotate -6deg + center crop 85%'), 'rotate');
});

test('dHash Hamming similarity', () => {
  assert.equal(hammingDistance(0b1011n, 0b0001n), 2);
  assert.equal(dHashSimilarity(0n, 0n), 1);
  assert.equal(dHashSimilarity(0n, (1n << 64n) - 1n), 0);
});
