/**
 * GIFs and videos through the real indexing pipeline (real embedder, real store, local CDN): frames become
 * records of one message, an identical repost reuses every frame without embedding, a match on any frame
 * counts, GIF outcomes are left out of notices unless the guild asks, and without ffmpeg videos are skipped
 * with a reason.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DEFAULT_GUILD_SETTINGS } from '../../src/services/settings.ts';
import { frameBase, noticeableOutcomes } from '../../src/services/media.ts';
import type { IndexOutcome } from '../../src/services/types.ts';
import { animation, hasFfmpeg, requireFfmpeg, video } from '../helpers/media.ts';
import { hasShared, oxfordImage, readOxfordGroups, requireShared } from '../helpers/shared.ts';
import { imageRef, removeDir, startCdn, startServices, type LocalCdn, type TestServices } from './helpers.ts';

let cdn: LocalCdn;
let setup: TestServices;
const files: Record<string, Uint8Array> = {};

before(async () => {
  if (!hasShared()) return;
  const { groups, distractors } = readOxfordGroups();
  const group = groups[5]!;
  files.gif = await animation([oxfordImage(distractors[11]!), oxfordImage(group[0]!), oxfordImage(distractors[12]!)]);
  files.lastFrame = await animation([oxfordImage(distractors[13]!), oxfordImage(distractors[14]!), oxfordImage(group[1]!)]);
  if (hasFfmpeg()) files.video = await video([oxfordImage(group[2]!)], { seconds: 2 });
  cdn = await startCdn(files);
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

test('a GIF becomes three frame records; its identical repost reuses them all; a match on the last frame counts', async (t) => {
  if (!requireShared(t)) return;
  const { indexer, store } = setup.services;
  const gif = indexed(await indexer.index(imageRef(`${cdn.base}/bytes/gif?type=image/gif`, {}, { contentType: 'image/gif' })));
  assert.equal(gif.media, 'animated');
  assert.equal(gif.embedded, true);
  assert.equal(gif.frames?.length, 2);
  assert.deepEqual(gif.frames?.map((frame) => frameBase(frame.sourceKey)), [gif.record.sourceKey, gif.record.sourceKey]);
  assert.ok(gif.frames?.every((frame) => frame.messageId === gif.record.messageId));

  const copy = indexed(await indexer.index(imageRef(`${cdn.base}/bytes/gif?type=image/gif`, { authorId: 'bob' }, { contentType: 'image/gif' })));
  assert.equal(copy.exactDuplicate, true);
  assert.equal(copy.embedded, false, 'no frame was embedded again');
  assert.equal(copy.frames?.length, 2);
  assert.ok(copy.duplicates.some((match) => match.exact && match.record.messageId === gif.record.messageId));

  // Another GIF whose LAST frame is an edited copy of the first GIF's middle frame.
  const other = indexed(await indexer.index(imageRef(`${cdn.base}/bytes/lastFrame?type=image/gif`, { authorId: 'carol' }, { contentType: 'image/gif' })));
  assert.ok(other.duplicates.some((match) => match.record.messageId === gif.record.messageId && !match.exact), 'found through a frame');

  // Notices leave GIFs out unless the guild asks.
  assert.deepEqual(noticeableOutcomes([other], DEFAULT_GUILD_SETTINGS), []);
  assert.deepEqual(noticeableOutcomes([other], { ...DEFAULT_GUILD_SETTINGS, gifReposts: true }), [other]);

  // Deleting the message removes every frame.
  assert.equal(await setup.services.removeMessages('100', [gif.record.messageId]), 3);
  assert.equal(await store.getBySource('100', gif.frames![0]!.sourceKey), undefined);
});

test('a video is indexed by its keyframes; an identical one reuses them', async (t) => {
  if (!requireShared(t) || !requireFfmpeg(t)) return;
  const { indexer } = setup.services;
  const clip = indexed(await indexer.index(imageRef(`${cdn.base}/bytes/video?type=video/mp4`, {}, { contentType: 'video/mp4' })));
  assert.equal(clip.media, 'video');
  assert.ok(clip.embedded);
  const again = indexed(await indexer.index(imageRef(`${cdn.base}/bytes/video?type=video/mp4`, { authorId: 'bob' }, { contentType: 'video/mp4' })));
  assert.equal(again.embedded, false);
  assert.equal(again.frames?.length ?? 0, clip.frames?.length ?? 0);
  assert.ok(again.duplicates.some((match) => match.record.messageId === clip.record.messageId));
});

test('without ffmpeg a video is skipped with a clear reason, before any download', async (t) => {
  if (!requireShared(t)) return;
  const without = await startServices(undefined, { FFMPEG_PATH: '/nonexistent/ffmpeg' });
  try {
    const before = cdn.requests.length;
    const outcome = await without.services.indexer.index(imageRef(`${cdn.base}/bytes/video?type=video/mp4`, {}, { contentType: 'video/mp4' }));
    assert.equal(outcome.status, 'skipped');
    assert.match(outcome.status === 'skipped' ? outcome.reason : '', /no ffmpeg/);
    assert.equal(cdn.requests.length, before, 'nothing downloaded');
  } finally {
    await without.services.close();
    await removeDir(without.dataDir);
  }
});
