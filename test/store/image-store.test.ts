import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openImageStore, type ImageStoreOptions } from '../../src/store/index.ts';
import type { ImageRecord } from '../../src/store/types.ts';
import { embeddingOf, nearby, randomUnitVector, seededRandom, sha256, sourceOf, temporaryDir } from './helpers.ts';

const D = 32;
const storeOptions = (dataDir: string, overrides: Partial<ImageStoreOptions> = {}): ImageStoreOptions => ({
  dataDir,
  variant: 'test-variant',
  dimensions: D,
  snapshotIntervalMs: 0,
  indexPolicy: { exactMaxSize: 50, hnsw: { m: 8, efConstruction: 64, efSearch: 32 } },
  ...overrides,
});

test('store: add is idempotent per (guild, sourceKey) and records round-trip with their signature', async (t) => {
  const store = await openImageStore(storeOptions(temporaryDir(t)));
  t.after(() => store.close());
  const vector = randomUnitVector(seededRandom(1), D);
  const first = await store.add(sourceOf('g1', 1), sha256('one'), embeddingOf(vector, 1));
  const again = await store.add(sourceOf('g1', 1, { label: 'renamed' }), sha256('other'), embeddingOf(vector, 2));
  assert.deepEqual(again, first);
  assert.equal(first.label, 'image-1.png');
  assert.deepEqual(first.signature, embeddingOf(vector, 1).signature);
  assert.deepEqual(await store.getBySource('g1', 'a1'), first);
  assert.deepEqual(await store.stats(), [{ id: 'g1', images: 1 }]);
  const stored = await store.getVector('g1', first.id);
  assert.ok(stored !== undefined);
  assert.ok(Math.abs((stored[0] ?? 0) - (vector[0] ?? 0)) < 1e-6);
});

test('store: findByHash finds exact duplicates; findSimilar ranks by cosine and honours the filter', async (t) => {
  const store = await openImageStore(storeOptions(temporaryDir(t)));
  t.after(() => store.close());
  const random = seededRandom(2);
  const base = randomUnitVector(random, D);
  const records: ImageRecord[] = [];
  for (let n = 0; n < 20; n++) {
    const vector = n < 3 ? nearby(random, base, 0.05 * (n + 1)) : randomUnitVector(random, D);
    records.push(await store.add(sourceOf('g1', n), sha256(n === 4 ? 'same' : n === 5 ? 'same' : `img${n}`), embeddingOf(vector, n)));
  }
  const sameHash = await store.findByHash('g1', sha256('same'));
  assert.deepEqual(sameHash.map((r) => r.sourceKey).sort(), ['a4', 'a5']);
  assert.deepEqual(await store.findByHash('g1', sha256('none')), []);

  const similar = await store.findSimilar('g1', base, { k: 3 });
  assert.deepEqual(similar.map((s) => s.record.sourceKey), ['a0', 'a1', 'a2']);
  assert.ok(similar[0] !== undefined && similar[0].score > 0.95);
  assert.ok(similar.every((s, i) => i === 0 || (similar[i - 1]?.score ?? 0) >= s.score));
  assert.equal(similar[0]?.record.signature.length, 1024);

  const filtered = await store.findSimilar('g1', base, { k: 3, filter: (r) => r.sourceKey !== 'a0' && r.channelId !== 'c1' });
  assert.deepEqual(filtered.map((s) => s.record.sourceKey)[0], 'a2');
  assert.ok(filtered.every((s) => s.record.sourceKey !== 'a0' && s.record.channelId !== 'c1'));
  assert.equal(filtered.length, 3);
});

test('store: nothing crosses guilds', async (t) => {
  const store = await openImageStore(storeOptions(temporaryDir(t)));
  t.after(() => store.close());
  const vector = randomUnitVector(seededRandom(3), D);
  const inA = await store.add(sourceOf('guildA', 1), sha256('x'), embeddingOf(vector));
  const inB = await store.add(sourceOf('guildB', 1), sha256('x'), embeddingOf(vector));
  assert.equal(inA.id, inB.id); // ids are per guild; the records are still distinct
  assert.equal(inB.guildId, 'guildB');
  assert.deepEqual((await store.findSimilar('guildA', vector, { k: 10 })).map((s) => s.record.guildId), ['guildA']);
  assert.deepEqual((await store.findByHash('guildB', sha256('x'))).map((r) => r.guildId), ['guildB']);
  assert.deepEqual(await store.findSimilar('guildC', vector, { k: 10 }), []);
  assert.equal(await store.getBySource('guildC', 'a1'), undefined);
  assert.equal(await store.removeGuild('guildA'), 1);
  assert.deepEqual(await store.findSimilar('guildA', vector, { k: 10 }), []);
  assert.equal((await store.findSimilar('guildB', vector, { k: 10 })).length, 1);
  assert.deepEqual(await store.stats(), [{ id: 'guildB', images: 1 }]);
  await assert.rejects(store.findByHash('../guildB', sha256('x')), { code: 'INVALID_INPUT' });
});

