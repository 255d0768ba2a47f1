import assert from 'node:assert/strict';
import { openSync, closeSync, readdirSync, readSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import hnswlib from 'hnswlib-node';
import { fitProjection, fitProjectionSteps, project } from '../../src/index/pca.ts';
import { ReducedHnswVectorIndex, type ReducedHnswParameters } from '../../src/index/reduced-hnsw.ts';
import { rebuildIndex, type IndexPolicy } from '../../src/index/select.ts';
import { readManifest } from '../../src/store/guild-files.ts';
import { GuildIndex, type GuildIndexOptions } from '../../src/store/guild-index.ts';
import type { ImageRecord } from '../../src/store/types.ts';
import { embeddingOf, seededRandom, sha256, sourceOf, temporaryDir } from '../store/helpers.ts';

const D = 64;
const RANK = 12;
const PARAMETERS: ReducedHnswParameters = { m: 8, efConstruction: 64, efSearch: 32, reducedDimensions: 16, rerank: 32 };

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Unit vectors whose energy sits in RANK directions (like photo embeddings), plus a little isotropic noise. */
function lowRankVectors(n: number, seed: number): Float32Array[] {
  const axisRandom = seededRandom(7); // one subspace for every set
  const axes = Array.from({ length: RANK }, () => Float32Array.from({ length: D }, () => gaussian(axisRandom)));
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const v = new Float32Array(D);
    for (const axis of axes) {
      const g = gaussian(random);
      for (let i = 0; i < D; i++) v[i] = (v[i] ?? 0) + g * (axis[i] ?? 0);
    }
    for (let i = 0; i < D; i++) v[i] = (v[i] ?? 0) + 0.05 * gaussian(random);
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });
}

const dot = (a: Float32Array, b: Float32Array): number => a.reduce((sum, x, i) => sum + x * (b[i] ?? 0), 0);

