/**
 * The PostgreSQL + pgvector store against a real server (TEST_POSTGRES_URL; CI starts one with pgvector,
 * see .ci/run): the shared ImageStore contract plus what only this store has: HNSW iterative scans under
 * selective filters, migrations racing, transactions. Each store lives in its own schema, dropped at the end.
 */
import assert from 'node:assert/strict';
import { after, test, type TestContext } from 'node:test';
import pg from 'pg';
import { parseConfig } from '../../src/config.ts';
import { openConfiguredStore } from '../../src/store/open.ts';
import { openPostgresImageStore, type PostgresStoreOptions } from '../../src/store/postgres/index.ts';
import { HNSW_EF_CONSTRUCTION, HNSW_M, migrate, REDUCED_HNSW_EF_CONSTRUCTION, REDUCED_HNSW_M } from '../../src/store/postgres/migrations.ts';
import { reduceGuild } from '../../src/store/postgres/reduction.ts';
import type { ImageSource } from '../../src/store/types.ts';
import { CONTRACT_DIMENSIONS, CONTRACT_VARIANT, describeImageStoreContract } from './contract.ts';
import { embeddingOf, randomUnitVector, seededRandom, sha256, sourceOf } from './helpers.ts';

const databaseUrl = process.env.TEST_POSTGRES_URL;
const SKIP = databaseUrl === undefined ? 'TEST_POSTGRES_URL is not set (source .ci/services.sh && start_services)' : undefined;
const D = CONTRACT_DIMENSIONS;
const schemas: string[] = [];
let schemaCount = 0;

function newSchema(): string {
  const schema = `dejavu_test_${process.pid}_${Date.now() % 1_000_000}_${schemaCount++}`;
  schemas.push(schema);
  return schema;
}

function options(schema: string, overrides: Partial<PostgresStoreOptions> = {}): PostgresStoreOptions {
  return { databaseUrl: databaseUrl ?? '', variant: CONTRACT_VARIANT, dimensions: D, schema, maxConnections: 4, ...overrides };
}

after(async () => {
  if (databaseUrl === undefined || schemas.length === 0) return;
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
});

describeImageStoreContract('postgres store', {
  skip: SKIP,
  newPlace: () => Promise.resolve(newSchema()),
  open: (schema, variant) => openPostgresImageStore(options(schema, { variant })),
});

function skipWithoutServer(t: TestContext): boolean {
  if (SKIP === undefined) return false;
  console.warn(`SKIPPED: ${SKIP}`);
  t.skip(SKIP);
  return true;
}

/** A source in one of `channels` channels (n % channels), so a filter on channels keeps 1/channels of them. */
const spreadSource = (guildId: string, n: number, channels: number): ImageSource => sourceOf(guildId, n, { channelId: `ch${n % channels}`, messageId: `m${n}` });

test('postgres store: a filtered HNSW search still returns k results when only 10% of the channels pass', async (t) => {
  if (skipWithoutServer(t)) return;
  // exactSearchMaxImages 100 forces the HNSW path with iterative scans for this 2000-image guild.
  const store = await openPostgresImageStore(options(newSchema(), { exactSearchMaxImages: 100, efSearch: 20 }));
  t.after(() => store.close());
  const random = seededRandom(21);
  const vectors: Float32Array[] = [];
  for (let n = 0; n < 2000; n++) {
    vectors.push(randomUnitVector(random, D));
    await store.add(spreadSource('big', n, 10), sha256(`big${n}`), embeddingOf(vectors[n] ?? assert.fail(), n));
  }
  const visible = (channelId: string): boolean => channelId === 'ch3';
  for (let q = 0; q < 5; q++) {
    const query = randomUnitVector(random, D);
    const hits = await store.findSimilar('big', query, { k: 10, filter: (r) => visible(r.channelId) });
    assert.equal(hits.length, 10);
    assert.ok(hits.every((h) => h.record.channelId === 'ch3'));
    assert.ok(hits.every((h, i) => i === 0 || (hits[i - 1]?.score ?? 0) >= h.score), 'best first');
    // Compared with the exact answer: the iterative scan finds nearly all of the true top 10.
    const exact = vectors
      .map((v, n) => ({ n, score: v.reduce((sum, x, i) => sum + x * (query[i] ?? 0), 0) }))
      .filter(({ n }) => n % 10 === 3)
      .sort((a, b) => b.score - a.score)
      .slice(0, 10)
      .map(({ n }) => `a${n}`);
    const found = hits.filter((h) => exact.includes(h.record.sourceKey)).length;
    assert.ok(found >= 8, `recall ${found}/10`);
  }
  // A filter that almost nothing passes: the store keeps scanning (exact fallback) and finds all 3.
  const rare = new Set(['a5', 'a1234', 'a1999']);
  const few = await store.findSimilar('big', randomUnitVector(random, D), { k: 10, filter: (r) => rare.has(r.sourceKey) });
  assert.deepEqual(few.map((h) => h.record.sourceKey).sort(), ['a1234', 'a1999', 'a5']);
});

