import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { createEmbedder, defaultEmbedderOptions, LocalEmbedder, type Embedder, type ImageEmbedding } from '../../src/embedding/index.ts';
import { DejavuError, ImageError } from '../../src/errors.ts';
import { hasShared, oxfordImage, readOxfordGroups, SHARED_MODEL_DIR, requireShared } from '../helpers/shared.ts';

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let index = 0; index < a.length; index += 1) dot += a[index]! * b[index]!;
  return dot;
}

function norm(vector: Float32Array): number {
  return Math.sqrt(cosine(vector, vector));
}

let embedder: Embedder | undefined;

before(async () => {
  if (hasShared()) embedder = await createEmbedder(defaultEmbedderOptions({ modelDir: SHARED_MODEL_DIR, workers: 0 }));
});
after(() => embedder?.close());

test('vectors are 1280-d, unit length and deterministic', async (t) => {
  if (!requireShared(t) || embedder === undefined) return;
  const bytes = oxfordImage(readOxfordGroups().groups[0]![0]!);
  const first = await embedder.embed(bytes);
  const second = await embedder.embed(bytes);
  assert.equal(first.vector.length, 1280);
  assert.ok(Math.abs(norm(first.vector) - 1) < 1e-5);
  assert.deepEqual(first.vector, second.vector);
  assert.deepEqual(first.signature, second.signature);
  const { width, height } = await sharp(bytes).metadata();
  assert.deepEqual([first.width, first.height], [width, height]);
  assert.match(embedder.variant, /^effnetb0-avg-fill-trim\//);
  assert.equal(embedder.backend, 'wasm');
});

test('edited copies (resized, recompressed, cropped) score higher against their original than unrelated photos', async (t) => {
  if (!requireShared(t) || embedder === undefined) return;
  const { groups } = readOxfordGroups();
  for (const group of groups.slice(0, 3)) {
    const originalBytes = oxfordImage(group[0]!);
    const { width = 0, height = 0 } = await sharp(originalBytes).metadata();
    const edits: Record<string, Buffer> = {
      resized: await sharp(originalBytes).resize(Math.round(width * 0.5)).jpeg({ quality: 85 }).toBuffer(),
      recompressed: await sharp(originalBytes).jpeg({ quality: 30 }).toBuffer(),
      cropped: await sharp(originalBytes)
        .extract({ left: Math.round(width * 0.08), top: Math.round(height * 0.08), width: Math.round(width * 0.84), height: Math.round(height * 0.84) })
        .toBuffer(),
    };
    const original = await embedder.embed(originalBytes);
    const unrelated = await Promise.all(groups.slice(10, 14).map((other) => embedder!.embed(oxfordImage(other[0]!))));
    const bestUnrelated = Math.max(...unrelated.map((other) => cosine(original.vector, other.vector)));
    for (const [edit, bytes] of Object.entries(edits)) {
      const score = cosine(original.vector, (await embedder.embed(bytes)).vector);
      assert.ok(score > bestUnrelated, `${group[0]} ${edit}: ${score.toFixed(3)} vs best unrelated ${bestUnrelated.toFixed(3)}`);
      assert.ok(score > 0.8, `${group[0]} ${edit}: ${score.toFixed(3)}`);
    }
  }
});

test('embedMany returns each bad image error in place and still embeds the others', async (t) => {
  if (!requireShared(t) || embedder === undefined) return;
  const good = oxfordImage(readOxfordGroups().groups[1]![0]!);
  const results = await embedder.embedMany([good, new Uint8Array(0), Buffer.from('not an image'), good]);
  assert.equal(results.length, 4);
  const [first, empty, text, last] = results as [ImageEmbedding, DejavuError, DejavuError, ImageEmbedding];
  assert.ok(empty instanceof ImageError && empty.code === 'IMAGE_EMPTY');
  assert.ok(text instanceof ImageError && text.code === 'IMAGE_UNSUPPORTED');
  assert.deepEqual(first.vector, last.vector);
});

test('the wasm worker pool gives the same vectors as the in-thread backend', async (t) => {
  if (!requireShared(t) || embedder === undefined) return;
  const images = readOxfordGroups().groups.slice(0, 4).map((group) => oxfordImage(group[1]!));
  const pool = await createEmbedder(defaultEmbedderOptions({ modelDir: SHARED_MODEL_DIR, workers: 2, maxBatch: 2 }));
  try {
    assert.equal(pool.backend, 'wasm (2 workers)');
    assert.equal(pool.variant, embedder.variant);
    const pooled = (await pool.embedMany(images)) as ImageEmbedding[];
    for (const [index, image] of images.entries()) {
      const single = await embedder.embed(image);
      const worst = Math.max(...single.vector.map((value, position) => Math.abs(value - pooled[index]!.vector[position]!)));
      assert.ok(worst < 1e-5, `image ${index}: max |difference| ${worst}`);
    }
  } finally {
    await pool.close();
  }
});

test('concurrent requests are micro-batched up to the maximum batch size', async (t) => {
  if (!requireShared(t)) return;
  const batched = await createEmbedder(defaultEmbedderOptions({ modelDir: SHARED_MODEL_DIR, workers: 0, maxBatch: 4, batchWaitMs: 2000 }));
  try {
    assert.ok(batched instanceof LocalEmbedder);
    const images = readOxfordGroups().groups.slice(0, 5).map((group) => oxfordImage(group[2]!));
    const before = { ...batched.batchStats };
    const results = await batched.embedMany(images);
    assert.ok(results.every((result) => !(result instanceof Error)));
    // 4 go together as soon as they are decoded; the 5th goes when the slot frees, without waiting 2 s.
    assert.equal(batched.batchStats.images - before.images, 5);
    assert.equal(batched.batchStats.batches - before.batches, 2);
  } finally {
    await batched.close();
  }
});

test('a missing model folder fails createEmbedder with MODEL_MISSING', async () => {
  await assert.rejects(createEmbedder(defaultEmbedderOptions({ modelDir: '/nonexistent/model', workers: 0 })), { code: 'MODEL_MISSING' });
});
