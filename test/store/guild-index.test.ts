import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { readManifest } from '../../src/store/guild-files.ts';
import { GuildIndex, type GuildIndexOptions } from '../../src/store/guild-index.ts';
import type { ImageRecord } from '../../src/store/types.ts';
import { embeddingOf, randomUnitVector, seededRandom, sha256, sourceOf, temporaryDir } from './helpers.ts';

const D = 32;
const options = (overrides: Partial<GuildIndexOptions> = {}): GuildIndexOptions => ({
  guildId: 'g1',
  variant: 'test-variant',
  dimensions: D,
  policy: { exactSearchMaxImages: 20, hnsw: { m: 8, efConstruction: 50, efSearch: 32 } },
  ...overrides,
});

function recordFor(guild: GuildIndex, n: number): ImageRecord {
  const source = sourceOf('g1', n);
  const embedding = embeddingOf(new Float32Array(D), n);
  return { ...source, id: guild.allocateId(), contentHash: sha256(`bytes-${n}`), width: embedding.width, height: embedding.height, signature: embedding.signature };
}

test('guild index: journal replay restores adds and removes made after the last snapshot', async (t) => {
  const dir = join(temporaryDir(t), 'g1');
  const random = seededRandom(1);
  const vectors = new Map<number, Float32Array>();
  const { guild } = await GuildIndex.open(dir, options());
  for (let n = 0; n < 30; n++) {
    const record = recordFor(guild, n);
    const vector = randomUnitVector(random, D);
    vectors.set(record.id, vector);
    await guild.add(record, vector);
    if (n === 9) await guild.snapshot();
  }
  await guild.remove([3, 15]);
  // No close(): simulate a crash by reopening from the files as they are.
  const { guild: reopened, replayed } = await GuildIndex.open(dir, options());
  assert.equal(replayed.length, 21); // adds 11..30 and one removal after the snapshot at seq 10
  assert.equal(reopened.size, 28);
  assert.equal(reopened.indexKind, 'hnsw'); // 30 > exactSearchMaxImages
  assert.equal(reopened.get(3), undefined);
  assert.equal(reopened.getBySource('a5')?.id, 6);
  assert.deepEqual(reopened.idsByHash(sha256('bytes-7')), [8]);
  assert.equal(reopened.search(vectors.get(20) ?? assert.fail(), 1)[0]?.id, 20);
  assert.equal(reopened.allocateId(), 31);
  await reopened.close();
  await guild.close();
});

test('guild index: snapshot is atomic and leaves only the manifest, current files and an empty journal', async (t) => {
  const dir = join(temporaryDir(t), 'g1');
  const { guild } = await GuildIndex.open(dir, options());
  const random = seededRandom(2);
  for (let n = 0; n < 5; n++) await guild.add(recordFor(guild, n), randomUnitVector(random, D));
  await guild.exclusive(() => guild.close());
  const files = readdirSync(dir).sort();
  assert.deepEqual(files, ['index-5.exact', 'journal.log', 'manifest.json', 'records-5.jsonl']);
  assert.equal(readFileSync(join(dir, 'journal.log'), 'utf8'), '');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { variant: string; dimensions: number; count: number };
  assert.deepEqual([manifest.variant, manifest.dimensions, manifest.count], ['test-variant', D, 5]);
  const { guild: reopened, replayed } = await GuildIndex.open(dir, options());
  assert.equal(replayed.length, 0);
  assert.equal(reopened.size, 5);
  await reopened.close();
});

test('guild index: opening with another embedding variant fails with INDEX_VARIANT_MISMATCH', async (t) => {
  const dir = join(temporaryDir(t), 'g1');
  const { guild } = await GuildIndex.open(dir, options());
  await guild.close();
  await assert.rejects(GuildIndex.open(dir, options({ variant: 'other-model' })), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'INDEX_VARIANT_MISMATCH');
    assert.match(error.message, /test-variant.*other-model/);
    return true;
  });
  await assert.rejects(GuildIndex.open(dir, options({ dimensions: 64 })), { code: 'INDEX_VARIANT_MISMATCH' });
});