function bruteForce(vectors: Map<number, Float32Array>, query: Float32Array, k: number, allow: (label: number) => boolean = () => true): number[] {
  return [...vectors]
    .filter(([label]) => allow(label))
    .map(([label, v]) => ({ label, score: dot(v, query) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k)
    .map((hit) => hit.label);
}

function build(n: number, seed: number): { index: ReducedHnswVectorIndex; vectors: Map<number, Float32Array> } {
  const all = lowRankVectors(n, seed);
  const index = ReducedHnswVectorIndex.create(D, fitProjection(all.slice(0, 200), PARAMETERS.reducedDimensions), { ...PARAMETERS }, 16);
  const vectors = new Map<number, Float32Array>();
  all.forEach((vector, i) => {
    vectors.set(i + 1, vector);
    index.add(i + 1, vector);
  });
  return { index, vectors };
}

function recallAt10(index: ReducedHnswVectorIndex, vectors: Map<number, Float32Array>, queries: Float32Array[]): number {
  let found = 0;
  for (const query of queries) {
    const truth = new Set(bruteForce(vectors, query, 10));
    found += index.search(query, 10).filter((hit) => truth.has(hit.label)).length;
  }
  return found / (queries.length * 10);
}

test('pca: the fitted basis is orthonormal and keeps inner products of low-rank vectors', () => {
  const samples = lowRankVectors(300, 1);
  const projection = fitProjection(samples, 16);
  assert.equal(projection.outputDimensions, 16);
  for (let a = 0; a < 16; a++) {
    for (let b = 0; b < 16; b++) {
      const rowA = projection.basis.subarray(a * D, (a + 1) * D);
      const rowB = projection.basis.subarray(b * D, (b + 1) * D);
      assert.ok(Math.abs(dot(rowA, rowB) - (a === b ? 1 : 0)) < 1e-4, `basis rows ${a},${b}`);
    }
  }
  const [x, y] = lowRankVectors(2, 99);
  assert.ok(x !== undefined && y !== undefined);
  const projected = project(projection, x).reduce((sum, value, i) => sum + value * (project(projection, y)[i] ?? 0), 0);
  // 16 of 64 directions, but the vectors' energy sits in 12 of them: the projection loses only the noise.
  assert.ok(Math.abs(projected - dot(x, y)) < 0.05, `projected ${projected} vs ${dot(x, y)}`);
});

test('pca: the stepwise fit hands control back per sample and per basis row, and fits the same basis', () => {
  const samples = lowRankVectors(120, 3);
  const steps = fitProjectionSteps(samples, 16, 3);
  let yields = 0;
  let step = steps.next();
  for (; !step.done; step = steps.next()) yields++;
  // one per sample, one per basis row of each round, one per orthonormalisation
  assert.equal(yields, samples.length + 3 * (16 + 1));
  assert.deepEqual(step.value.basis, fitProjection(samples, 16, 3).basis);
});

test('pca-hnsw: recall against brute force, scores are exact cosines of the full vectors, filters hold', () => {
  const { index, vectors } = build(1500, 2);
  const queries = lowRankVectors(40, 3);
  assert.ok(recallAt10(index, vectors, queries) >= 0.95);
  for (const query of queries.slice(0, 5)) {
    for (const hit of index.search(query, 10)) {
      const vector = vectors.get(hit.label);
      assert.ok(vector !== undefined);
      assert.ok(Math.abs(hit.score - dot(vector, query)) < 1e-5, 'true cosine');
    }
    const odd = (label: number): boolean => label % 2 === 1;
    const hits = index.search(query, 10, odd);
    assert.equal(hits.length, 10);
    assert.ok(hits.every((hit) => odd(hit.label)));
    assert.deepEqual(hits.map((hit) => hit.label).slice(0, 3), bruteForce(vectors, query, 3, odd));
  }
  const query = queries[0] ?? new Float32Array(D);
  const best = index.search(query, 1)[0]?.label ?? 0;
  assert.equal(index.remove(best), true);
  assert.equal(index.remove(best), false);
  assert.ok(!index.search(query, 10).some((hit) => hit.label === best));
  assert.equal(index.size, 1499);
  assert.equal(index.deletedCount, 1);
  index.add(best, query); // re-add with a new vector: found with score 1
  assert.equal(index.search(query, 1)[0]?.label, best);
  assert.ok(Math.abs((index.search(query, 1)[0]?.score ?? 0) - 1) < 1e-5);
  assert.equal(index.deletedCount, 0);
  assert.throws(() => index.add(1, new Float32Array(D - 1)), { code: 'INVALID_INPUT' });
});

test('pca-hnsw: save, load, save again (vectors read back from the snapshot file), compaction', async (t) => {
  const dir = temporaryDir(t, 'dejavu-index-');
  const { index, vectors } = build(800, 4);
  const queries = lowRankVectors(20, 5);
  const before = queries.map((query) => index.search(query, 10));
  await index.save(join(dir, 'a'));
  assert.deepEqual(readdirSync(join(dir, 'a')).sort(), ['graph.hnsw', 'vectors.bin']);
  // After the save the index serves full vectors from the file.
  assert.deepEqual(index.getVector(5), vectors.get(5));
  assert.deepEqual(queries.map((query) => index.search(query, 10)), before);
  index.close();
  assert.throws(() => index.search(queries[0] ?? new Float32Array(D), 10), { code: 'STORE_FAILED' }); // its graph went back to the pool

  const loaded = await ReducedHnswVectorIndex.load(join(dir, 'a'), D, vectors.keys(), { ...PARAMETERS });
  t.after(() => loaded.close());
  assert.equal(loaded.size, 800);
  assert.equal(loaded.projection.outputDimensions, PARAMETERS.reducedDimensions);
  assert.deepEqual(loaded.getVector(800), vectors.get(800));
  assert.deepEqual(queries.map((query) => loaded.search(query, 10)), before);

  // Changes after the load: a new vector (pending in memory) and removals, then a second snapshot.
  const extra = lowRankVectors(1, 6)[0] ?? new Float32Array(D);
  loaded.add(801, extra);
  vectors.set(801, extra);
  for (let label = 1; label <= 300; label++) {
    loaded.remove(label);
    vectors.delete(label);
  }
  await loaded.save(join(dir, 'b'));
  assert.deepEqual(loaded.getVector(801), extra);
  const compacted = rebuildIndex(loaded, { exactSearchMaxImages: 10, hnsw: PARAMETERS, reduced: { reducedSearchMinImages: 100, fitSamples: 100, parameters: PARAMETERS } });
  t.after(() => compacted.close?.());
  assert.equal(compacted.kind, 'pca-hnsw');
  assert.equal(compacted.deletedCount, 0);
  assert.equal(compacted.size, 501);
  assert.deepEqual(compacted.getVector(801), extra);
  assert.deepEqual(compacted.getVector(500), vectors.get(500));
  assert.equal(compacted.getVector(1), undefined);
  const reloaded = await ReducedHnswVectorIndex.load(join(dir, 'b'), D, vectors.keys(), { ...PARAMETERS });
  t.after(() => reloaded.close());
  assert.equal(reloaded.size, 501);
  assert.ok(recallAt10(reloaded, vectors, queries) >= 0.95);

  await assert.rejects(ReducedHnswVectorIndex.load(join(dir, 'b'), D, [1], { ...PARAMETERS }), { code: 'INDEX_CORRUPT' }); // 1 was removed
  await assert.rejects(ReducedHnswVectorIndex.load(join(dir, 'b'), D + 1, [], { ...PARAMETERS }), { code: 'INDEX_CORRUPT' });
  const vectorsFile = join(dir, 'b', 'vectors.bin');
  truncateSync(vectorsFile, statSync(vectorsFile).size - 4);
  await assert.rejects(ReducedHnswVectorIndex.load(join(dir, 'b'), D, [], { ...PARAMETERS }), { code: 'INDEX_CORRUPT' });
  await assert.rejects(ReducedHnswVectorIndex.load(join(dir, 'missing'), D, [], { ...PARAMETERS }), { code: 'INDEX_CORRUPT' });
});

/** The format version in a snapshot's vectors.bin header (bytes 4–7); `write` replaces it. */
function snapshotVersion(path: string, write?: number): number {
  const fd = openSync(join(path, 'vectors.bin'), write === undefined ? 'r' : 'r+');
  try {
    const field = Buffer.alloc(4);
    if (write !== undefined) {
      field.writeUInt32LE(write);
      writeSync(fd, field, 0, 4, 4);
    }
    readSync(fd, field, 0, 4, 4);
    return field.readUInt32LE();
  } finally {
    closeSync(fd);
  }
}

test('pca-hnsw: a format-1 snapshot (graph over plain projections) still loads and searches; compaction upgrades it', async (t) => {
  const dir = temporaryDir(t, 'dejavu-index-');
  const { index, vectors } = build(800, 8);
  const queries = lowRankVectors(20, 9);
  const path = join(dir, 'old');
  await index.save(path);
  assert.equal(snapshotVersion(path), 2);
  // On-disk format version 1: the graph holds the plain projections Px (r values, no residual norm).
  const plain = new hnswlib.HierarchicalNSW('ip', PARAMETERS.reducedDimensions);
  plain.initIndex({ maxElements: 800, m: PARAMETERS.m, efConstruction: PARAMETERS.efConstruction, randomSeed: 100 });
  for (const [label, vector] of vectors) plain.addPoint(project(index.projection, vector), label);
  await plain.writeIndex(join(path, 'graph.hnsw'));
  snapshotVersion(path, 1);
  index.close();

  const old = await ReducedHnswVectorIndex.load(path, D, vectors.keys(), { ...PARAMETERS });
  t.after(() => old.close());
  assert.ok(recallAt10(old, vectors, queries) >= 0.95);
  const extra = lowRankVectors(1, 10)[0] ?? new Float32Array(D);
  old.add(801, extra); // added in the format-1 point layout
  vectors.set(801, extra);
  assert.equal(old.search(extra, 1)[0]?.label, 801);
  await old.save(join(dir, 'old-again'));
  assert.equal(snapshotVersion(join(dir, 'old-again')), 1, 'an old graph keeps its format');

  const upgraded = old.compacted();
  t.after(() => upgraded.close());
  await upgraded.save(join(dir, 'new'));
  assert.equal(snapshotVersion(join(dir, 'new')), 2);
  const reloaded = await ReducedHnswVectorIndex.load(join(dir, 'new'), D, vectors.keys(), { ...PARAMETERS });
  t.after(() => reloaded.close());
  assert.ok(recallAt10(reloaded, vectors, queries) >= 0.95);
  snapshotVersion(join(dir, 'new'), 3);
  await assert.rejects(ReducedHnswVectorIndex.load(join(dir, 'new'), D, [], { ...PARAMETERS }), { code: 'INDEX_CORRUPT' });
});

const POLICY: IndexPolicy = {
  exactSearchMaxImages: 20,
  hnsw: { m: 8, efConstruction: 50, efSearch: 32 },
  reduced: { reducedSearchMinImages: 60, fitSamples: 100, parameters: PARAMETERS },
};
const options = (): GuildIndexOptions => ({ guildId: 'g1', variant: 'test-variant', dimensions: D, policy: POLICY });

function recordFor(guild: GuildIndex, n: number): ImageRecord {
  const source = sourceOf('g1', n);
  const embedding = embeddingOf(new Float32Array(D), n);
  return { ...source, id: guild.allocateId(), contentHash: sha256(`bytes-${n}`), width: embedding.width, height: embedding.height, signature: embedding.signature };
}

test('guild index: grows exact → hnsw → pca-hnsw at snapshots; journal replay and reopen keep every vector', async (t) => {
  const dir = join(temporaryDir(t), 'g1');
  const all = lowRankVectors(150, 8);
  const vectors = new Map<number, Float32Array>();
  const { guild } = await GuildIndex.open(dir, options());
  for (let n = 0; n < 100; n++) {
    const record = recordFor(guild, n);
    vectors.set(record.id, all[n] ?? new Float32Array(D));
    await guild.add(record, all[n] ?? new Float32Array(D));
  }
  assert.equal(guild.indexKind, 'hnsw'); // outgrew the exact scan on add
  await guild.exclusive(() => guild.snapshot());
  assert.equal(guild.indexKind, 'pca-hnsw'); // > reducedSearchMinImages: rebuilt at the snapshot
  const manifest = await readManifest(dir);
  assert.equal(manifest?.index?.kind, 'pca-hnsw');
  assert.ok(statSync(join(dir, manifest?.index?.file ?? '')).isDirectory());
  // Changes after the snapshot live in the journal only; then "crash" (no close).
  for (let n = 100; n < 150; n++) {
    const record = recordFor(guild, n);
    vectors.set(record.id, all[n] ?? new Float32Array(D));
    await guild.add(record, all[n] ?? new Float32Array(D));
  }
  await guild.remove([1, 2, 3]);
  for (const id of [1, 2, 3]) vectors.delete(id);
  const { guild: reopened, replayed } = await GuildIndex.open(dir, options());
  assert.equal(replayed.length, 51);
  assert.equal(reopened.size, 147);
  assert.equal(reopened.indexKind, 'pca-hnsw');
  for (const [id, vector] of vectors) assert.deepEqual(reopened.getVector(id), vector, `vector ${id}`);
  const query = all[120] ?? new Float32Array(D);
  const hits = reopened.search(query, 5);
  assert.deepEqual(
    hits.map((hit) => hit.id),
    bruteForce(vectors, query, 5),
  );
  assert.ok(Math.abs((hits[0]?.score ?? 0) - 1) < 1e-5);
  await reopened.exclusive(() => reopened.close());
  // A clean reopen after the close's snapshot: nothing to replay, one snapshot directory left.
  const { guild: third, replayed: none } = await GuildIndex.open(dir, options());
  t.after(() => third.close());
  assert.equal(none.length, 0);
  assert.equal(third.size, 147);
  assert.deepEqual(third.getVector(150), vectors.get(150));
  assert.equal(readdirSync(dir).filter((name) => name.startsWith('index-')).length, 1);
});

test('guild index: a pca-hnsw compaction in the background shares the snapshot file and keeps every change', async (t) => {
  const dir = join(temporaryDir(t), 'g1');
  const all = lowRankVectors(700, 11);
  const vectors = new Map<number, Float32Array>();
  const { guild } = await GuildIndex.open(dir, { ...options(), backgroundRebuildMinSize: 50, rebuildSliceMs: 0 });
  const add = async (n: number): Promise<void> => {
    const record = recordFor(guild, n);
    vectors.set(record.id, all[n] ?? new Float32Array(D));
    await guild.exclusive(() => guild.add(record, all[n] ?? new Float32Array(D))); // as the store does
  };
  for (let n = 0; n < 600; n++) await add(n);
  await guild.exclusive(() => guild.snapshot()); // hnsw → pca-hnsw, in the background
  await guild.rebuilt();
  assert.equal(guild.indexKind, 'pca-hnsw');
  await guild.exclusive(() => guild.snapshot()); // full vectors now in the snapshot file
  const removed = [...vectors.keys()].filter((id) => id % 2 === 1);
  await guild.remove(removed);
  for (const id of removed) vectors.delete(id);
  await guild.exclusive(() => guild.snapshot()); // half deleted: compaction reads the shared file
  assert.equal(guild.rebuilding, true);
  for (let n = 600; n < 700; n++) await add(n);
  await guild.rebuilt();
  assert.equal(guild.indexKind, 'pca-hnsw');
  for (const [id, vector] of vectors) assert.deepEqual(guild.getVector(id), vector, `vector ${id}`);
  const query = all[650] ?? new Float32Array(D);
  assert.deepEqual(guild.search(query, 5).map((hit) => hit.id), bruteForce(vectors, query, 5));
  await guild.exclusive(() => guild.close());
  const { guild: reopened, replayed } = await GuildIndex.open(dir, options());
  t.after(() => reopened.close());
  assert.equal(replayed.length, 0);
  assert.equal(reopened.size, vectors.size);
  for (const [id, vector] of vectors) assert.deepEqual(reopened.getVector(id), vector, `vector ${id} after reopen`);
});
