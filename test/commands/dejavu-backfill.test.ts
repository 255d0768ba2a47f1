/**
 * `/dejavu backfill` over a channel with a few hundred messages (several history pages), progress shown by
 * editing one reply, and the startup catch-up of messages posted while the bot was offline.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationCommandOptionType } from 'discord.js';
import { modelSkip } from '../helpers/shared.ts';
import { scene } from '../helpers/pictures.ts';
import { startHarness, type Harness } from '../discord/harness.ts';

const skip = modelSkip();
const HISTORY_MESSAGES = 320;
/** Every 8th message carries an image; a few distinct pictures are reused (exact copies skip embedding). */
const IMAGE_EVERY = 8;
const DISTINCT_PHOTOS = 5;
let harness: Harness;
let distractors: Buffer[] = [];

before(async () => {
  if (skip) return;
  distractors = await Promise.all(Array.from({ length: DISTINCT_PHOTOS + 3 }, (_, index) => scene(2000 + index)));
  harness = await startHarness({
    async beforeStart(fake, guild, { alice }) {
      const start = Date.now() - 3 * 24 * 3600 * 1000;
      for (let index = 0; index < HISTORY_MESSAGES; index += 1) {
        const withImage = index % IMAGE_EVERY === 0;
        const photo = distractors[(index / IMAGE_EVERY) % DISTINCT_PHOTOS];
        await fake.postMessage({
          channelId: guild.channelId('history'),
          authorId: alice.id,
          content: `message ${index}`,
          createdAt: new Date(start + index * 60_000),
          dispatch: false,
          ...(withImage && photo ? { attachments: [{ filename: `photo-${index}.jpg`, bytes: photo }] } : {}),
        });
      }
    },
  });
});

after(async () => {
  await harness?.close();
});

test('backfill crawls every page of history, indexes every image and shows progress in one reply', { skip }, async () => {
  const interaction = await harness.fake.sendSlashCommand({
    channelId: harness.guild.channelId('general'),
    userId: harness.owner.id,
    name: 'dejavu',
    options: [{ name: 'backfill', options: [{ name: 'channel', type: ApplicationCommandOptionType.Channel, value: harness.guild.channelId('history') }] }],
  });
  const done = await harness.fake.waitFor(() => {
    const responses = harness.fake.interactionResponses(interaction.id);
    return /done/.test(responses.original?.content ?? '') ? responses : undefined;
  }, 50_000, 'backfill done');
  assert.ok(done.ackLatencyMs !== null && done.ackLatencyMs < 2500);
  const expectedImages = Math.ceil(HISTORY_MESSAGES / IMAGE_EVERY);
  assert.equal((await harness.bot.services.stats(harness.guild.id)).imagesIndexed, expectedImages);
  assert.match(done.original?.content ?? '', new RegExp(`1/1 · messages read: ${HISTORY_MESSAGES} · images indexed: ${expectedImages}`), 'message count in the final progress');
  const pages = harness.fake.requestsTo(`/channels/${harness.guild.channelId('history')}/messages`, 'GET');
  assert.ok(pages.length >= Math.ceil(HISTORY_MESSAGES / 100), `read ${pages.length} pages`);
  assert.ok(pages.some((request) => request.query.before), 'paged with before=');
  assert.ok((await harness.bot.services.stats(harness.guild.id)).lastBackfillAt !== null);
});

test('messages posted while the bot was offline are indexed at startup', { skip }, async () => {
  const before = (await harness.bot.services.stats(harness.guild.id)).imagesIndexed;
  await harness.bot.stop();
  for (const photo of distractors.slice(DISTINCT_PHOTOS, DISTINCT_PHOTOS + 3)) {
    await harness.fake.postMessage({ channelId: harness.guild.channelId('history'), authorId: harness.alice.id, attachments: [{ filename: 'offline.jpg', bytes: photo }], dispatch: false });
  }
  const bot = await harness.restartBot();
  // The catch-up runs from the ready event; poll until it has indexed or 20 s passed.
  let count = before;
  for (let attempt = 0; attempt < 200 && count < before + 3; attempt += 1) {
    await bot.settle();
    count = (await bot.services.stats(harness.guild.id)).imagesIndexed;
    if (count < before + 3) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(count, before + 3);
});