test('postgres store: two guilds in the same partitions never see each other’s rows', async (t) => {
  if (skipWithoutServer(t)) return;
  const store = await openPostgresImageStore(options(newSchema(), { exactSearchMaxImages: 10 }));
  t.after(() => store.close());
  const random = seededRandom(22);
  const shared = randomUnitVector(random, D);
  // 40 guilds over 16 partitions: several share a partition and an HNSW graph.
  for (let g = 0; g < 40; g++) {
    for (let n = 0; n < 15; n++) await store.add(sourceOf(`guild${g}`, n), sha256(`g${g}n${n}`), embeddingOf(n === 0 ? shared : randomUnitVector(random, D), n));
  }
  for (let g = 0; g < 40; g++) {
    const guildId = `guild${g}`;
    const hits = await store.findSimilar(guildId, shared, { k: 30 });
    assert.equal(hits.length, 15);
    assert.ok(hits.every((h) => h.record.guildId === guildId));
    assert.equal(hits[0]?.record.sourceKey, 'a0');
    assert.deepEqual((await store.findByHash(guildId, sha256(`g${(g + 1) % 40}n0`))), []);
  }
  assert.equal(await store.removeChannel('guild0', 'c0'), 5);
  assert.equal((await store.stats()).find((s) => s.id === 'guild1')?.images, 15);
});

