/**
 * keyv adapters against real servers: CI (.ci/run) starts Redis and PostgreSQL on loopback and exports
 * TEST_REDIS_URL / TEST_POSTGRES_URL. Without them those cases skip with a visible warning.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createKeyv, keyvAdapterName } from '../../src/store/keyv.ts';
import { openFileStore } from '../../src/store/file-store.ts';
import { embeddingOf, randomUnitVector, seededRandom, sha256, sourceOf, temporaryDir } from './helpers.ts';

const adapters: Array<{ name: string; url: string | undefined; variable?: string }> = [
  { name: 'sqlite (default)', url: undefined },
  { name: 'redis', url: process.env.TEST_REDIS_URL, variable: 'TEST_REDIS_URL' },
  { name: 'postgres', url: process.env.TEST_POSTGRES_URL, variable: 'TEST_POSTGRES_URL' },
];

function available(t: TestContext, adapter: (typeof adapters)[number]): boolean {
  if (adapter.variable === undefined || adapter.url !== undefined) return true;
  const reason = `SKIPPED: ${adapter.variable} is not set (source .ci/services.sh && start_services)`;
  console.warn(reason);
  t.skip(reason);
  return false;
}

const runId = `${process.pid}x${Date.now()}`;

for (const adapter of adapters) {
  test(`keyv ${adapter.name}: namespaces are isolated; get, getMany, delete work`, async (t) => {
    if (!available(t, adapter)) return;
    const dataDir = temporaryDir(t);
    const settings = createKeyv<{ value: number }>({ dataDir, keyvUrl: adapter.url }, `test-settings-${runId}`);
    const other = createKeyv<{ value: number }>({ dataDir, keyvUrl: adapter.url }, `test-other-${runId}`);
    try {
      await settings.set('k1', { value: 1 });
      await settings.set('k2', { value: 2 });
      await other.set('k1', { value: 100 });
      assert.deepEqual(await settings.get('k1'), { value: 1 });
      assert.deepEqual(await other.get('k1'), { value: 100 });
      assert.deepEqual(await settings.getMany(['k2', 'missing', 'k1']), [{ value: 2 }, undefined, { value: 1 }]);
      await settings.delete('k1');
      assert.equal(await settings.get('k1'), undefined);
      assert.deepEqual(await other.get('k1'), { value: 100 });
      await settings.delete('k2');
      // Closing one namespace must not break another one of the same adapter (shared pg pool).
      await settings.disconnect();
      assert.deepEqual(await other.get('k1'), { value: 100 });
      await other.delete('k1');
    } finally {
      await settings.disconnect();
      await other.disconnect();
    }
  });

  test(`keyv ${adapter.name}: setMany writes every entry (more than one statement's worth), overwriting old values`, async (t) => {
    if (!available(t, adapter)) return;
    const dataDir = temporaryDir(t);
    const records = createKeyv<{ value: number }>({ dataDir, keyvUrl: adapter.url }, `test-many-${runId}`);
    try {
      await records.set('k0', { value: -1 });
      const keys = Array.from({ length: 1234 }, (_, n) => `k${n}`);
      await records.setMany(keys.map((key, n) => ({ key, value: { value: n } })));
      const read = await records.getMany(keys);
      assert.equal(read.length, keys.length);
      assert.ok(read.every((entry, n) => entry?.value === n));
      await records.deleteMany(keys);
    } finally {
      await records.disconnect();
    }
  });

  test(`keyv ${adapter.name}: the image store works end to end and survives a reopen`, async (t) => {
    if (!available(t, adapter)) return;
    const dataDir = temporaryDir(t);
    const options = { dataDir, keyvUrl: adapter.url, variant: 'test', dimensions: 16, snapshotIntervalMs: 0 };
    const guildId = `kv${runId}`;
    const random = seededRandom(1);
    const vectors = Array.from({ length: 6 }, () => randomUnitVector(random, 16));
    const store = await openFileStore(options);
    assert.equal(store.metadataStorage, keyvAdapterName(adapter.url));
    for (const [n, vector] of vectors.entries()) await store.add(sourceOf(guildId, n), sha256(`b${n}`), embeddingOf(vector, n));
    await store.close();
    const reopened = await openFileStore(options);
    try {
      const hits = await reopened.findSimilar(guildId, vectors[4] ?? assert.fail(), { k: 2 });
      assert.equal(hits[0]?.record.sourceKey, 'a4');
      assert.deepEqual(hits[0]?.record.signature, embeddingOf(vectors[4] ?? assert.fail(), 4).signature);
      assert.equal((await reopened.findByHash(guildId, sha256('b2')))[0]?.sourceKey, 'a2');
      assert.equal(await reopened.removeGuild(guildId), 6);
    } finally {
      await reopened.close();
    }
  });
}

test('keyvAdapterName picks the adapter from the URL scheme and rejects others', () => {
  assert.equal(keyvAdapterName(undefined), 'sqlite');
  assert.equal(keyvAdapterName('redis://127.0.0.1:6379'), 'redis');
  assert.equal(keyvAdapterName('postgresql://u@h/db'), 'postgres');
  assert.equal(keyvAdapterName('postgres://u@h/db'), 'postgres');
  assert.throws(() => keyvAdapterName('mysql://h/db'), { code: 'INVALID_INPUT' });
});
