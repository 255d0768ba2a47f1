/**
 * The shipped duplicate detector on real photos and real model weights: edited copies of an Oxford photo
 * are duplicates of it; another photo of the same building (cosine 0.94, which the plain one-threshold
 * recipe would call a duplicate) and an unrelated photo are not.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { createEmbedder, defaultEmbedderOptions, type Embedder, type ImageEmbedding } from '../../../src/embedding/index.ts';
import { computeSignature, decodeSignature, decodeSignatureDetail, DETAIL_SIZE, isCurrentSignature, SIGNATURE_SIZE } from '../../../src/embedding/signature.ts';
import { DEFAULT_DUPLICATE_SETTINGS, detectDuplicates, DUPLICATE_SHORTLIST } from '../../../src/services/duplicates/index.ts';
import type { ImageRecord, ScoredRecord } from '../../../src/store/types.ts';
import { COREL_DIR, hasShared, oxfordImage, requireShared, SHARED_MODEL_DIR } from '../../helpers/shared.ts';

// radcliffe_camera_000093 (an original in the set) and radcliffe_camera_000040 (another photo of the
// Radcliffe Camera from nearly the same spot), per sources.json.
const ORIGINAL = 'img_0406.jpg';
const SAME_BUILDING = 'img_0506.jpg';

let embedder: Embedder | undefined;
before(async () => {
  if (hasShared()) embedder = await createEmbedder(defaultEmbedderOptions({ modelDir: SHARED_MODEL_DIR, workers: 0 }));
});
after(() => embedder?.close());

function cosine(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let index = 0; index < a.length; index += 1) sum += a[index]! * b[index]!;
  return sum;
}

function record(id: number, label: string, embedding: ImageEmbedding): ImageRecord {
  return {
    id, guildId: 'g', channelId: 'c', messageId: String(id), sourceKey: label, authorId: 'a', createdAt: id, nsfw: false,
    kind: 'file', label, contentHash: String(id), width: embedding.width, height: embedding.height, signature: embedding.signature,
  };
}

const jpeg = (pipeline: Sharp): Promise<Buffer> => pipeline.jpeg({ quality: 85 }).toBuffer();

/** Repost-style edits of an image, made with sharp. */
async function editedCopies(bytes: Buffer): Promise<Record<string, Buffer>> {
  const { width, height } = await sharp(bytes).metadata();
  const bar = Math.round(height * 0.18);
  // Meme caption: a white bar with dark "letters" on top.
  const letters = Array.from({ length: 8 }, (_, index) => ({
    input: { create: { width: Math.round(width / 14), height: Math.round(bar * 0.5), channels: 3 as const, background: '#111' } },
    left: Math.round(width * 0.06 + (index * width) / 9),
    top: Math.round(bar * 0.25),
  }));
  const rotated = await sharp(bytes).rotate(8, { background: '#000' }).toBuffer({ resolveWithObject: true });
  return {
    caption: await jpeg(sharp(bytes).extend({ top: bar, background: '#fff' }).composite(letters)),
    border: await jpeg(sharp(bytes).extend({ top: 40, bottom: 40, left: 60, right: 60, background: '#000' })),
    crop: await jpeg(sharp(bytes).extract({ left: Math.round(width * 0.3), top: 0, width: Math.round(width * 0.7), height: Math.round(height * 0.7) })),
    mirror: await jpeg(sharp(bytes).flop()),
    rotate: await jpeg(
      sharp(rotated.data).extract({
        left: Math.round(rotated.info.width * 0.075),
        top: Math.round(rotated.info.height * 0.075),
        width: Math.round(rotated.info.width * 0.85),
        height: Math.round(rotated.info.height * 0.85),
      }),
    ),
  };
}

