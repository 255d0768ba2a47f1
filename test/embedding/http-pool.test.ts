/**
 * The HTTP embedder pool (EMBEDDER_URL with several hosts) against real embedder services started in this
 * process on 127.0.0.1: balancing, a host killed mid-run, every host down, a host coming back, a bot that
 * starts before its hosts (also end to end: the real bot against the fake Discord), and a host with another
 * vector variant.
 */
import { ImageIndexer } from '../../src/services/indexing.ts';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { createEmbedder, defaultEmbedderOptions, HttpEmbedder, type Embedder } from '../../src/embedding/index.ts';
import { createEmbeddingServer, type EmbeddingServer } from '../../src/embedding/server/server.ts';
import { DejavuError } from '../../src/errors.ts';
import { startHarness } from '../discord/harness.ts';
import { hasShared, oxfordImage, readOxfordGroups, requireShared, SHARED_MODEL_DIR } from '../helpers/shared.ts';

const TOKEN = 'pool-test-token-0123456789';
let local: Embedder | undefined;
let images: Buffer[] = [];
let expected: Float32Array[] = [];
const running = new Set<EmbeddingServer>();

before(async () => {
  if (!hasShared()) return;
  local = await createEmbedder(defaultEmbedderOptions({ modelDir: SHARED_MODEL_DIR, workers: 0 }));
  images = readOxfordGroups().groups.slice(0, 4).map((group) => oxfordImage(group[0]!));
  expected = [];
  for (const image of images) expected.push((await local.embed(image)).vector);
});
after(async () => {
  await Promise.all([...running].map((service) => service.close()));
  await local?.close();
});

/** A real embedder service (the code behind `npm run embedder`) on 127.0.0.1; port 0 picks a free one. */
async function startHost(embedder: Embedder, port = 0): Promise<{ url: string; port: number; stop: () => Promise<void> }> {
  const service = createEmbeddingServer({ embedder, token: TOKEN, maxBodyBytes: 8_000_000, port });
  const url = await service.listen();
  running.add(service);
  return {
    url,
    port: Number(new URL(url).port),
    stop: async () => {
      running.delete(service);
      await service.close();
    },
  };
}

/** A free port on which nothing listens (yet). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function host(pool: HttpEmbedder, url: string) {
  const found = pool.hostStatus().find((status) => status.url === url);
  assert.ok(found, `pool knows ${url}`);
  return found;
}

/** Embeds every test image `rounds` times at once and checks each vector against the in-process one. */
async function embedAll(pool: Embedder, rounds = 2): Promise<void> {
  const jobs = Array.from({ length: rounds }, () => images.map((image, index) => ({ image, index }))).flat();
  const results = await Promise.all(jobs.map(({ image }) => pool.embed(image)));
  results.forEach((result, n) => assert.deepEqual(result.vector, expected[jobs[n]!.index]));
}