test('postgres store: migrations run once when several stores open the same schema at once; reopening changes nothing', async (t) => {
  if (skipWithoutServer(t)) return;
  const schema = newSchema();
  const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresImageStore(options(schema))));
  t.after(() => Promise.all(stores.map((s) => s.close())));
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  t.after(() => client.end());
  const versions = await client.query<{ version: number }>(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
  assert.deepEqual(versions.rows.map((r) => r.version), [1, 2, 3]);
  const reopened = await openPostgresImageStore(options(schema));
  await reopened.close();
  assert.equal((await client.query(`SELECT count(*)::int AS n FROM ${schema}.schema_migrations`)).rows[0]?.n, 3);
  const partitions = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = '${schema}.images'::regclass`);
  assert.equal(partitions.rows[0]?.n, 16);
  // Every store works on the one schema: adds from all four land as distinct records.
  const random = seededRandom(23);
  await Promise.all(stores.map((store, i) => store.add(sourceOf('g1', i), sha256(`s${i}`), embeddingOf(randomUnitVector(random, D)))));
  assert.deepEqual(await stores[0]?.stats(), [{ id: 'g1', images: 4 }]);
  // The embedding column keeps its type: a store asking for another one is refused with a clear error.
  await assert.rejects(openPostgresImageStore(options(schema, { vectorType: 'vector' })), { code: 'CONFIG_INVALID' });
  await assert.rejects(openPostgresImageStore(options(schema, { dimensions: 64 })), { code: 'INDEX_VARIANT_MISMATCH' });
});

test('postgres store: a transaction that fails halfway leaves nothing half-written', async (t) => {
  if (skipWithoutServer(t)) return;
  const store = await openPostgresImageStore(options(newSchema()));
  t.after(() => store.close());
  const random = seededRandom(24);
  const first = await store.add(sourceOf('g1', 1), sha256('a'), embeddingOf(randomUnitVector(random, D)));
  // The guild row is locked and its id allocated, then the images insert violates the kind CHECK constraint.
  const bad = sourceOf('g1', 2, { kind: 'sticker' as ImageSource['kind'] });
  await assert.rejects(store.add(bad, sha256('b'), embeddingOf(randomUnitVector(random, D))), { code: 'STORE_FAILED' });
  await assert.rejects(store.add(sourceOf('g2', 1, { kind: 'sticker' as ImageSource['kind'] }), sha256('c'), embeddingOf(randomUnitVector(random, D))), {
    code: 'STORE_FAILED',
  });
  assert.deepEqual(await store.stats(), [{ id: 'g1', images: 1 }]); // no g2 guild row, g1's count unchanged
  assert.equal(await store.getBySource('g1', 'a2'), undefined);
  const next = await store.add(sourceOf('g1', 3), sha256('d'), embeddingOf(randomUnitVector(random, D)));
  assert.equal(next.id, first.id + 1); // the failed add's id allocation was rolled back too
});

test('postgres store: an unreachable server or a bad schema name is a typed error', async () => {
  await assert.rejects(openPostgresImageStore({ databaseUrl: 'postgresql://postgres@127.0.0.1:1/postgres', variant: 'v', dimensions: D }), { code: 'STORE_FAILED' });
  await assert.rejects(openPostgresImageStore({ databaseUrl: databaseUrl ?? 'postgresql://x@127.0.0.1:1/x', variant: 'v', schema: 'x; DROP TABLE y' }), {
    code: 'INVALID_INPUT',
  });
});

test('configuration: VECTOR_STORE=postgres needs DATABASE_URL; openConfiguredStore opens the PostgreSQL store in PG_SCHEMA', async (t) => {
  assert.throws(() => parseConfig({ VECTOR_STORE: 'postgres' }), (error: Error) => /VECTOR_STORE=postgres needs DATABASE_URL/.test(error.message));
  assert.throws(() => parseConfig({ VECTOR_STORE: 'postgres', DATABASE_URL: 'mysql://h/db' }), { code: 'CONFIG_INVALID' });
  assert.throws(() => parseConfig({ PG_VECTOR_TYPE: 'float16' }), { code: 'CONFIG_INVALID' });
  // hnsw.ef_search: pgvector accepts 1–1000
  assert.throws(() => parseConfig({ PG_EF_SEARCH: '0' }), { code: 'CONFIG_INVALID' });
  assert.throws(() => parseConfig({ PG_EF_SEARCH: '1001' }), { code: 'CONFIG_INVALID' });
  assert.equal(parseConfig({ PG_EF_SEARCH: '400' }).PG_EF_SEARCH, 400);
  assert.equal(parseConfig({}).PG_EF_SEARCH, 200);
  assert.equal(parseConfig({}).VECTOR_STORE, 'hnsw');
  if (skipWithoutServer(t)) return;
  const schema = newSchema();
  const config = parseConfig({ VECTOR_STORE: 'postgres', DATABASE_URL: databaseUrl, PG_VECTOR_TYPE: 'vector', PG_SCHEMA: schema });
  const store = await openConfiguredStore(config, 'v1');
  t.after(() => store.close());
  assert.equal(store.metadataStorage, 'postgres');
  const vector = randomUnitVector(seededRandom(25), 1280);
  const added = await store.add(sourceOf('g1', 1), sha256('a'), embeddingOf(vector));
  assert.deepEqual((await store.findSimilar('g1', vector, { k: 1 }))[0]?.record, added);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  t.after(() => client.end());
  const type = await client.query<{ type: string }>(`SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = '${schema}.images'::regclass AND attname = 'embedding'`);
  assert.equal(type.rows[0]?.type, 'vector(1280)');
});

// ---------- reduced search (src/store/postgres/reduction.ts) ----------

/** Embeddings of REDUCED_D dimensions that live near a 24-d subspace, as photo embeddings mostly do. */
const REDUCED_D = 384;
function lowRankVectors(random: () => number, count: number): Float32Array[] {
  const directions = Array.from({ length: 24 }, () => randomUnitVector(random, REDUCED_D));
  return Array.from({ length: count }, () => {
    const vector = randomUnitVector(random, REDUCED_D).map((x) => x * 0.15);
    for (const direction of directions) {
      const weight = random() - 0.5;
      direction.forEach((x, i) => (vector[i] = (vector[i] ?? 0) + weight * x));
    }
    const norm = Math.hypot(...vector);
    return vector.map((x) => x / norm);
  });
}

const cosine = (a: Float32Array, b: Float32Array): number => a.reduce((sum, x, i) => sum + x * (b[i] ?? 0), 0);

/** A fresh schema with `vectors` in guild 'big' (source keys a0, a1, …), through a store that reduces past 300 images. */
async function reducedGuild(t: TestContext, vectors: Float32Array[], overrides: Partial<PostgresStoreOptions> = {}) {
  const schema = newSchema();
  const open = (more: Partial<PostgresStoreOptions> = {}) =>
    openPostgresImageStore(options(schema, { dimensions: REDUCED_D, exactSearchMaxImages: 50, reducedSearchMinImages: 300, rerank: 40, ...overrides, ...more }));
  const store = await open();
  t.after(() => store.close());
  for (const [n, vector] of vectors.entries()) await store.add(spreadSource('big', n, 10), sha256(`big${n}`), embeddingOf(vector, n));
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  t.after(() => client.end());
  const count = async (sql: string): Promise<number> => (await client.query<{ n: number }>(`SELECT (${sql})::int AS n`)).rows[0]?.n ?? -1;
  return { schema, store, open, client, count };
}

test('postgres store: a guild past the threshold moves to reduced search in the background, and its answers match exact search', async (t) => {
  if (skipWithoutServer(t)) return;
  const random = seededRandom(31);
  const vectors = lowRankVectors(random, 600);
  const { schema, store, open, count } = await reducedGuild(t, vectors);
  // The 300th add started the job; reduceGuild joins it (or finds the guild ready).
  assert.equal(await store.reduceGuild('big'), 'ready');
  assert.equal(await count(`SELECT count(*) FROM ${schema}.image_reductions WHERE guild_id = 'big'`), 600);
  assert.equal(await count(`SELECT count(*) FROM ${schema}.guild_projections`), 1);
  assert.equal(await count(`SELECT reduced_ready::int FROM ${schema}.guilds WHERE guild_id = 'big'`), 1);
  const exact = await open({ exactSearchMaxImages: Number.MAX_SAFE_INTEGER });
  t.after(() => exact.close());
  let found = 0;
  for (let q = 0; q < 20; q++) {
    const query = lowRankVectors(random, 1)[0] ?? assert.fail();
    const hits = await store.findSimilar('big', query, { k: 10 });
    const truth = (await exact.findSimilar('big', query, { k: 10 })).map((h) => h.record.sourceKey);
    assert.equal(hits.length, 10);
    assert.ok(hits.every((h, i) => i === 0 || (hits[i - 1]?.score ?? 0) >= h.score), 'best first');
    // Scores are exact cosines of the full embeddings, not of the reduced points.
    for (const hit of hits) assert.ok(Math.abs(hit.score - cosine(query, vectors[Number(hit.record.sourceKey.slice(1))] ?? assert.fail())) < 2e-3);
    found += hits.filter((h) => truth.includes(h.record.sourceKey)).length;
  }
  assert.ok(found >= 190, `recall ${found}/200`);
  // Filters still return k: 10% of the channels visible.
  const filtered = await store.findSimilar('big', vectors[3] ?? assert.fail(), { k: 10, filter: (r) => r.channelId === 'ch3' });
  assert.equal(filtered.length, 10);
  assert.equal(filtered[0]?.record.sourceKey, 'a3');
  assert.ok(filtered.every((h) => h.record.channelId === 'ch3'));
});

test('postgres store: reduced search only proposes images that have a point; adds write theirs, removals take them away', async (t) => {
  if (skipWithoutServer(t)) return;
  const random = seededRandom(32);
  const vectors = lowRankVectors(random, 400);
  const { schema, store, client, count } = await reducedGuild(t, vectors);
  assert.equal(await store.reduceGuild('big'), 'ready');
  // White box: an image whose point is gone can no longer be proposed, so its own vector does not find it.
  await client.query(`DELETE FROM ${schema}.image_reductions WHERE guild_id = 'big' AND id = (SELECT id FROM ${schema}.images WHERE guild_id = 'big' AND source_key = 'a7')`);
  const withoutPoint = await store.findSimilar('big', vectors[7] ?? assert.fail(), { k: 5 });
  assert.ok(!withoutPoint.some((h) => h.record.sourceKey === 'a7'), 'searched the reduced graph');
  assert.equal((await store.findSimilar('big', vectors[8] ?? assert.fail(), { k: 5 }))[0]?.record.sourceKey, 'a8');
  // An add after the guild is reduced writes its point in the same transaction: it is found at once.
  const late = lowRankVectors(random, 1)[0] ?? assert.fail();
  await store.add(spreadSource('big', 9000, 10), sha256('late'), embeddingOf(late));
  assert.equal((await store.findSimilar('big', late, { k: 1 }))[0]?.record.sourceKey, 'a9000');
  assert.equal(await count(`SELECT count(*) FROM ${schema}.image_reductions WHERE guild_id = 'big'`), 400);
  // Removing images removes their points (foreign key cascade); removing the guild removes its projection.
  assert.equal(await store.removeMessage('big', 'm9000'), 1);
  assert.equal(await count(`SELECT count(*) FROM ${schema}.image_reductions WHERE guild_id = 'big'`), 399);
  await store.removeGuild('big');
  assert.equal(await count(`SELECT count(*) FROM ${schema}.image_reductions`), 0);
  assert.equal(await count(`SELECT count(*) FROM ${schema}.guild_projections`), 0);
});

test('postgres store: removeAuthor deletes the rows of that member, their reduced points with them', async (t) => {
  if (skipWithoutServer(t)) return;
  const random = seededRandom(34);
  const vectors = lowRankVectors(random, 400);
  const { schema, store, count } = await reducedGuild(t, vectors);
  assert.equal(await store.reduceGuild('big'), 'ready');
  const theirs = `SELECT id FROM ${schema}.images WHERE guild_id = 'big' AND author_id = 'u2'`;
  assert.equal(await count(`SELECT count(*) FROM (${theirs}) AS ids`), 80);
  assert.equal(await count(`SELECT count(*) FROM ${schema}.image_reductions WHERE guild_id = 'big'`), 400);
  assert.equal(await store.removeAuthor('big', 'u2'), 80);
  assert.equal(await count(`SELECT count(*) FROM ${schema}.images WHERE author_id = 'u2'`), 0);
  assert.equal(await count(`SELECT count(*) FROM ${schema}.image_reductions WHERE guild_id = 'big'`), 320);
  assert.equal(await count(`SELECT images FROM ${schema}.guilds WHERE guild_id = 'big'`), 320);
  // Reduced search goes on without them: their own vectors find other members' images only.
  for (const n of [2, 7, 12]) {
    const hits = await store.findSimilar('big', vectors[n] ?? assert.fail(), { k: 5 });
    assert.equal(hits.length, 5);
    assert.ok(hits.every((hit) => hit.record.authorId !== 'u2'));
  }
});

test('postgres store: an interrupted reduction resumes where it stopped, and two processes never fill one guild at once', async (t) => {
  if (skipWithoutServer(t)) return;
  const random = seededRandom(33);
  const vectors = lowRankVectors(random, 350);
  // No background job: the threshold is out of reach until the test asks.
  const { schema, store, open, client, count } = await reducedGuild(t, vectors, { reducedSearchMinImages: 1_000_000 });
  assert.equal(await count(`SELECT count(*) FROM ${schema}.guild_projections`), 0);
  // Closing a store mid-job cancels it without losing what it wrote.
  const first = await open();
  const cancelled = first.reduceGuild('big');
  await first.close();
  assert.ok(['cancelled', 'ready'].includes(await cancelled));
  assert.equal(await store.reduceGuild('big'), 'ready');
  const projection = await client.query<{ id: number; created_at: Date }>(`SELECT id, created_at FROM ${schema}.guild_projections`);
  // What a crash mid-fill leaves: the projection, some points, the guild not ready.
  await client.query(`DELETE FROM ${schema}.image_reductions WHERE guild_id = 'big' AND id % 3 = 0`);
  await client.query(`UPDATE ${schema}.guilds SET reduced_ready = false WHERE guild_id = 'big'`);
  assert.equal(await count(`SELECT count(*) FROM ${schema}.image_reductions`), 350 - 116);
  // Two processes pick the job up at once: one fills, the other finds it busy; the projection is kept.
  const [a, b] = [await open(), await open()];
  t.after(() => Promise.all([a.close(), b.close()]));
  const outcomes = await Promise.all([a.reduceGuild('big'), b.reduceGuild('big')]);
  assert.ok(outcomes.includes('ready'), outcomes.join());
  assert.equal(await count(`SELECT count(*) FROM ${schema}.image_reductions`), 350);
  assert.deepEqual((await client.query(`SELECT id, created_at FROM ${schema}.guild_projections`)).rows, projection.rows);
  assert.equal((await a.findSimilar('big', vectors[9] ?? assert.fail(), { k: 1 }))[0]?.record.sourceKey, 'a9');
});

/** Guild 'big' with `vectors` as images a0, a1, … written as plain SQL rows (no reduced points), as schema version 1 holds them. */
async function insertGuildRows(client: pg.PoolClient, vectors: Float32Array[]): Promise<void> {
  await client.query(`INSERT INTO guilds (guild_id, variant, dimensions, next_id, images) VALUES ('big', $1, $2, $3, $4)`, [CONTRACT_VARIANT, REDUCED_D, vectors.length + 1, vectors.length]);
  for (const [n, vector] of vectors.entries()) {
    await client.query(
      `INSERT INTO images (guild_id, id, channel_id, message_id, source_key, author_id, created_at, nsfw, kind, label, content_hash, width, height, signature, embedding)
       VALUES ('big', $1, 'c', $2, $3, 'u', 0, false, 'attachment', 'x.png', $4, 1, 1, $5, $6::halfvec)`,
      [n + 1, `m${n}`, `a${n}`, sha256(`old${n}`), Buffer.alloc(8), `[${vector.join(',')}]`],
    );
  }
}

test('postgres store: a schema of version 1 with images upgrades on open, and its guilds move to reduced search', async (t) => {
  if (skipWithoutServer(t)) return;
  const schema = newSchema();
  const random = seededRandom(34);
  const vectors = lowRankVectors(random, 320);
  const pool = new pg.Pool({ connectionString: databaseUrl, options: `-c search_path=${schema},public` });
  t.after(() => pool.end());
  const client = await pool.connect();
  try {
    assert.deepEqual(await migrate(client, schema, { dimensions: REDUCED_D, vectorType: 'halfvec' }, 1), [1]);
    // A schema at version 1: a guild and its images, embeddings stored out of line (version 1's storage).
    await insertGuildRows(client, vectors);
  } finally {
    client.release();
  }
  const store = await openPostgresImageStore(options(schema, { dimensions: REDUCED_D, exactSearchMaxImages: 50, reducedSearchMinImages: 300 }));
  t.after(() => store.close());
  const versions = await pool.query<{ version: number }>(`SELECT version FROM schema_migrations ORDER BY version`);
  assert.deepEqual(versions.rows.map((r) => r.version), [1, 2, 3]);
  assert.equal((await store.findSimilar('big', vectors[5] ?? assert.fail(), { k: 1 }))[0]?.record.sourceKey, 'a5');
  assert.equal(await store.reduceGuild('big'), 'ready');
  assert.equal((await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM image_reductions`)).rows[0]?.n, 320);
  assert.equal((await store.findSimilar('big', vectors[6] ?? assert.fail(), { k: 1 }))[0]?.record.sourceKey, 'a6');
});