test('edited copies are duplicates; another photo of the same building and an unrelated photo are not', async (t) => {
  if (!requireShared(t) || embedder === undefined) return;
  const original = await embedder.embed(oxfordImage(ORIGINAL));
  const sameBuilding = await embedder.embed(oxfordImage(SAME_BUILDING));
  const unrelated = await embedder.embed(readFileSync(join(COREL_DIR, 'images', 'wang_0000.jpg')));
  const indexed = [record(1, 'original', original), record(2, 'same-building', sameBuilding), record(3, 'unrelated', unrelated)];
  const embeddings = [original, sameBuilding, unrelated];

  // The plain recipe's single cosine threshold (0.94) cannot separate these two photos.
  assert.ok(cosine(original.vector, sameBuilding.vector) > 0.9);

  for (const [edit, bytes] of Object.entries(await editedCopies(oxfordImage(ORIGINAL)))) {
    const copy = await embedder.embed(bytes);
    // Every indexed image as a candidate, with its real cosine (the store would drop the unrelated one).
    const candidates: ScoredRecord[] = indexed.map((item, index) => ({ record: item, score: cosine(copy.vector, embeddings[index]!.vector) }));
    const matches = await detectDuplicates({ embedding: copy }, candidates);
    assert.deepEqual(matches.map((match) => match.record.label), ['original'], `${edit}: ${JSON.stringify(matches.map((m) => [m.record.label, m.confidence]))}`);
    assert.ok(matches[0]!.confidence >= DEFAULT_DUPLICATE_SETTINGS.threshold);
    assert.ok(matches[0]!.score >= DUPLICATE_SHORTLIST.minScore, `${edit}: cosine ${matches[0]!.score} below the shortlist floor`);
    assert.equal(matches[0]!.kind, 'repost', edit);
    if (edit === 'mirror') assert.equal(matches[0]!.judgement?.mirrored, true);
  }

  const photoMatches = await detectDuplicates({ embedding: sameBuilding }, [{ record: indexed[0]!, score: cosine(sameBuilding.vector, original.vector) }]);
  assert.deepEqual(photoMatches, []);
});

test('the guild threshold can only make the decision stricter; unreadable signatures are never reported', async (t) => {
  if (!requireShared(t) || embedder === undefined) return;
  const original = await embedder.embed(oxfordImage(ORIGINAL));
  const copy = await embedder.embed(await jpeg(sharp(oxfordImage(ORIGINAL)).resize(300).modulate({ brightness: 0.8 })));
  const candidates = [{ record: record(1, 'original', original), score: cosine(copy.vector, original.vector) }];
  const [match] = await detectDuplicates({ vector: copy.vector, signature: copy.signature }, candidates);
  assert.ok(match !== undefined && match.kind === 'repost');
  if (match.confidence < 1) assert.deepEqual(await detectDuplicates({ embedding: copy }, candidates, { threshold: Math.min(1, match.confidence + 0.001) }), []);
  // A lax threshold does not loosen the repost rule of current signatures.
  assert.equal((await detectDuplicates({ embedding: copy }, candidates, { threshold: 0.1 }))[0]?.kind, 'repost');
  // A record whose signature cannot be read is never reported.
  const unreadable = { ...candidates[0]!, record: { ...candidates[0]!.record, signature: new Uint8Array(32 * 32) } };
  assert.deepEqual(await detectDuplicates({ embedding: copy }, [unreadable]), []);
});

test('signatures are deterministic, aspect-preserving, border-trimmed and at most 64 KB', async () => {
  const width = 120;
  const height = 80;
  const rgb = new Uint8Array(width * height * 3);
  // A textured picture inside a 10-px black frame.
  for (let y = 10; y < height - 10; y += 1) {
    for (let x = 10; x < width - 10; x += 1) rgb.fill((x * 7 + y * 13) % 256, (y * width + x) * 3, (y * width + x) * 3 + 3);
  }
  const first = await computeSignature(rgb, width, height);
  const second = await computeSignature(rgb, width, height);
  assert.deepEqual(first, second);
  assert.ok(first.length <= 64 * 1024);
  assert.ok(isCurrentSignature(first));
  const detail = decodeSignatureDetail(first);
  // The detail image is the trimmed 100×60 picture with its longest side at DETAIL_SIZE.
  assert.deepEqual([detail.width, detail.height], [DETAIL_SIZE, Math.round((DETAIL_SIZE * 60) / 100)]);
  const decoded = decodeSignature(first);
  assert.equal(decoded.width, SIGNATURE_SIZE);
  // trimmed content is 100×60: the aspect ratio is kept
  assert.equal(decoded.height, Math.round((SIGNATURE_SIZE * 60) / 100));
  // a uniform image cannot be trimmed and still gets a signature
  assert.equal(decodeSignature(await computeSignature(new Uint8Array(30 * 20 * 3).fill(200), 30, 20)).width, SIGNATURE_SIZE);
  assert.throws(() => decodeSignature(new Uint8Array(10)), /signature/);
});
