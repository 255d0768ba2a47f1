/**
 * Backfill over a simulated channel history (plain HistoryMessage pages, as the Discord layer provides
 * them) with the real indexer, store and keyv: resumable after a restart, finished channels not recrawled,
 * catch-up of newer messages.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { compareSnowflakes, shouldIndexMessage, snowflakeTime } from '../../src/services/backfill.ts';
import { DEFAULT_GUILD_SETTINGS } from '../../src/services/settings.ts';
import type { BackfillProgress, FetchHistoryPage, HistoryMessage } from '../../src/services/types.ts';
import { botModelDir, hasShared, modelSkip, requireShared } from '../helpers/shared.ts';
import { removeDir, startCdn, startServices, type LocalCdn, type TestServices } from './helpers.ts';

const GUILD = '500';
const DISCORD_EPOCH = 1_420_070_400_000;
const CHANNEL_CREATED = Date.UTC(2025, 0, 1);

function snowflake(time: number, sequence = 0): string {
  return ((BigInt(time - DISCORD_EPOCH) << 22n) | BigInt(sequence)).toString();
}

const CHANNEL = snowflake(CHANNEL_CREATED);
// Six distinct photos; the rest of the image messages reuse their bytes (hash shortcut keeps the test fast).
const PHOTOS = ['img_0322.jpg', 'img_0001.jpg', 'img_0699.jpg', 'img_0026.jpg', 'img_0327.jpg', 'img_0004.jpg'];

/** A channel of `count` messages, one per hour after creation; every 10th carries an image. */
function history(cdn: LocalCdn, count: number, startHour = 1): HistoryMessage[] {
  return Array.from({ length: count }, (_, index) => {
    const createdAt = CHANNEL_CREATED + (startHour + index) * 3_600_000;
    const id = snowflake(createdAt);
    const withImage = index % 10 === 0;
    const photo = PHOTOS[(index / 10) % PHOTOS.length]!;
    return {
      id,
      authorId: `user${index % 3}`,
      authorIsBot: index === 20, // one bot message with an image: skipped by default
      images: withImage
        ? [{
            source: { guildId: GUILD, channelId: CHANNEL, messageId: id, sourceKey: `att-${id}`, authorId: `user${index % 3}`, createdAt, nsfw: false, kind: 'attachment' as const, label: photo },
            url: `${cdn.base}/oxford/${photo}`,
            contentType: 'image/jpeg',
          }]
        : [],
    };
  });
}

/** Discord's paging over an in-memory channel: newest first, 100 at most, before/after a message id. */
function pager(messages: () => HistoryMessage[], log: Array<{ before?: string; after?: string }>, failAfterPages = Infinity): FetchHistoryPage {
  let served = 0;
  return async (channelId, page) => {
    assert.equal(channelId, CHANNEL);
    log.push({ before: page.before, after: page.after });
    if (served >= failAfterPages) throw new Error('connection lost (simulated crash)');
    served += 1;
    const newestFirst = [...messages()].sort((a, b) => compareSnowflakes(b.id, a.id));
    let selected = newestFirst;
    if (page.before !== undefined) selected = selected.filter((message) => compareSnowflakes(message.id, page.before!) < 0);
    if (page.after !== undefined) {
      // Discord returns the messages right after `after` (the oldest ones of that range).
      selected = selected.filter((message) => compareSnowflakes(message.id, page.after!) > 0).slice(-page.limit);
    }
    return { messages: selected.slice(0, page.limit) };
  };
}

let cdn: LocalCdn;
let dataDir: string | undefined;

before(async () => {
  if (hasShared()) cdn = await startCdn();
});

after(async () => {
  await cdn?.close();
  if (dataDir !== undefined) await removeDir(dataDir);
});