test('guild index: compaction at snapshot time drops deleted HNSW nodes and falls back to exact when small', async (t) => {
  const dir = join(temporaryDir(t), 'g1');
  const { guild } = await GuildIndex.open(dir, options());
  const random = seededRandom(3);
  for (let n = 0; n < 40; n++) await guild.add(recordFor(guild, n), randomUnitVector(random, D));
  assert.equal(guild.indexKind, 'hnsw');
  await guild.remove(Array.from({ length: 30 }, (_, i) => i + 1));
  await guild.snapshot();
  assert.equal(guild.indexKind, 'exact');
  assert.equal(guild.size, 10);
  await guild.close();
});

/** Adds `count` random vectors through the guild; returns them by id. */
async function addRandom(guild: GuildIndex, count: number, seed: number, vectors = new Map<number, Float32Array>()): Promise<Map<number, Float32Array>> {
  const random = seededRandom(seed);
  const items = Array.from({ length: count }, (_, n) => ({ record: recordFor(guild, seed * 10_000 + n), vector: randomUnitVector(random, D) }));
  await guild.addMany(items);
  for (const { record, vector } of items) vectors.set(record.id, vector);
  return vectors;
}

function nearest(vectors: Map<number, Float32Array>, query: Float32Array, k: number): number[] {
  const score = (v: Float32Array): number => v.reduce((sum, x, i) => sum + x * (query[i] ?? 0), 0);
  return [...vectors].sort((a, b) => score(b[1]) - score(a[1])).slice(0, k).map(([id]) => id);
}

/** Background rebuilds from 100 vectors, one vector per slice; 3000 random vectors, then those `removed` picks deleted. */
async function guildWithDeletions(t: TestContext, seed: number, removed: (id: number) => boolean) {
  const dir = join(temporaryDir(t), 'g1');
  const { guild } = await GuildIndex.open(dir, options({ backgroundRebuildMinSize: 100, rebuildSliceMs: 0 }));
  const vectors = await addRandom(guild, 3000, seed);
  const ids = [...vectors.keys()].filter(removed);
  await guild.remove(ids);
  for (const id of ids) vectors.delete(id);
  return { dir, guild, vectors, removed: ids };
}

test('guild index: a large rebuild runs in the background; what changes meanwhile reaches the new index', async (t) => {
  const { dir, guild, vectors, removed } = await guildWithDeletions(t, 1, (id) => id % 3 === 0);
  const seqBefore = (await readManifest(dir))?.seq;
  await guild.exclusive(() => guild.snapshot()); // 33% deleted: compaction, in the background
  assert.equal(guild.rebuilding, true);
  assert.equal((await readManifest(dir))?.seq, seqBefore, 'no snapshot until the rebuild ends');
  // Meanwhile the guild keeps working on its current index.
  await addRandom(guild, 50, 2, vectors);
  await guild.remove([1, 2, 4]);
  for (const id of [1, 2, 4]) vectors.delete(id);
  const query = vectors.get(3001) ?? new Float32Array(D);
  assert.equal(guild.search(query, 1)[0]?.id, 3001);
  await guild.exclusive(() => guild.snapshot()); // deferred while rebuilding
  assert.equal(guild.rebuilding, true, 'the rebuild was still running during the changes');
  await guild.rebuilt();
  assert.equal(guild.rebuilding, false);
  assert.equal(guild.size, vectors.size);
  for (const [id, vector] of vectors) assert.deepEqual(guild.getVector(id), vector, `vector ${id}`);
  for (const id of [1, 2, 4, ...removed.slice(0, 20)]) assert.equal(guild.getVector(id), undefined);
  assert.deepEqual(guild.search(query, 10).map((hit) => hit.id), nearest(vectors, query, 10));
  assert.equal((await readManifest(dir))?.count, vectors.size, 'a snapshot follows the swap');
  await guild.exclusive(() => guild.close());
  const { guild: reopened, replayed } = await GuildIndex.open(dir, options());
  t.after(() => reopened.close());
  assert.equal(replayed.length, 0);
  for (const [id, vector] of vectors) assert.deepEqual(reopened.getVector(id), vector, `vector ${id} after reopen`);
});