test('spreads requests over the hosts; a host killed mid-run costs no request, and the other takes all the work', async (t) => {
  if (!requireShared(t) || local === undefined) return;
  const a = await startHost(local);
  const b = await startHost(local);
  const pool = await HttpEmbedder.connect({ urls: [a.url, b.url], token: TOKEN, healthIntervalMs: 60_000, waitMs: 2000 });
  try {
    assert.equal(pool.variant, local.variant);
    assert.equal(pool.backend, 'http (2 hosts: wasm)');
    await embedAll(pool);
    assert.ok(host(pool, a.url).served > 0 && host(pool, b.url).served > 0, `both hosts served: ${JSON.stringify(pool.hostStatus())}`);
    assert.equal(host(pool, a.url).served + host(pool, b.url).served, images.length * 2);

    // Kill A while it holds requests: they fail there and are retried on B.
    const run = embedAll(pool, 3);
    assert.ok(host(pool, a.url).inFlight > 0, 'A has requests in flight when it is killed');
    await new Promise((resolve) => setTimeout(resolve, 30));
    await a.stop();
    await run;
    const downA = host(pool, a.url);
    assert.equal(downA.up, false);
    assert.ok(downA.lastError !== undefined && downA.lastError.length > 0);

    const servedByA = downA.served;
    const servedByB = host(pool, b.url).served;
    await embedAll(pool);
    assert.equal(host(pool, a.url).served, servedByA, 'a host marked down gets no request');
    assert.equal(host(pool, b.url).served, servedByB + images.length * 2);
  } finally {
    await pool.close();
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('every host down: EMBEDDER_UNAVAILABLE after the bounded wait, naming each host and its last error', async (t) => {
  if (!requireShared(t) || local === undefined) return;
  const a = await startHost(local);
  const b = await startHost(local);
  const pool = await HttpEmbedder.connect({ urls: [a.url, b.url], token: TOKEN, healthIntervalMs: 60_000, waitMs: 400 });
  try {
    await embedAll(pool, 1);
    await Promise.all([a.stop(), b.stop()]);
    const started = Date.now();
    await assert.rejects(pool.embed(images[0]!), (error: unknown) => {
      assert.ok(error instanceof DejavuError);
      assert.equal(error.code, 'EMBEDDER_UNAVAILABLE');
      assert.ok(error.message.includes(a.url) && error.message.includes(b.url), error.message);
      const hosts = error.context.hosts as Array<{ url: string; lastError: string }>;
      assert.deepEqual(hosts.map((entry) => entry.url), [a.url, b.url]);
      for (const entry of hosts) assert.match(entry.lastError, /ECONNREFUSED|other side closed|socket/i);
      return true;
    });
    const waited = Date.now() - started;
    assert.ok(waited >= 400 && waited < 5000, `waited ${waited} ms`);
    // embedMany reports the same error in place of every image.
    const batch = await pool.embedMany(images.slice(0, 2));
    assert.deepEqual(batch.map((result) => (result instanceof DejavuError ? result.code : 'ok')), ['EMBEDDER_UNAVAILABLE', 'EMBEDDER_UNAVAILABLE']);
  } finally {
    await pool.close();
  }
});

test('a host coming back is used again: found by the periodic health check, or while a request waits for it', async (t) => {
  if (!requireShared(t) || local === undefined) return;
  const a = await startHost(local);
  const b = await startHost(local);
  const pool = await HttpEmbedder.connect({ urls: [a.url, b.url], token: TOKEN, healthIntervalMs: 200, waitMs: 10_000 });
  try {
    await a.stop();
    await until(() => !host(pool, a.url).up, 3000, 'the health check to mark A down');
    assert.equal(host(pool, b.url).up, true);

    // Back on the same port: the periodic check brings it back without any request.
    const again = await startHost(local, a.port);
    await until(() => host(pool, a.url).up, 3000, 'the health check to mark A up again');
    const before = host(pool, a.url).served;
    await embedAll(pool);
    assert.ok(host(pool, a.url).served > before, 'A serves again');

    // Both down, then one returns while a request waits: the request succeeds.
    await Promise.all([again.stop(), b.stop()]);
    const waiting = pool.embed(images[1]!);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const back = await startHost(local, b.port);
    assert.deepEqual((await waiting).vector, expected[1]);
    await back.stop();
  } finally {
    await pool.close();
  }
});

test('the bot starts when no host answers yet (assumed variant), and embeds once a host comes up', async (t) => {
  if (!requireShared(t) || local === undefined) return;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // Through createEmbedder, as the bot does: the assumed variant is the local model's.
  const pool = await createEmbedder(
    defaultEmbedderOptions({ modelDir: SHARED_MODEL_DIR, embedderUrls: [url], embedderToken: TOKEN, embedderWaitMs: 0, embedderHealthIntervalMs: 100 }),
  );
  try {
    assert.ok(pool instanceof HttpEmbedder);
    assert.equal(pool.variant, local.variant);
    assert.equal(pool.backend, 'http (1 host: no host answered yet)');
    await assert.rejects(pool.embed(images[0]!), (error: unknown) => error instanceof DejavuError && error.code === 'EMBEDDER_UNAVAILABLE' && error.message.includes(url));
    const started = await startHost(local, port);
    await until(() => host(pool, url).up, 3000, 'the host to be found up');
    assert.deepEqual((await pool.embed(images[0]!)).vector, expected[0]);
    assert.equal(pool.backend, 'http (1 host: wasm)');
    await started.stop();
  } finally {
    await pool.close();
  }
  // Without an assumed variant a pool with no host up cannot know what its vectors will be: it refuses to start.
  await assert.rejects(HttpEmbedder.connect({ urls: [url], token: TOKEN }), { code: 'EMBEDDER_UNAVAILABLE' });
});

test('a host that produces another vector variant stays down and is never used', async (t) => {
  if (!requireShared(t) || local === undefined) return;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const pool = await HttpEmbedder.connect({ urls: [url], token: TOKEN, expectedVariant: 'another-model/v1', healthIntervalMs: 100, waitMs: 0 });
  const started = await startHost(local, port);
  try {
    await until(() => /variant/.test(host(pool, url).lastError ?? '') && host(pool, url).lastError !== 'not checked yet', 3000, 'a health check');
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal(host(pool, url).up, false);
    assert.match(host(pool, url).lastError ?? '', new RegExp(`variant ${local.variant.replace(/[/.]/g, '\\$&')}.*another-model/v1`));
    await assert.rejects(pool.embed(images[0]!), (error: unknown) => error instanceof DejavuError && error.code === 'EMBEDDER_UNAVAILABLE' && /variant/.test(error.message));
    assert.equal(host(pool, url).served, 0);
  } finally {
    await pool.close();
    await started.stop();
  }
});

test('end to end: the bot starts before its only embedder host, and indexes images once the host is up', async (t) => {
  if (!requireShared(t) || local === undefined) return;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const harness = await startHarness({ env: { EMBEDDER_URL: url, EMBEDDER_TOKEN: TOKEN, EMBEDDER_WAIT_MS: '300', EMBEDDER_HEALTH_INTERVAL_MS: '200' } });
  let started: Awaited<ReturnType<typeof startHost>> | undefined;
  try {
    const { store, embedder } = harness.bot.services;
    assert.ok(embedder instanceof HttpEmbedder);
    assert.equal(embedder.variant, local.variant);
    const early = await harness.postImage('general', harness.alice, 'early.jpg', images[0]!);
    assert.equal(await store.getBySource(harness.guild.id, early.attachments[0]!.id), undefined, 'no host: the image is not indexed');

    started = await startHost(local, port);
    await until(() => host(embedder, url).up, 3000, 'the bot to find its embedder host');
    const later = await harness.postImage('general', harness.alice, 'later.jpg', images[1]!);
    const record = await store.getBySource(harness.guild.id, later.attachments[0]!.id);
    assert.ok(record, 'the image posted once the host is up is indexed');
    assert.deepEqual(await store.getVector(harness.guild.id, record.id), expected[1]);

    // The early image was kept as unfinished, not lost: the periodic retry (run now) indexes it.
    const indexer = harness.bot.services.indexer;
    assert.ok(indexer instanceof ImageIndexer);
    assert.equal(indexer.unfinishedCount, 1);
    await indexer.retryUnfinished();
    assert.ok(await store.getBySource(harness.guild.id, early.attachments[0]!.id), 'the early image is indexed once the host is up');
  } finally {
    await harness.close();
    await started?.stop();
  }
});