test('backfill resumes from its cursor after a restart, does not recrawl a finished channel, and catches up', async (t) => {
  if (!requireShared(t)) return;
  let messages = history(cdn, 250);
  const imageMessages = messages.filter((message) => message.images.length > 0).length; // 25, one from a bot

  // First run: two pages, then the connection dies.
  let setup: TestServices = await startServices();
  dataDir = setup.dataDir;
  try {
    const firstLog: Array<{ before?: string; after?: string }> = [];
    const progress: BackfillProgress[] = [];
    await assert.rejects(
      setup.services.backfill.backfill({ guildId: GUILD, channelId: CHANNEL, fetchPage: pager(() => messages, firstLog, 2), onProgress: (p) => progress.push(p) }),
      /simulated crash/,
    );
    assert.equal(progress.length, 2);
    assert.equal(progress[1]!.scanned, 200);
    assert.ok(progress[1]!.fraction! > progress[0]!.fraction! && progress[1]!.fraction! < 1);
    assert.ok(progress[1]!.etaSeconds !== null && progress[1]!.etaSeconds >= 0);
    assert.equal(await setup.services.backfill.lastBackfillAt(GUILD), null);
    await setup.services.close();

    // Restart: new services on the same DATA_DIR continue before the oldest message already done.
    setup = await startServices(dataDir);
    const secondLog: Array<{ before?: string; after?: string }> = [];
    const final = await setup.services.backfill.backfill({ guildId: GUILD, channelId: CHANNEL, fetchPage: pager(() => messages, secondLog) });
    const oldestOfPage2 = [...messages].sort((a, b) => compareSnowflakes(b.id, a.id))[199]!.id;
    assert.equal(secondLog[0]!.before, oldestOfPage2, 'the resumed crawl starts where the first one stopped');
    assert.equal(final.done, true);
    assert.equal(final.scanned, 250);
    assert.equal(final.indexed, imageMessages - 1);
    assert.equal(final.skipped, 1, 'the bot message');
    assert.equal(final.failed, 0);
    assert.equal(final.fraction, 1);
    assert.equal((await setup.services.stats(GUILD)).imagesIndexed, imageMessages - 1);
    const lastBackfill = await setup.services.backfill.lastBackfillAt(GUILD);
    assert.ok(lastBackfill !== null && Date.now() - lastBackfill < 60_000);

    // A finished channel is not crawled again.
    const thirdLog: Array<{ before?: string; after?: string }> = [];
    const again = await setup.services.backfill.backfill({ guildId: GUILD, channelId: CHANNEL, fetchPage: pager(() => messages, thirdLog) });
    assert.equal(thirdLog.length, 0);
    assert.equal(again.done, true);

    // Messages posted while offline (plus one seen live): catch-up indexes only what is newer than known.
    const offline = history(cdn, 21, 1000);
    messages = [...messages, ...offline];
    const catchUpLog: Array<{ before?: string; after?: string }> = [];
    assert.deepEqual(await setup.services.backfill.knownChannels(GUILD), [CHANNEL]);
    const caught = await setup.services.backfill.catchUp({ guildId: GUILD, channelId: CHANNEL, fetchPage: pager(() => messages, catchUpLog) });
    assert.equal(catchUpLog[0]!.after, [...history(cdn, 250)].at(-1)!.id);
    assert.equal(caught.indexed - final.indexed, 2, 'two new image messages (indices 0 and 10; 20 is a bot)');
    assert.equal(caught.skipped - final.skipped, 1);
    assert.equal((await setup.services.stats(GUILD)).imagesIndexed, imageMessages - 1 + 2);

    // Live traffic moves the catch-up point: markSeen survives a restart.
    const live = history(cdn, 1, 2000)[0]!;
    setup.services.backfill.markSeen(GUILD, CHANNEL, live.id);
    await setup.services.close();
    setup = await startServices(dataDir);
    const afterLive: Array<{ before?: string; after?: string }> = [];
    await setup.services.backfill.catchUp({ guildId: GUILD, channelId: CHANNEL, fetchPage: pager(() => messages, afterLive) });
    assert.equal(afterLive[0]!.after, live.id);

    // Deleting the channel removes its images and its cursor.
    assert.equal(await setup.services.removeChannel(GUILD, CHANNEL), imageMessages - 1 + 2);
    assert.deepEqual(await setup.services.backfill.knownChannels(GUILD), []);
    assert.equal(await setup.services.backfill.cursor(GUILD, CHANNEL), undefined);
  } finally {
    await setup.services.close();
  }
});

test('a channel that only had live traffic is listed for catch-up after a restart', async (t) => {
  const modelDir = botModelDir();
  if (modelDir === undefined) {
    t.skip(String(modelSkip()));
    return;
  }
  let setup = await startServices(undefined, { MODEL_DIR: modelDir });
  const dir = setup.dataDir;
  try {
    const live = snowflake(CHANNEL_CREATED + 3_600_000);
    setup.services.backfill.markSeen(GUILD, CHANNEL, live);
    await setup.services.close();
    setup = await startServices(dir, { MODEL_DIR: modelDir });
    assert.deepEqual(await setup.services.backfill.knownChannels(GUILD), [CHANNEL]);
    const log: Array<{ before?: string; after?: string }> = [];
    await setup.services.backfill.catchUp({ guildId: GUILD, channelId: CHANNEL, fetchPage: pager(() => [], log) });
    assert.equal(log[0]?.after, live, 'catch-up starts after the last live message');
  } finally {
    await setup.services.close();
    await removeDir(dir);
  }
});

test('which messages are indexed', () => {
  const settings = { ...DEFAULT_GUILD_SETTINGS, ignoredChannelIds: ['9'] };
  assert.equal(shouldIndexMessage({ authorIsBot: false, channelId: '1' }, settings), true);
  assert.equal(shouldIndexMessage({ authorIsBot: true, channelId: '1' }, settings), false);
  assert.equal(shouldIndexMessage({ authorIsBot: true, channelId: '1' }, { ...settings, includeOtherBots: true }), true);
  assert.equal(shouldIndexMessage({ authorIsBot: true, fromSelf: true, channelId: '1' }, { ...settings, includeOtherBots: true }), false);
  assert.equal(shouldIndexMessage({ authorIsBot: false, channelId: '9' }, settings), false);
});

test('snowflake helpers', () => {
  assert.equal(snowflakeTime(snowflake(CHANNEL_CREATED, 5)), CHANNEL_CREATED);
  assert.equal(snowflakeTime('not-an-id'), undefined);
  assert.equal(compareSnowflakes('99', '100'), -1, 'numeric, not lexicographic');
});
