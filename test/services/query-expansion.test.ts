import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandQuery } from '../../src/services/query-expansion.ts';

test('expandQuery returns the normalised sum of the query and its neighbours', () => {
  const expanded = expandQuery(Float32Array.from([1, 0, 0]), [Float32Array.from([0, 1, 0]), Float32Array.from([0, 1, 0])]);
  const norm = Math.sqrt(5);
  assert.deepEqual(Array.from(expanded, (value) => Number(value.toFixed(6))), [1 / norm, 2 / norm, 0].map((value) => Number(value.toFixed(6))));
  // no neighbours: the query itself
  assert.deepEqual(expandQuery(Float32Array.from([0.6, 0.8]), []), Float32Array.from([0.6, 0.8]));
  assert.throws(() => expandQuery(Float32Array.from([1, 0]), [Float32Array.from([1])]), RangeError);
});