test('store: removeMessage, removeChannel and removeGuild remove records from search, lookups and keyv', async (t) => {
  const dataDir = temporaryDir(t);
  const store = await openImageStore(storeOptions(dataDir));
  const random = seededRandom(4);
  const vectors: Float32Array[] = [];
  for (let n = 0; n < 12; n++) {
    vectors.push(randomUnitVector(random, D));
    await store.add(sourceOf('g1', n), sha256(`img${n}`), embeddingOf(vectors[n] ?? assert.fail(), n));
  }
  assert.equal(await store.removeMessage('g1', 'm0'), 2); // sources 0 and 1
  assert.equal(await store.removeMessage('g1', 'm0'), 0);
  assert.equal(await store.getBySource('g1', 'a0'), undefined);
  assert.equal(await store.removeChannel('g1', 'c2'), 4); // 2, 5, 8, 11
  const left = await store.findSimilar('g1', vectors[5] ?? assert.fail(), { k: 20 });
  assert.equal(left.length, 6);
  assert.ok(left.every((s) => s.record.channelId !== 'c2' && s.record.messageId !== 'm0'));
  const listed: string[] = [];
  for await (const record of store.listRecords('g1')) listed.push(record.sourceKey);
  assert.deepEqual(listed.sort(), ['a10', 'a3', 'a4', 'a6', 'a7', 'a9']);
  await store.close();

  const reopened = await openImageStore(storeOptions(dataDir));
  t.after(() => reopened.close());
  assert.deepEqual(await reopened.stats(), [{ id: 'g1', images: 6 }]);
  assert.equal((await reopened.findSimilar('g1', vectors[3] ?? assert.fail(), { k: 1 }))[0]?.record.sourceKey, 'a3');
  assert.equal(await reopened.removeGuild('g1'), 6);
  assert.equal(existsSync(join(dataDir, 'guilds', 'g1')), false);
  assert.deepEqual(await reopened.stats(), []);
  assert.equal(await reopened.getBySource('g1', 'a3'), undefined);
});

test('store: idle guild indexes are evicted beyond maxLoadedGuilds and reload transparently', async (t) => {
  const store = await openImageStore(storeOptions(temporaryDir(t), { maxLoadedGuilds: 3 }));
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

test('store: concurrent adds of the same source yield one record', async (t) => {
  const store = await openImageStore(storeOptions(temporaryDir(t)));
  t.after(() => store.close());
  const vector = randomUnitVector(seededRandom(6), D);
  const results = await Promise.all(Array.from({ length: 8 }, () => store.add(sourceOf('g1', 1), sha256('a'), embeddingOf(vector))));
  assert.ok(results.every((r) => r.id === results[0]?.id));
  assert.deepEqual(await store.stats(), [{ id: 'g1', images: 1 }]);
});

test('store: bad input is rejected with typed errors and stores nothing', async (t) => {
  const store = await openImageStore(storeOptions(temporaryDir(t)));
  t.after(() => store.close());
  const vector = randomUnitVector(seededRandom(7), D);
  await assert.rejects(store.add(sourceOf('g1', 1), 'not-a-hash', embeddingOf(vector)), { code: 'INVALID_INPUT' });
  await assert.rejects(store.add(sourceOf('g1', 1), sha256('a'), embeddingOf(new Float32Array(D + 1))), { code: 'INVALID_INPUT' });
  await assert.rejects(store.add(sourceOf('g1', 1), sha256('a'), embeddingOf(new Float32Array(D))), { code: 'INVALID_INPUT' });
  await assert.rejects(store.add(sourceOf('g1', 1, { sourceKey: '' }), sha256('a'), embeddingOf(vector)), { code: 'INVALID_INPUT' });
  await assert.rejects(store.findSimilar('g1', new Float32Array(3), { k: 1 }), { code: 'INVALID_INPUT' });
  assert.deepEqual(await store.stats(), []);
});

test('store: a store opened with another variant refuses the existing index', async (t) => {
  const dataDir = temporaryDir(t);
  const store = await openImageStore(storeOptions(dataDir));
  await store.add(sourceOf('g1', 1), sha256('a'), embeddingOf(randomUnitVector(seededRandom(8), D)));
  await store.close();
  const other = await openImageStore(storeOptions(dataDir, { variant: 'another-model' }));
  t.after(() => other.close());
  await assert.rejects(other.findSimilar('g1', randomUnitVector(seededRandom(9), D), { k: 1 }), { code: 'INDEX_VARIANT_MISMATCH' });
});

test('store: when the metadata write fails, the add rejects with STORE_FAILED and leaves nothing behind', async (t) => {
  const dataDir = temporaryDir(t);
  // A real PostgreSQL client aimed at a closed port: every keyv write fails.
  const store = await openImageStore(storeOptions(dataDir, { keyvUrl: 'postgresql://postgres@127.0.0.1:1/postgres' }));
  const vector = randomUnitVector(seededRandom(10), D);
  await assert.rejects(store.add(sourceOf('g1', 1), sha256('a'), embeddingOf(vector)), { code: 'STORE_FAILED' });
  assert.deepEqual(await store.stats(), [{ id: 'g1', images: 0 }]);
  await store.close().catch(() => undefined);
  // Reopened (journal replayed: the add and its rollback), the record is still absent.
  const reopened = await openImageStore(storeOptions(dataDir));
  t.after(() => reopened.close());
  assert.deepEqual(await reopened.stats(), [{ id: 'g1', images: 0 }]);
  assert.deepEqual(await reopened.findSimilar('g1', vector, { k: 1 }), []);
});
