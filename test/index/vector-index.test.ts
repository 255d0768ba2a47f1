import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ExactVectorIndex } from '../../src/index/exact.ts';
import { HnswVectorIndex } from '../../src/index/hnsw.ts';
import { idleGraphs } from '../../src/index/native-graphs.ts';
import { rebuildIndex } from '../../src/index/select.ts';
import type { VectorIndex } from '../../src/index/types.ts';
import { nearby, randomUnitVector, seededRandom, temporaryDir } from '../store/helpers.ts';

const D = 64;

function bruteForce(vectors: Map<number, Float32Array>, query: Float32Array, k: number, allow: (label: number) => boolean = () => true): number[] {
  return [...vectors]
    .filter(([label]) => allow(label))
    .map(([label, v]) => ({ label, score: v.reduce((sum, x, i) => sum + x * (query[i] ?? 0), 0) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k)
    .map((hit) => hit.label);
}

function fill(index: VectorIndex, n: number, seed: number): Map<number, Float32Array> {
  const random = seededRandom(seed);
  const vectors = new Map<number, Float32Array>();
  for (let label = 1; label <= n; label++) {
    const vector = randomUnitVector(random, D);
    vectors.set(label, vector);
    index.add(label, vector);
  }
  return vectors;
}

const kinds: Array<[string, () => VectorIndex]> = [
  ['exact', () => new ExactVectorIndex(D, 4)],
  ['hnsw', () => HnswVectorIndex.create(D, { m: 16, efConstruction: 100, efSearch: 64 }, 16)],
];

for (const [kind, make] of kinds) {
  test(`${kind}: finds the nearest neighbours of a near duplicate, best first, with cosine scores`, () => {
    const index = make();
    const vectors = fill(index, 500, 1);
    const random = seededRandom(99);
    const target = vectors.get(123) ?? assert.fail();
    const hits = index.search(nearby(random, target, 0.1), 5);
    assert.equal(hits.length, 5);
    assert.equal(hits[0]?.label, 123);
    assert.ok((hits[0]?.score ?? 0) > 0.9 && (hits[0]?.score ?? 2) <= 1.0001);
    for (let i = 1; i < hits.length; i++) assert.ok((hits[i - 1]?.score ?? 0) >= (hits[i]?.score ?? 0));
    const exact = bruteForce(vectors, target, 10);
    const found = index.search(target, 10).map((hit) => hit.label);
    assert.ok(found.filter((label) => exact.includes(label)).length >= 9, `recall too low: ${found} vs ${exact}`);
  });

  test(`${kind}: removed labels never come back; size and has() follow`, () => {
    const index = make();
    const vectors = fill(index, 300, 2);
    for (let label = 1; label <= 150; label++) assert.equal(index.remove(label), true);
    assert.equal(index.remove(1), false);
    assert.equal(index.size, 150);
    assert.equal(index.has(1), false);
    assert.equal(index.getVector(1), undefined);
    const hits = index.search(vectors.get(10) ?? assert.fail(), 20);
    assert.equal(hits.length, 20);
    assert.ok(hits.every((hit) => hit.label > 150));
    assert.deepEqual([...index.labels()].sort((a, b) => a - b), Array.from({ length: 150 }, (_, i) => i + 151));
  });

  test(`${kind}: a filter that rejects 98% still yields k results, all allowed, matching brute force`, () => {
    const index = make();
    const vectors = fill(index, 1000, 3);
    const allow = (label: number): boolean => label % 50 === 0;
    const query = randomUnitVector(seededRandom(4), D);
    const hits = index.search(query, 10, allow);
    assert.equal(hits.length, 10);
    assert.ok(hits.every((hit) => allow(hit.label)));
    assert.deepEqual(hits.map((hit) => hit.label), bruteForce(vectors, query, 10, allow));
    assert.deepEqual(index.search(query, 10, () => false), []);
  });

  test(`${kind}: k larger than the index returns everything`, () => {
    const index = make();
    fill(index, 7, 5);
    assert.equal(index.search(randomUnitVector(seededRandom(6), D), 50).length, 7);
  });

  test(`${kind}: grows past its initial capacity and round-trips through save/load`, async (t) => {
    const dir = temporaryDir(t);
    const index = make();
    const vectors = fill(index, 400, 7);
    index.remove(5);
    const path = join(dir, `index.${kind}`);
    await index.save(path);
    const live = [...index.labels()];
    const loaded = kind === 'exact' ? await ExactVectorIndex.load(path, D) : await HnswVectorIndex.load(path, D, live);
    assert.equal(loaded.size, 399);
    assert.equal(loaded.has(5), false);
    const query = vectors.get(77) ?? assert.fail();
    assert.deepEqual(loaded.search(query, 5), index.search(query, 5));
    assert.deepEqual(loaded.getVector(77), query);
  });

  test(`${kind}: rejects vectors of the wrong dimension with a typed error`, () => {
    const index = make();
    assert.throws(() => index.add(1, new Float32Array(D + 1)), { code: 'INVALID_INPUT' });
    assert.throws(() => index.search(new Float32Array(3), 1), { code: 'INVALID_INPUT' });
  });
}

test('hnsw: compaction drops marked-deleted vectors and keeps results', () => {
  const index = HnswVectorIndex.create(D, { m: 16, efConstruction: 100, efSearch: 64 }, 16);
  const vectors = fill(index, 600, 8);
  for (let label = 1; label <= 400; label++) index.remove(label);
  assert.equal(index.deletedCount, 400);
  const compacted = index.compacted();
  assert.equal(compacted.deletedCount, 0);
  assert.equal(compacted.size, 200);
  const query = vectors.get(500) ?? assert.fail();
  assert.equal(compacted.search(query, 1)[0]?.label, 500);
});

test('hnsw: close frees the graph at once; a closed index refuses use; the next index reuses the wrapper empty', () => {
  const dimensions = D;
  const parameters = { m: 8, efConstruction: 50, efSearch: 32 };
  const first = HnswVectorIndex.create(dimensions, parameters, 16);
  const vectors = fill(first, 200, 21);
  const query = vectors.get(7) ?? assert.fail();
  assert.equal(first.search(query, 1)[0]?.label, 7);
  const idle = idleGraphs(dimensions);
  first.close();
  assert.equal(idleGraphs(dimensions), idle + 1);
  // The wrapper may serve another guild next: the closed index must never read it again.
  assert.throws(() => first.search(query, 1), { code: 'STORE_FAILED' });
  assert.throws(() => first.add(999, query), { code: 'STORE_FAILED' });
  first.close(); // twice is harmless
  assert.equal(idleGraphs(dimensions), idle + 1);
  const second = HnswVectorIndex.create(dimensions, parameters, 16);
  assert.equal(idleGraphs(dimensions), idle, 'reused');
  assert.deepEqual(second.search(query, 5), []);
  second.add(1, query);
  assert.deepEqual(second.search(query, 5).map((hit) => hit.label), [1]);
  second.close();
});

test('rebuildIndex switches between exact and hnsw by size', () => {
  const exact = new ExactVectorIndex(D);
  const vectors = fill(exact, 50, 9);
  const policy = { exactSearchMaxImages: 10, hnsw: { m: 8, efConstruction: 50, efSearch: 32 } };
  const hnsw = rebuildIndex(exact, policy);
  assert.equal(hnsw.kind, 'hnsw');
  assert.equal(hnsw.size, 50);
  assert.equal(hnsw.search(vectors.get(20) ?? assert.fail(), 1)[0]?.label, 20);
  for (let label = 1; label <= 45; label++) hnsw.remove(label);
  const back = rebuildIndex(hnsw, policy);
  assert.equal(back.kind, 'exact');
  assert.deepEqual([...back.labels()].sort((a, b) => a - b), [46, 47, 48, 49, 50]);
});
