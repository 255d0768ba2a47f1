/**
 * The ImageStore contract (src/store/types.ts) as one suite, run against every implementation:
 * test/store/image-store.test.ts (the file store: index files + keyv) and test/store/postgres.test.ts (pgvector).
 * Implementation-specific behaviour (journal, eviction, transactions, partitions) is tested beside them.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { ImageRecord, ImageStore } from '../../src/store/types.ts';
import { embeddingOf, nearby, randomUnitVector, seededRandom, sha256, sourceOf } from './helpers.ts';

/** Dimensions of the contract's vectors. */
export const CONTRACT_DIMENSIONS = 32;
export const CONTRACT_VARIANT = 'test-variant';

export interface StoreUnderTest {
  /** A fresh, empty place for a store (a directory, a schema); cleaned up by the implementation's test file. */
  newPlace(t: TestContext): Promise<string>;
  /** Opens the store kept at `place` with CONTRACT_DIMENSIONS, accepting `variant` (undefined: read and remove only). */
  open(place: string, variant: string | undefined): Promise<ImageStore>;
  /** Why the suite cannot run here (a missing server); undefined runs it. */
  skip?: string | undefined;
}

export function describeImageStoreContract(name: string, subject: StoreUnderTest): void {
  const D = CONTRACT_DIMENSIONS;

  /** Opens a store in a fresh place, closed after the test; undefined when the suite is skipped. */
  async function freshStore(t: TestContext): Promise<{ store: ImageStore; place: string } | undefined> {
    if (subject.skip !== undefined) {
      console.warn(`SKIPPED: ${subject.skip}`);
      t.skip(subject.skip);
      return undefined;
    }
    const place = await subject.newPlace(t);
    const store = await subject.open(place, CONTRACT_VARIANT);
    t.after(() => store.close());
    return { store, place };
  }

  test(`${name}: add is idempotent per (guild, sourceKey) and records round-trip with their signature`, async (t) => {
    const opened = await freshStore(t);
    if (opened === undefined) return;
    const { store } = opened;
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
    assert.ok(Math.abs((stored[0] ?? 0) - (vector[0] ?? 0)) < 1e-3); // halfvec keeps ~3 significant digits
    assert.equal(await store.getVector('g1', first.id + 1000), undefined);
  });

  test(`${name}: findByHash finds exact duplicates; findSimilar ranks by cosine and honours the filter`, async (t) => {
    const opened = await freshStore(t);
    if (opened === undefined) return;
    const { store } = opened;
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
    assert.deepEqual(similar[0]?.record, records[0]);

    const filtered = await store.findSimilar('g1', base, { k: 3, filter: (r) => r.sourceKey !== 'a0' && r.channelId !== 'c1' });
    assert.deepEqual(filtered.map((s) => s.record.sourceKey)[0], 'a2');
    assert.ok(filtered.every((s) => s.record.sourceKey !== 'a0' && s.record.channelId !== 'c1'));
    assert.equal(filtered.length, 3);
    assert.deepEqual(await store.findSimilar('g1', base, { k: 0 }), []);
  });

  test(`${name}: nothing crosses guilds`, async (t) => {
    const opened = await freshStore(t);
    if (opened === undefined) return;
    const { store } = opened;
    const vector = randomUnitVector(seededRandom(3), D);
    const inA = await store.add(sourceOf('guildA', 1), sha256('x'), embeddingOf(vector));
    const inB = await store.add(sourceOf('guildB', 1), sha256('x'), embeddingOf(vector));
    assert.equal(inA.id, inB.id); // ids are per guild; the records are still distinct
    assert.equal(inB.guildId, 'guildB');
    assert.deepEqual((await store.findSimilar('guildA', vector, { k: 10 })).map((s) => s.record.guildId), ['guildA']);
    assert.deepEqual((await store.findByHash('guildB', sha256('x'))).map((r) => r.guildId), ['guildB']);
    assert.deepEqual(await store.findSimilar('guildC', vector, { k: 10 }), []);
    assert.equal(await store.getBySource('guildC', 'a1'), undefined);
    assert.equal(await store.getVector('guildC', inA.id), undefined);
    assert.equal(await store.removeGuild('guildA'), 1);
    assert.deepEqual(await store.findSimilar('guildA', vector, { k: 10 }), []);
    assert.equal((await store.findSimilar('guildB', vector, { k: 10 })).length, 1);
    assert.deepEqual(await store.stats(), [{ id: 'guildB', images: 1 }]);
    await assert.rejects(store.findByHash('../guildB', sha256('x')), { code: 'INVALID_INPUT' });
    await assert.rejects(store.findSimilar("guildB' OR 1=1", vector, { k: 1 }), { code: 'INVALID_INPUT' });
  });

  test(`${name}: removeMessage, removeChannel and removeGuild remove records from search, lookups and listings, durably`, async (t) => {
    const opened = await freshStore(t);
    if (opened === undefined) return;
    const { store, place } = opened;
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

    const reopened = await subject.open(place, CONTRACT_VARIANT);
    t.after(() => reopened.close());
    assert.deepEqual(await reopened.stats(), [{ id: 'g1', images: 6 }]);
    assert.equal((await reopened.findSimilar('g1', vectors[3] ?? assert.fail(), { k: 1 }))[0]?.record.sourceKey, 'a3');
    assert.equal(await reopened.removeGuild('g1'), 6);
    assert.equal(await reopened.removeGuild('g1'), 0);
    assert.deepEqual(await reopened.stats(), []);
    assert.equal(await reopened.getBySource('g1', 'a3'), undefined);
    const listedAfter: ImageRecord[] = [];
    for await (const record of reopened.listRecords('g1')) listedAfter.push(record);
    assert.deepEqual(listedAfter, []);
  });

  test(`${name}: removeAuthor removes every image of one member in one guild, durably, and nothing else`, async (t) => {
    const opened = await freshStore(t);
    if (opened === undefined) return;
    const { store, place } = opened;
    const random = seededRandom(12);
    const vectors: Float32Array[] = [];
    for (let n = 0; n < 15; n++) {
      vectors.push(randomUnitVector(random, D));
      await store.add(sourceOf('g1', n), sha256(`img${n}`), embeddingOf(vectors[n] ?? assert.fail(), n));
    }
    const elsewhere = await store.add(sourceOf('g2', 1), sha256('img1'), embeddingOf(vectors[1] ?? assert.fail(), 1)); // u1 in another guild
    assert.equal(await store.removeAuthor('g1', 'u1'), 3); // sources 1, 6, 11
    assert.equal(await store.removeAuthor('g1', 'u1'), 0);
    assert.equal(await store.removeAuthor('g1', 'nobody'), 0);
    assert.equal(await store.removeAuthor('unknown-guild', 'u1'), 0);
    const check = async (reader: ImageStore): Promise<void> => {
      for (const n of [1, 6, 11]) {
        const hits = await reader.findSimilar('g1', vectors[n] ?? assert.fail(), { k: 20 });
        assert.equal(hits.length, 12);
        assert.ok(hits.every((hit) => hit.record.authorId !== 'u1'), 'no search returns their images');
        assert.equal(await reader.getBySource('g1', `a${n}`), undefined);
        assert.deepEqual(await reader.findByHash('g1', sha256(`img${n}`)), []);
      }
      const listed: string[] = [];
      for await (const record of reader.listRecords('g1')) listed.push(record.authorId);
      assert.equal(listed.length, 12);
      assert.ok(!listed.includes('u1'));
      assert.deepEqual(await reader.stats(), [{ id: 'g1', images: 12 }, { id: 'g2', images: 1 }]);
      assert.deepEqual((await reader.findSimilar('g2', vectors[1] ?? assert.fail(), { k: 1 }))[0]?.record.id, elsewhere.id, 'other guilds keep theirs');
    };
    await check(store);
    await store.close();
    const reopened = await subject.open(place, CONTRACT_VARIANT);
    t.after(() => reopened.close());
    await check(reopened);
  });

  test(`${name}: listRecords pages through guilds larger than one page`, async (t) => {
    const opened = await freshStore(t);
    if (opened === undefined) return;
    const { store } = opened;
    const random = seededRandom(11);
    const count = 520; // more than one page (500) of either store
    for (let n = 0; n < count; n++) await store.add(sourceOf('big', n), sha256(`big${n}`), embeddingOf(randomUnitVector(random, D), n));
    const seen = new Set<string>();
    for await (const record of store.listRecords('big')) seen.add(record.sourceKey);
    assert.equal(seen.size, count);
  });

  test(`${name}: addMany adds a guild's images in one call, in order, idempotent per source like add, durably`, async (t) => {
    const opened = await freshStore(t);
    if (opened === undefined) return;
    const { store, place } = opened;
    const random = seededRandom(11);
    const vectors = Array.from({ length: 6 }, () => randomUnitVector(random, D));
    const image = (n: number, overrides = {}) => ({ source: sourceOf('g1', n, overrides), contentHash: sha256(`img${n}`), embedding: embeddingOf(vectors[n] ?? assert.fail(), n) });
    assert.deepEqual(await store.addMany([]), []);
    const earlier = await store.add(sourceOf('g1', 0), sha256('img0'), embeddingOf(vectors[0] ?? assert.fail(), 0));
    // Source 0 is stored already and source 2 comes twice: both give the one record of their source.
    const records = await store.addMany([image(1), image(0, { label: 'renamed' }), image(2), image(3), image(2, { label: 'again' })]);
    assert.deepEqual(records.map((record) => record.sourceKey), ['a1', 'a0', 'a2', 'a3', 'a2']);
    assert.deepEqual(records[1], earlier);
    assert.deepEqual(records[4], records[2]);
    assert.equal(new Set(records.map((record) => record.id)).size, 4);
    assert.equal(records[2]?.label, 'image-2.png');
    assert.deepEqual(await store.stats(), [{ id: 'g1', images: 4 }]);
    assert.equal((await store.findSimilar('g1', vectors[3] ?? assert.fail(), { k: 1 }))[0]?.record.sourceKey, 'a3');
    await assert.rejects(store.addMany([image(4), { ...image(5), source: sourceOf('g2', 5) }]), { code: 'INVALID_INPUT' });
    await assert.rejects(store.addMany([image(4), { ...image(5), contentHash: 'not-a-hash' }]), { code: 'INVALID_INPUT' });
    assert.equal(await store.getBySource('g1', 'a4'), undefined);
    await store.close();

    const reopened = await subject.open(place, CONTRACT_VARIANT);
    t.after(() => reopened.close());
    assert.deepEqual(await reopened.stats(), [{ id: 'g1', images: 4 }]);
    assert.deepEqual(await reopened.getBySource('g1', 'a2'), records[2]);
    const next = await reopened.add(sourceOf('g1', 4), sha256('img4'), embeddingOf(vectors[4] ?? assert.fail(), 4));
    assert.ok(records.every((record) => record.id < next.id), 'ids allocated by addMany are not handed out again');
  });

  test(`${name}: concurrent adds of the same source yield one record`, async (t) => {
    const opened = await freshStore(t);
    if (opened === undefined) return;
    const { store } = opened;
    const vector = randomUnitVector(seededRandom(6), D);
    const results = await Promise.all(Array.from({ length: 8 }, () => store.add(sourceOf('g1', 1), sha256('a'), embeddingOf(vector))));
    assert.ok(results.every((r) => r.id === results[0]?.id));
    assert.deepEqual(await store.stats(), [{ id: 'g1', images: 1 }]);
  });

  test(`${name}: bad input is rejected with typed errors and stores nothing`, async (t) => {
    const opened = await freshStore(t);
    if (opened === undefined) return;
    const { store } = opened;
    const vector = randomUnitVector(seededRandom(7), D);
    await assert.rejects(store.add(sourceOf('g1', 1), 'not-a-hash', embeddingOf(vector)), { code: 'INVALID_INPUT' });
    await assert.rejects(store.add(sourceOf('g1', 1), sha256('a'), embeddingOf(new Float32Array(D + 1))), { code: 'INVALID_INPUT' });
    await assert.rejects(store.add(sourceOf('g1', 1), sha256('a'), embeddingOf(new Float32Array(D))), { code: 'INVALID_INPUT' });
    await assert.rejects(store.add(sourceOf('g1', 1, { sourceKey: '' }), sha256('a'), embeddingOf(vector)), { code: 'INVALID_INPUT' });
    await assert.rejects(store.findSimilar('g1', new Float32Array(3), { k: 1 }), { code: 'INVALID_INPUT' });
    assert.deepEqual(await store.stats(), []);
  });

  test(`${name}: a store opened with another variant refuses the existing guild; one opened without a variant reads but cannot add`, async (t) => {
    const opened = await freshStore(t);
    if (opened === undefined) return;
    const { store, place } = opened;
    const vector = randomUnitVector(seededRandom(8), D);
    await store.add(sourceOf('g1', 1), sha256('a'), embeddingOf(vector));
    await store.close();
    const other = await subject.open(place, 'another-model');
    t.after(() => other.close());
    await assert.rejects(other.findSimilar('g1', randomUnitVector(seededRandom(9), D), { k: 1 }), { code: 'INDEX_VARIANT_MISMATCH' });
    await assert.rejects(other.add(sourceOf('g1', 2), sha256('b'), embeddingOf(vector)), { code: 'INDEX_VARIANT_MISMATCH' });
    await other.close();
    const reader = await subject.open(place, undefined);
    t.after(() => reader.close());
    assert.equal((await reader.findSimilar('g1', vector, { k: 1 }))[0]?.record.sourceKey, 'a1');
    await assert.rejects(reader.add(sourceOf('g1', 2), sha256('b'), embeddingOf(vector)), { code: 'INVALID_INPUT' });
  });
}
