/**
 * The re-signing job end to end: images stored with a signature of an older format get a current one
 * through the `resign` channel job, queued at startup, over the fake Discord (messages re-fetched, images
 * downloaded again) with the real model and store; the job is stopped by a restart halfway and resumes
 * from its cursor without redoing the messages it had finished. A message deleted while the bot was away
 * loses its images; an image the CDN no longer serves keeps its old signature.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { isCurrentSignature } from '../../src/embedding/signature.ts';
import { openConfiguredStore } from '../../src/store/open.ts';
import type { ImageRecord } from '../../src/store/types.ts';
import { forgetCleanScan, RESIGN_NAMESPACE, sourceOf } from '../../src/services/resign.ts';
import { createKeyv } from '../../src/store/keyv.ts';
import type { FakeMessage } from '../fake-discord/server.ts';
import { hasShared, oxfordImage, readOxfordGroups } from '../helpers/shared.ts';
import { startHarness, type Harness } from './harness.ts';

const skip = hasShared() ? false : 'needs ../shared (model weights and datasets)';
let harness: Harness;
const posted: FakeMessage[] = [];
const IMAGES = 5;

/** A signature of an older format (format byte 1, 8×8 gray): what a record indexed before the current version holds. */
function olderFormatSignature(): Uint8Array {
  const signature = new Uint8Array(3 + 64);
  signature.set([1, 8, 8]);
  for (let index = 3; index < signature.length; index += 1) signature[index] = (index * 37) % 256;
  return signature;
}

async function records(): Promise<ImageRecord[]> {
  const all: ImageRecord[] = [];
  for await (const record of harness.bot.services.store.listRecords(harness.guild.id)) all.push(record);
  return all;
}

/** CDN downloads of one posted attachment (by its file name). */
function downloadsOf(filename: string): number {
  return harness.fake.cdnRequests.filter((request) => request.method === 'GET' && request.status === 200 && request.path.endsWith(`/${filename}`)).length;
}

/** Polls an async condition (the store and keyv are read asynchronously). */
async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number, description: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

before(async () => {
  if (skip) return;
  // A long pause after each re-signed message leaves time to stop the bot halfway through.
  harness = await startHarness({ env: { RESIGN_PAUSE_MS: '1500' } });
});

after(async () => {
  await harness?.close();
});

test('images with an older signature are re-signed by a startup job that survives a restart', { skip }, async () => {
  const { distractors } = readOxfordGroups();
  for (let index = 0; index < IMAGES; index += 1) {
    posted.push(await harness.postImage('history', harness.alice, `photo-${index}.jpg`, oxfordImage(distractors[index] ?? '')));
  }
  const deleted = await harness.postImage('history', harness.bob, 'deleted.jpg', oxfordImage(distractors[IMAGES] ?? ''));
  const unreachable = await harness.postImage('history', harness.bob, 'unreachable.jpg', oxfordImage(distractors[IMAGES + 1] ?? ''));
  assert.equal((await records()).filter((record) => isCurrentSignature(record.signature)).length, IMAGES + 2);
  const variant = harness.bot.services.embedder.variant;

  // Give the stored records a signature of another format (same vectors), as images indexed under it have.
  await harness.restartBot(async () => {
    const store = await openConfiguredStore(harness.config, variant);
    try {
      const old: ImageRecord[] = [];
      for await (const record of store.listRecords(harness.guild.id)) old.push(record);
      for (const record of old) {
        const vector = await store.getVector(harness.guild.id, record.id);
        assert.ok(vector);
        await store.removeMessage(harness.guild.id, record.messageId);
        await store.add(sourceOf(record), record.contentHash, { vector, signature: olderFormatSignature(), width: record.width, height: record.height });
      }
      await store.flush();
      // Records brought in from elsewhere: the guild must be scanned again at the next start.
      const resignKeyv = createKeyv<unknown>({ dataDir: harness.config.dataDir, keyvUrl: harness.config.KEYV_URL }, RESIGN_NAMESPACE);
      await forgetCleanScan(resignKeyv, harness.guild.id);
      await resignKeyv.disconnect();
    } finally {
      await store.close();
    }
    // While the bot is away: one message is deleted (no event reaches it), one image vanishes from the CDN.
    harness.fake.deleteMessage(deleted.id);
    harness.fake.injectCdnFailure({ match: 'unreachable.jpg', status: 404, count: 100 });
  });
  // The fresh start found the stale channel and queued its job: wait until it is partway, then restart.
  const channelId = harness.guild.channelId('history');
  const partway = await eventually(
    async () => {
      const cursor = await harness.bot.services.resign.cursor(harness.guild.id, channelId);
      return cursor !== undefined && cursor.indexed >= 1 ? cursor : undefined;
    },
    60_000,
    'the re-signing job handled a first message',
  );
  assert.ok(partway.indexed < IMAGES, `stopped halfway (${partway.indexed} of ${IMAGES} done)`);
  await harness.restartBot();
  const stoppedAt = (await harness.bot.services.resign.cursor(harness.guild.id, channelId))?.scanned ?? 0;
  assert.ok(stoppedAt >= 1 && stoppedAt < IMAGES, `cursor kept at ${stoppedAt}`);

  const final = await eventually(
    async () => {
      const cursor = await harness.bot.services.resign.cursor(harness.guild.id, channelId);
      return cursor?.done === true ? cursor : undefined;
    },
    120_000,
    'the re-signing job finished',
  );
  const after = await records();
  assert.ok(!after.some((record) => record.messageId === deleted.id), 'the deleted message lost its images');
  const kept = after.find((record) => record.messageId === unreachable.id);
  assert.ok(kept && !isCurrentSignature(kept.signature), 'the unreachable image keeps its old record and signature');
  assert.ok(after.filter((record) => record.messageId !== unreachable.id).every((record) => isCurrentSignature(record.signature)), 'every other image has a current signature');
  assert.deepEqual([final.indexed, final.failed, final.skipped], [IMAGES, 1, 1]);
  // Each image was downloaded twice in all (indexed, re-signed once): the resumed job skipped the finished ones.
  for (let index = 0; index < IMAGES; index += 1) assert.equal(downloadsOf(`photo-${index}.jpg`), 2, `photo-${index}.jpg`);
  // The records still point at their messages, and nothing is left to re-sign.
  assert.deepEqual((await records()).map((record) => record.messageId).sort(), [...posted, unreachable].map((message) => message.id).sort());
  assert.deepEqual(await harness.bot.services.resign.staleChannels(harness.guild.id), []);
});
