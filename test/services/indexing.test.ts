/**
 * The indexing pipeline end to end with real parts: the real embedder on the shared weights, the real store
 * in a temp DATA_DIR, downloads from a local CDN on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DEFAULT_DUPLICATE_SETTINGS } from '../../src/services/duplicates/index.ts';
import { planDuplicateNotice } from '../../src/services/notices.ts';
import type { IndexOutcome } from '../../src/services/types.ts';
import { hasShared, requireShared } from '../helpers/shared.ts';
import { imageRef, removeDir, startCdn, startServices, type LocalCdn, type TestServices } from './helpers.ts';

// img_0322 is an original; img_0459 is the same photo downscaled and re-encoded at JPEG q30 (a repost);
// img_0347 adds a black border; img_0001 is an unrelated photo of another building.
const ORIGINAL = 'img_0322.jpg';
const REPOST = 'img_0459.jpg';
const UNRELATED = 'img_0001.jpg';

let cdn: LocalCdn;
let setup: TestServices;

before(async () => {
  if (!hasShared()) return;
  cdn = await startCdn({ garbage: new TextEncoder().encode('this is not an image at all'), empty: new Uint8Array(0) });
  setup = await startServices();
});

after(async () => {
  if (setup !== undefined) {
    await setup.services.close();
    await removeDir(setup.dataDir);
  }
  await cdn?.close();
});

function indexed(outcome: IndexOutcome): Extract<IndexOutcome, { status: 'indexed' }> {
  assert.equal(outcome.status, 'indexed', JSON.stringify(outcome.status === 'failed' ? { code: outcome.code, message: outcome.error.message } : outcome.status));
  return outcome as Extract<IndexOutcome, { status: 'indexed' }>;
}

test('an edited repost is found as a duplicate of the original; an unrelated photo is not', async (t) => {
  if (!requireShared(t)) return;
  const { indexer } = setup.services;
  const original = indexed(await indexer.index(imageRef(`${cdn.base}/oxford/${ORIGINAL}`, { authorId: 'alice' })));
  assert.equal(original.duplicates.length, 0);
  assert.equal(original.embedded, true);
  assert.equal(original.exactDuplicate, false);

  const repostRef = imageRef(`${cdn.base}/oxford/${REPOST}`, { authorId: 'bob' });
  const repost = indexed(await indexer.index(repostRef));
  assert.deepEqual(repost.duplicates.map((match) => match.record.sourceKey), [original.record.sourceKey]);
  assert.ok(repost.duplicates[0]!.similarity >= DEFAULT_DUPLICATE_SETTINGS.threshold && repost.duplicates[0]!.exact === false);

  const unrelated = indexed(await indexer.index(imageRef(`${cdn.base}/oxford/${UNRELATED}`, { authorId: 'bob' })));
  assert.deepEqual(unrelated.duplicates, []);

  const notice = await planDuplicateNotice({ outcomes: [repost], settings: await setup.services.settings.get('100'), audienceCanSee: () => true });
  assert.ok(notice.action === 'reply');
  assert.equal(notice.matches[0]!.record.messageId, original.record.messageId);

  // The same attachment again (e.g. MESSAGE_UPDATE after MESSAGE_CREATE) is not indexed twice.
  const again = await indexer.index(repostRef);
  assert.equal(again.status, 'already-indexed');
});

test("the guild's duplicate threshold is the detector's: a stricter one turns the repost down", async (t) => {
  if (!requireShared(t)) return;
  const { indexer, settings } = setup.services;
  await settings.update('106', { duplicateThreshold: 0.9999 });
  indexed(await indexer.index(imageRef(`${cdn.base}/oxford/${ORIGINAL}`, { guildId: '106' })));
  const repost = indexed(await indexer.index(imageRef(`${cdn.base}/oxford/${REPOST}`, { guildId: '106', authorId: 'bob' })));
  assert.deepEqual(repost.duplicates, []);
});

test('only EARLIER images count as originals (a backfill walks history newest first)', async (t) => {
  if (!requireShared(t)) return;
  const { indexer } = setup.services;
  const day = 86_400_000;
  const base = Date.UTC(2025, 5, 1);
  const repost = indexed(await indexer.index(imageRef(`${cdn.base}/oxford/${REPOST}`, { guildId: '108', authorId: 'bob', createdAt: base + day })));
  const original = indexed(await indexer.index(imageRef(`${cdn.base}/oxford/${ORIGINAL}`, { guildId: '108', authorId: 'alice', createdAt: base })));
  assert.deepEqual(original.duplicates, [], 'the original is not a duplicate of its later repost');
  const third = indexed(await indexer.index(imageRef(`${cdn.base}/oxford/img_0347.jpg`, { guildId: '108', authorId: 'carol', createdAt: base + 2 * day })));
  assert.deepEqual(new Set(third.duplicates.map((match) => match.record.sourceKey)), new Set([repost.record.sourceKey, original.record.sourceKey]));
});

test('identical bytes take the hash shortcut: the stored embedding is reused, nothing is embedded', async (t) => {
  if (!requireShared(t)) return;
  const { indexer, store } = setup.services;
  const first = indexed(await indexer.index(imageRef(`${cdn.base}/oxford/img_0699.jpg`)));
  const copy = indexed(await indexer.index(imageRef(`${cdn.base}/oxford/img_0699.jpg?copy=1`, { authorId: 'carol' })));
  assert.equal(copy.exactDuplicate, true);
  assert.equal(copy.embedded, false);
  assert.equal(copy.record.contentHash, first.record.contentHash);
  assert.ok(copy.duplicates.some((match) => match.exact && match.record.sourceKey === first.record.sourceKey));
  assert.deepEqual(await store.getVector('100', copy.record.id), await store.getVector('100', first.record.id));
});

test('large images are fetched as a downscaled media-proxy rendition', async (t) => {
  if (!requireShared(t)) return;
  const before = cdn.requests.length;
  const ref = imageRef(`${cdn.base}/oxford/img_0327.jpg?original`, {}, { proxyUrl: `${cdn.base}/oxford/img_0327.jpg?proxy=1`, width: 2048, height: 1536 });
  indexed(await setup.services.indexer.index(ref));
  const requested = cdn.requests.slice(before);
  assert.deepEqual(requested, ['/oxford/img_0327.jpg?proxy=1&width=512&height=384']);
});

test('bad input comes back as typed outcomes, never as an exception, and later work goes on', async (t) => {
  if (!requireShared(t)) return;
  const { indexer } = setup.services;
  const corrupt = await indexer.index(imageRef(`${cdn.base}/bytes/garbage`));
  assert.equal(corrupt.status, 'failed');
  assert.ok(corrupt.status === 'failed' && corrupt.code.startsWith('IMAGE_'), corrupt.status === 'failed' ? corrupt.code : '');
  const empty = await indexer.index(imageRef(`${cdn.base}/bytes/empty`));
  assert.ok(empty.status === 'failed' && empty.code.startsWith('IMAGE_'));
  const notFound = await indexer.index(imageRef(`${cdn.base}/oxford/missing.jpg`));
  assert.ok(notFound.status === 'failed' && notFound.code === 'DOWNLOAD_FAILED');
  const foreign = await indexer.index(imageRef(`http://localhost:1/oxford/${ORIGINAL}`));
  assert.ok(foreign.status === 'failed' && foreign.code === 'HOST_NOT_ALLOWED');
  // mp4, webm and mov go through ffmpeg (test/services/media.test.ts); other video types are refused.
  const video = await indexer.index(imageRef(`${cdn.base}/oxford/${ORIGINAL}`, {}, { contentType: 'video/x-msvideo' }));
  assert.equal(video.status, 'skipped');
  const svg = await indexer.index(imageRef(`${cdn.base}/oxford/${ORIGINAL}`, {}, { contentType: 'image/svg+xml' }));
  assert.equal(svg.status, 'skipped');
  const huge = await indexer.index(imageRef(`${cdn.base}/oxford/${ORIGINAL}`, {}, { size: 1e12 }));
  assert.ok(huge.status === 'failed' && huge.code === 'IMAGE_TOO_LARGE');
  // …unless a downscaled rendition is fetched instead of the original.
  const hugeWithRendition = imageRef(`${cdn.base}/oxford/img_0008.jpg`, {}, { size: 1e12, proxyUrl: `${cdn.base}/oxford/img_0008.jpg?proxy`, width: 8000, height: 6000 });
  indexed(await indexer.index(hugeWithRendition));
  indexed(await indexer.index(imageRef(`${cdn.base}/oxford/img_0026.jpg`)));
});

test('ignored channels are skipped; settings are per guild', async (t) => {
  if (!requireShared(t)) return;
  await setup.services.settings.update('100', { ignoredChannelIds: ['666'] });
  const ignored = await setup.services.indexer.index(imageRef(`${cdn.base}/oxford/img_0392.jpg`, { channelId: '666' }));
  assert.equal(ignored.status, 'skipped');
  const otherGuild = await setup.services.indexer.index(imageRef(`${cdn.base}/oxford/img_0392.jpg`, { guildId: '101', channelId: '666' }));
  assert.equal(otherGuild.status, 'indexed');
  await setup.services.settings.update('100', { ignoredChannelIds: [] });
});

test('similarity search: best first, own image excluded, permissions, NSFW, scope, paging, no other guild', async (t) => {
  if (!requireShared(t)) return;
  const { services } = setup;
  const guildId = '102';
  const ref = (name: string, channelId = '1', nsfw = false) => imageRef(`${cdn.base}/oxford/${name}`, { guildId, channelId, nsfw });
  const query = indexed(await services.indexer.index(ref(ORIGINAL)));
  const border = indexed(await services.indexer.index(ref('img_0347.jpg', '2')));
  const repost = indexed(await services.indexer.index(ref(REPOST, '3', true)));
  indexed(await services.indexer.index(ref(UNRELATED)));
  indexed(await services.indexer.index(ref('img_0715.jpg')));
  indexed(await services.indexer.index(imageRef(`${cdn.base}/oxford/img_0006.jpg`, { guildId: '103' })));

  const all = await services.findSimilar({ guildId, query: { record: query.record }, k: 10, canView: () => true, nsfwAllowed: true });
  const keys = all.matches.map((match) => match.record.sourceKey);
  assert.ok(!keys.includes(query.record.sourceKey), 'the query image is excluded');
  assert.deepEqual(new Set(keys.slice(0, 2)), new Set([border.record.sourceKey, repost.record.sourceKey]), 'the two edited copies rank first');
  assert.ok(all.matches.every((match) => match.record.guildId === guildId));
  assert.ok(all.matches[0]!.percent > all.matches[all.matches.length - 1]!.percent);
  assert.equal(all.matches.length, 4);

  const sfw = await services.findSimilar({ guildId, query: { record: query.record }, k: 10, canView: () => true, nsfwAllowed: false });
  assert.ok(!sfw.matches.some((match) => match.record.nsfw));
  const hidden = await services.findSimilar({ guildId, query: { record: query.record }, k: 10, canView: (record) => record.channelId !== '2', nsfwAllowed: true });
  assert.ok(!hidden.matches.some((match) => match.record.channelId === '2'));
  const channel = await services.findSimilar({ guildId, query: { record: query.record }, k: 10, canView: () => true, nsfwAllowed: true, channelId: '3' });
  assert.deepEqual(channel.matches.map((match) => match.record.sourceKey), [repost.record.sourceKey]);

  const page1 = await services.findSimilar({ guildId, query: { record: query.record }, k: 2, canView: () => true, nsfwAllowed: true });
  const page2 = await services.findSimilar({ guildId, query: { record: query.record }, k: 2, offset: 2, canView: () => true, nsfwAllowed: true });
  assert.equal(page1.hasMore, true);
  assert.equal(page2.hasMore, false);
  assert.deepEqual([...page1.matches, ...page2.matches].map((match) => match.record.sourceKey), keys);

  const byBytes = await services.findSimilar({ guildId, query: { bytes: await services.download(`${cdn.base}/oxford/${ORIGINAL}`) }, k: 1, canView: () => true, nsfwAllowed: false });
  assert.equal(byBytes.matches[0]!.record.sourceKey, query.record.sourceKey);
  assert.ok(byBytes.matches[0]!.percent > 99);
});

test('deleted messages are gone from results, and work queued for them is dropped', async (t) => {
  if (!requireShared(t)) return;
  const { services } = setup;
  const guildId = '104';
  const kept = indexed(await services.indexer.index(imageRef(`${cdn.base}/oxford/${ORIGINAL}`, { guildId })));
  const doomed = indexed(await services.indexer.index(imageRef(`${cdn.base}/oxford/${REPOST}`, { guildId })));
  assert.equal(await services.removeMessages(guildId, [doomed.record.messageId]), 1);
  const results = await services.findSimilar({ guildId, query: { record: kept.record }, k: 10, canView: () => true, nsfwAllowed: true });
  assert.ok(!results.matches.some((match) => match.record.messageId === doomed.record.messageId));

  // Deleted before its image was processed: never indexed.
  const late = imageRef(`${cdn.base}/oxford/img_0347.jpg`, { guildId });
  await services.removeMessages(guildId, [late.source.messageId]);
  assert.equal((await services.indexer.index(late)).status, 'deleted');
  assert.equal(await services.getRecord(guildId, late.source.sourceKey), undefined);

  const stats = await services.stats(guildId);
  assert.equal(stats.imagesIndexed, 1);
  assert.match(stats.backend, /wasm|tensorflow|cpu/);
  assert.equal(stats.queue.pending, 0);
  assert.equal(await services.removeGuild(guildId), 1);
  assert.equal((await services.stats(guildId)).imagesIndexed, 0);
});

test('a burst of images is queued, not dropped: every one gets an outcome', async (t) => {
  if (!requireShared(t)) return;
  const names = ['img_0001.jpg', 'img_0004.jpg', 'img_0008.jpg', 'img_0699.jpg', 'img_0715.jpg', 'img_0434.jpg', 'img_0602.jpg', 'img_0026.jpg'];
  const refs = names.map((name) => imageRef(`${cdn.base}/oxford/${name}`, { guildId: '105' }));
  const outcomes = await setup.services.indexer.indexMessage(refs);
  assert.deepEqual(outcomes.map((outcome) => outcome.status), names.map(() => 'indexed'));
  assert.equal(setup.services.queue.depth, 0);
});

test('shutdown with a deadline saves queued images, and the next start indexes them', async (t) => {
  if (!requireShared(t)) return;
  const first = await startServices(undefined, { INDEX_CONCURRENCY: '1', SHUTDOWN_DRAIN_MS: '0' });
  let second: TestServices | undefined;
  try {
    const names = ['img_0001.jpg', 'img_0004.jpg', 'img_0008.jpg', 'img_0699.jpg', 'img_0715.jpg'];
    const pending = first.services.indexer.indexMessage(names.map((name) => imageRef(`${cdn.base}/oxford/${name}`, { guildId: '107' })));
    // Wait until images sit in the queue (one running, the rest waiting), then shut down with a 0 ms deadline.
    for (let tries = 0; first.services.queue.stats().pending < 2 && tries < 500; tries += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(first.services.queue.stats().pending >= 2);
    await first.services.close();
    const outcomes = await pending;
    const refused = outcomes.filter((outcome) => outcome.status === 'failed' && outcome.code === 'QUEUE_FULL').length;
    const done = outcomes.filter((outcome) => outcome.status === 'indexed').length;
    assert.ok(refused >= 1, 'some images had not started when the deadline passed');
    assert.equal(refused + done, names.length, 'every image got an outcome');

    second = await startServices(first.dataDir);
    await second.services.resumed;
    assert.equal((await second.services.stats('107')).imagesIndexed, names.length, 'nothing was lost across the restart');
  } finally {
    await second?.services.close();
    await removeDir(first.dataDir);
  }
});
