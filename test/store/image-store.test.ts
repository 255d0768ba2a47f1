/**
 * The file store (hnswlib/exact indexes + keyv): the shared ImageStore contract (./contract.ts) plus what
 * only this implementation has (guild directories, LRU eviction, journal rollback of failed keyv writes).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { openFileStore, type FileStoreOptions } from '../../src/store/file-store.ts';
import { CONTRACT_DIMENSIONS, CONTRACT_VARIANT, describeImageStoreContract } from './contract.ts';
import { embeddingOf, randomUnitVector, seededRandom, sha256, sourceOf, temporaryDir } from './helpers.ts';

const D = CONTRACT_DIMENSIONS;
const storeOptions = (dataDir: string, overrides: Partial<FileStoreOptions> = {}): FileStoreOptions => ({
  dataDir,
  variant: CONTRACT_VARIANT,
  dimensions: D,
  snapshotIntervalMs: 0,
  indexPolicy: { exactSearchMaxImages: 50, hnsw: { m: 8, efConstruction: 64, efSearch: 32 } },
  ...overrides,
});

describeImageStoreContract('file store', {
  newPlace: (t) => Promise.resolve(temporaryDir(t)),
  open: (dataDir, variant) => openFileStore(storeOptions(dataDir, { variant })),
});

test('store: removeGuild deletes the guild directory', async (t) => {
  const dataDir = temporaryDir(t);
  const store = await openFileStore(storeOptions(dataDir));
  t.after(() => store.close());
  await store.add(sourceOf('g1', 1), sha256('a'), embeddingOf(randomUnitVector(seededRandom(4), D)));
  assert.equal(existsSync(join(dataDir, 'guilds', 'g1')), true);
  assert.equal(await store.removeGuild('g1'), 1);
  assert.equal(existsSync(join(dataDir, 'guilds', 'g1')), false);
});

test('store: idle guild indexes are evicted beyond maxLoadedGuilds and reload transparently', async (t) => {
  const store = await openFileStore(storeOptions(temporaryDir(t), { maxLoadedGuilds: 3 }));
  t.after(() => store.close());
  const random = seededRandom(5);
  const vectors = new Map<string, Float32Array>();
  for (let g = 0; g < 12; g++) {
    const vector = randomUnitVector(random, D);
    vectors.set(`g${g}`, vector);
    await store.add(sourceOf(`g${g}`, g), sha256(`g${g}`), embeddingOf(vector));
  }
  await new Promise((resolve) => setTimeout(resolve, 50)); // evictions finish in the background
  assert.ok(store.loadedGuilds().length <= 3, `loaded: ${store.loadedGuilds().join(',')}`);
  for (let g = 0; g < 12; g++) {
    const hits = await store.findSimilar(`g${g}`, vectors.get(`g${g}`) ?? assert.fail(), { k: 5 });
    assert.deepEqual(hits.map((h) => h.record.guildId), [`g${g}`]);
  }
  assert.equal((await store.stats()).length, 12);
});

test('store: when the metadata write fails, the add rejects with STORE_FAILED and leaves nothing behind', async (t) => {
  const dataDir = temporaryDir(t);
  // A real PostgreSQL client aimed at a closed port: every keyv write fails.
  const store = await openFileStore(storeOptions(dataDir, { keyvUrl: 'postgresql://postgres@127.0.0.1:1/postgres' }));
  const vector = randomUnitVector(seededRandom(10), D);
  await assert.rejects(store.add(sourceOf('g1', 1), sha256('a'), embeddingOf(vector)), { code: 'STORE_FAILED' });
  assert.deepEqual(await store.stats(), [{ id: 'g1', images: 0 }]);
  await store.close().catch(() => undefined);
  // Reopened (journal replayed: the add and its rollback), the record is still absent.
  const reopened = await openFileStore(storeOptions(dataDir));
  t.after(() => reopened.close());
  assert.deepEqual(await reopened.stats(), [{ id: 'g1', images: 0 }]);
  assert.deepEqual(await reopened.findSimilar('g1', vector, { k: 1 }), []);
});

/** Every file under `dir` (snapshot directories of pca-hnsw included), read whole. */
async function filesUnder(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) files.set(join(entry.parentPath, entry.name), await readFile(join(entry.parentPath, entry.name)));
  }
  return files;
}

/** Files holding the vector: its float32 bytes (index snapshots) or their base64 (journal lines). */
function filesHolding(files: Map<string, Buffer>, vector: Float32Array): string[] {
  const bytes = Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
  const base64 = Buffer.from(bytes.toString('base64'));
  return [...files].filter(([, content]) => content.includes(bytes) || content.includes(base64)).map(([path]) => path);
}

for (const { kind, images } of [
  { kind: 'exact scan', images: 30 },
  { kind: 'HNSW', images: 90 },
]) {
  test(`store: after removeAuthor no file of the guild holds the member's vectors or records (${kind})`, async (t) => {
    const dataDir = temporaryDir(t);
    const store = await openFileStore(storeOptions(dataDir));
    t.after(() => store.close());
    const random = seededRandom(13);
    const records = [];
    // Two thirds go into a snapshot (index file), the rest stays in the journal only.
    const snapshotted = Math.floor((images * 2) / 3);
    for (let n = 0; n < images; n++) {
      records.push(await store.add(sourceOf('g1', n, { authorId: n % 3 === 0 ? 'forgotten' : `u${n % 5}` }), sha256(`img${n}`), embeddingOf(randomUnitVector(random, D), n)));
      if (n === snapshotted - 1) await store.flush();
    }
    const dir = join(dataDir, 'guilds', 'g1');
    const theirs = records.filter((record) => record.authorId === 'forgotten');
    const stored = new Map<number, Float32Array>();
    for (const record of records) stored.set(record.id, (await store.getVector('g1', record.id)) ?? assert.fail(`vector ${record.id}`));
    const before = await filesUnder(dir);
    // The check can fail: before forgetting, every vector is in some file (snapshot or journal).
    for (const record of theirs) assert.ok(filesHolding(before, stored.get(record.id) ?? assert.fail()).length > 0, `vector ${record.id} on disk before`);
    assert.ok(theirs.some((record) => record.id <= snapshotted) && theirs.some((record) => record.id > snapshotted), 'some in the snapshot, some in the journal');

    assert.equal(await store.removeAuthor('g1', 'forgotten'), theirs.length);

    const after = await filesUnder(dir);
    for (const record of theirs) assert.deepEqual(filesHolding(after, stored.get(record.id) ?? assert.fail()), [], `vector ${record.id} left on disk`);
    for (const record of records.filter((other) => other.authorId !== 'forgotten').slice(0, 5)) {
      assert.ok(filesHolding(after, stored.get(record.id) ?? assert.fail()).length > 0, `others' vectors stay (${record.id})`);
    }
    const text = [...after.values()].map((content) => content.toString('latin1')).join('\n');
    assert.ok(!text.includes('"forgotten"'), 'no record of theirs in the snapshot rows or the journal');
    assert.equal((await readFile(join(dir, 'journal.log'))).length, 0, 'journal emptied');
  });
}