test('guild index: closing during a background rebuild cancels it and loses nothing', async (t) => {
  const { dir, guild, vectors } = await guildWithDeletions(t, 3, (id) => id % 2 === 0);
  await guild.exclusive(() => guild.snapshot());
  assert.equal(guild.rebuilding, true);
  await addRandom(guild, 10, 4, vectors);
  await guild.exclusive(() => guild.close());
  await guild.rebuilt();
  const { guild: reopened } = await GuildIndex.open(dir, options({ backgroundRebuildMinSize: 100, rebuildSliceMs: 0 }));
  assert.equal(reopened.size, vectors.size);
  for (const [id, vector] of vectors) assert.deepEqual(reopened.getVector(id), vector, `vector ${id}`);
  await reopened.exclusive(() => reopened.snapshot()); // still half deleted: the rebuild starts again and completes
  await reopened.rebuilt();
  assert.deepEqual(reopened.search(vectors.get(2999) ?? new Float32Array(D), 5).map((hit) => hit.id), nearest(vectors, vectors.get(2999) ?? new Float32Array(D), 5));
  await reopened.exclusive(() => reopened.close());
});

/** Whether any file under `dir` holds the vector's float32 bytes. */
function vectorInFiles(dir: string, vector: Float32Array): boolean {
  const bytes = Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
  return readdirSync(dir, { recursive: true, withFileTypes: true }).some((entry) => entry.isFile() && readFileSync(join(entry.parentPath, entry.name)).includes(bytes));
}

test('guild index: a compaction stopped by a close is resumed at the next open, and then no file holds the removed vectors', async (t) => {
  const dir = join(temporaryDir(t), 'g1');
  const background = options({ backgroundRebuildMinSize: 100, rebuildSliceMs: 0 });
  const { guild } = await GuildIndex.open(dir, background);
  const vectors = await addRandom(guild, 400, 5);
  await guild.exclusive(() => guild.snapshot());
  const forgotten = [...vectors.keys()].filter((id) => id % 7 === 0);
  const removedVectors = forgotten.map((id) => guild.getVector(id) ?? assert.fail(`vector ${id}`));
  await guild.exclusive(async () => {
    await guild.remove(forgotten);
    await guild.compact(); // 400 > 100: in the background
  });
  assert.equal(guild.rebuilding, true);
  await guild.exclusive(() => guild.close()); // stops it: the snapshot keeps the deletion marks
  assert.equal((await readManifest(dir))?.compactPending, true);
  assert.ok(removedVectors.some((vector) => vectorInFiles(dir, vector)), 'the interrupted compaction left removed vectors on disk');

  const { guild: reopened } = await GuildIndex.open(dir, background);
  t.after(() => reopened.exclusive(() => reopened.close()));
  assert.equal(reopened.compactPending, true);
  await reopened.exclusive(() => reopened.compact()); // what the store does when it loads such a guild
  await reopened.rebuilt();
  assert.equal(reopened.compactPending, false);
  assert.equal((await readManifest(dir))?.compactPending, false);
  assert.ok(removedVectors.every((vector) => !vectorInFiles(dir, vector)), 'no file holds a removed vector');
  assert.equal(reopened.size, 400 - forgotten.length);
  for (const id of forgotten) assert.equal(reopened.getVector(id), undefined);
});

test('guild index: rejects guild ids that could escape the data directory', async (t) => {
  const dir = temporaryDir(t);
  await assert.rejects(GuildIndex.open(join(dir, 'x'), options({ guildId: '../evil' })), { code: 'INVALID_INPUT' });
});
