import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { createEmbedder, defaultEmbedderOptions, HttpEmbedder, type Embedder, type ImageEmbedding } from '../../src/embedding/index.ts';
import { createEmbeddingServer, type EmbeddingServer } from '../../src/embedding/server/server.ts';
import { encodeBatch, BATCH_CONTENT_TYPE } from '../../src/embedding/wire.ts';
import { DejavuError, ImageError } from '../../src/errors.ts';
import { hasShared, oxfordImage, readOxfordGroups, requireShared, SHARED_MODEL_DIR } from '../helpers/shared.ts';

const TOKEN = 'test-token-0123456789';
const MAX_BODY = 400_000;
let local: Embedder | undefined;
let service: EmbeddingServer | undefined;
let url = '';

before(async () => {
  if (!hasShared()) return;
  local = await createEmbedder(defaultEmbedderOptions({ modelDir: SHARED_MODEL_DIR, workers: 0 }));
  service = createEmbeddingServer({ embedder: local, token: TOKEN, maxBodyBytes: MAX_BODY });
  url = await service.listen();
});
after(async () => {
  await service?.close();
  await local?.close();
});

/** A URL on which nothing listens. */
async function deadUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}`;
}

test('vectors through the HTTP service equal in-process vectors, single and batch', async (t) => {
  if (!requireShared(t) || local === undefined) return;
  const images = readOxfordGroups().groups.slice(0, 3).map((group) => oxfordImage(group[0]!));
  const remote = await HttpEmbedder.connect({ urls: [url], token: TOKEN });
  try {
    assert.equal(remote.variant, local.variant);
    assert.match(remote.backend, /^http \(1 host: wasm\)$/);
    const batch = await remote.embedMany([...images, Buffer.from('plain text')]);
    for (const [index, image] of images.entries()) {
      const here = await local.embed(image);
      const there = await remote.embed(image);
      assert.deepEqual(there.vector, here.vector);
      assert.deepEqual(there.signature, here.signature);
      assert.deepEqual([there.width, there.height], [here.width, here.height]);
      assert.deepEqual((batch[index] as ImageEmbedding).vector, here.vector);
    }
    const bad = batch[3];
    assert.ok(bad instanceof ImageError && bad.code === 'IMAGE_UNSUPPORTED');
    await assert.rejects(remote.embed(new Uint8Array(0)), { code: 'IMAGE_EMPTY' });
  } finally {
    await remote.close();
  }
});

test('fails over from a dead host to a live one, and reports EMBEDDER_UNAVAILABLE when none is up', async (t) => {
  if (!requireShared(t) || local === undefined) return;
  const dead = await deadUrl();
  const remote = await HttpEmbedder.connect({ urls: [dead, url], token: TOKEN });
  try {
    const image = oxfordImage(readOxfordGroups().groups[0]![0]!);
    // Round-robin starts on the dead host for one of these two calls; both must succeed.
    const [a, b] = await Promise.all([remote.embed(image), remote.embed(image)]);
    assert.deepEqual(a.vector, b.vector);
  } finally {
    await remote.close();
  }
  await assert.rejects(HttpEmbedder.connect({ urls: [dead], token: TOKEN, timeoutMs: 2000 }), { code: 'EMBEDDER_UNAVAILABLE' });
});

test('rejects a missing or wrong token', async (t) => {
  if (!requireShared(t) || local === undefined) return;
  const image = oxfordImage(readOxfordGroups().groups[0]![0]!);
  const anonymous = await request(`${url}/v1/embed`, { method: 'POST', body: image });
  assert.equal(anonymous.statusCode, 401);
  assert.equal(((await anonymous.body.json()) as { error: { code: string } }).error.code, 'EMBEDDER_REJECTED');
  const wrong = await HttpEmbedder.connect({ urls: [url], token: 'not-the-token' });
  try {
    await assert.rejects(wrong.embed(image), (error: unknown) => error instanceof DejavuError && error.code === 'EMBEDDER_REJECTED');
  } finally {
    await wrong.close();
  }
});

test('rejects an oversize body with 413, and a malformed batch with 400', async (t) => {
  if (!requireShared(t) || local === undefined) return;
  const headers = { authorization: `Bearer ${TOKEN}` };
  const big = await request(`${url}/v1/embed`, { method: 'POST', body: Buffer.alloc(MAX_BODY + 1), headers });
  assert.equal(big.statusCode, 413);
  await big.body.dump();
  const broken = Buffer.from(encodeBatch([Buffer.alloc(100)]).subarray(0, 50));
  const malformed = await request(`${url}/v1/embed-batch`, { method: 'POST', body: broken, headers: { ...headers, 'content-type': BATCH_CONTENT_TYPE } });
  assert.equal(malformed.statusCode, 400);
  await malformed.body.dump();
});

test('serves /healthz and Prometheus /metrics', async (t) => {
  if (!requireShared(t) || local === undefined) return;
  const health = await request(`${url}/healthz`);
  assert.deepEqual(await health.body.json(), { ok: true, backend: 'wasm', variant: local.variant });
  const metrics = await request(`${url}/metrics`);
  const text = await metrics.body.text();
  assert.match(text, /dejavu_embedder_images_total\{outcome="ok"\} \d+/);
  assert.match(text, /dejavu_embedder_requests_total\{route="POST \/v1\/embed",status="401"\} \d+/);
});
