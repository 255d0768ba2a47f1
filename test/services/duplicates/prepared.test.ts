/**
 * Prepared signatures are decoded once per image and reused by later decisions; the cache keeps only the
 * most recently used images.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { computeSignature } from '../../../src/embedding/signature.ts';
import { PreparedSignatures } from '../../../src/services/duplicates/prepared.ts';
import { scene } from '../../helpers/pictures.ts';

async function signatureOf(seed: number): Promise<Uint8Array> {
  const { data, info } = await sharp(await scene(seed)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return computeSignature(new Uint8Array(data.buffer, data.byteOffset, data.length), info.width, info.height);
}

test('equal signature bytes share one prepared image; the least recently used image leaves first', async () => {
  const signatures = await Promise.all([1, 2, 3].map(signatureOf));
  const [first, second, third] = signatures as [Uint8Array, Uint8Array, Uint8Array];
  const cache = new PreparedSignatures(2);
  const detail = cache.detail(first);
  const thumbnail = cache.thumbnail(first);
  // A copy of the bytes (another record, another guild) finds the same entry.
  assert.equal(cache.detail(Uint8Array.from(first)), detail);
  assert.equal(cache.thumbnail(Uint8Array.from(first)), thumbnail);
  assert.equal(detail.keypoints.count > 0, true);

  cache.detail(second);
  cache.detail(first); // first is now the most recently used
  cache.detail(third); // so second leaves
  assert.equal(cache.size, 2);
  assert.equal(cache.detail(first), detail);
  const secondAgain = cache.detail(second);
  assert.notEqual(secondAgain, undefined);
  assert.equal(cache.size, 2);
  // second came back as a new entry, pushing out third (first was used after it).
  assert.equal(cache.detail(first), detail);
});

test('different images get different prepared images', async () => {
  const cache = new PreparedSignatures();
  const a = cache.detail(await signatureOf(4));
  const b = cache.detail(await signatureOf(5));
  assert.notEqual(a, b);
  assert.notDeepEqual(a.jpeg, b.jpeg);
});