test('postgres store: a version-2 schema whose guild is already reduced gets the denser points graph on open and stays reduced', async (t) => {
  if (skipWithoutServer(t)) return;
  const schema = newSchema();
  const vectors = lowRankVectors(seededRandom(35), 320);
  const pool = new pg.Pool({ connectionString: databaseUrl, options: `-c search_path=${schema},public` });
  t.after(() => pool.end());
  const client = await pool.connect();
  try {
    assert.deepEqual(await migrate(client, schema, { dimensions: REDUCED_D, vectorType: 'halfvec' }, 2), [1, 2]);
    // What a version-2 bot left: a reduced guild, its projection and its points in the version-2 graph.
    await insertGuildRows(client, vectors);
    assert.equal(await reduceGuild(client, 'big', { dimensions: REDUCED_D, lockNamespace: schema, cancelled: () => false }), 'ready');
  } finally {
    client.release();
  }
  const graph = async (): Promise<string[] | undefined> =>
    (await pool.query<{ options: string[] }>(`SELECT reloptions AS options FROM pg_class WHERE oid = 'image_reductions_hnsw'::regclass`)).rows[0]?.options;
  assert.deepEqual(await graph(), [`m=${HNSW_M}`, `ef_construction=${HNSW_EF_CONSTRUCTION}`]);
  const store = await openPostgresImageStore(options(schema, { dimensions: REDUCED_D, exactSearchMaxImages: 50, reducedSearchMinImages: 300 }));
  t.after(() => store.close());
  assert.deepEqual(await graph(), [`m=${REDUCED_HNSW_M}`, `ef_construction=${REDUCED_HNSW_EF_CONSTRUCTION}`]);
  // The rebuilt index holds every point: the guild needs no new job, and each image is found by its own vector.
  const ready = await pool.query<{ ready: boolean; points: number }>(`SELECT reduced_ready AS ready, (SELECT count(*)::int FROM image_reductions) AS points FROM guilds`);
  assert.deepEqual(ready.rows[0], { ready: true, points: 320 });
  for (const n of [0, 6, 119, 319]) assert.equal((await store.findSimilar('big', vectors[n] ?? assert.fail(), { k: 1 }))[0]?.record.sourceKey, `a${n}`);
});
