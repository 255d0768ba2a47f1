/**
 * Spam waves end to end through the fake Discord with real embeddings: one alert per wave in the log
 * channel, edited as the wave grows; deleting copies and timing out posters with the bot's permissions,
 * never acting on moderators; dry run. Steps build on each other in order (one bot for the file).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationCommandOptionType, PermissionFlagsBits } from 'discord.js';
import { hasShared, oxfordImage, readOxfordGroups } from '../helpers/shared.ts';
import type { FakeMessage, FakeUser } from '../fake-discord/server.ts';
import { DEFAULT_BOT_PERMISSIONS } from '../fake-discord/state.ts';
import { linkedMessageIds, startHarness, type Harness } from './harness.ts';

const skip = hasShared() ? false : 'needs ../shared (model weights and datasets)';
let harness: Harness;
let carol: FakeUser;
let groups: string[][] = [];
let distractors: string[] = [];
const CHANNELS = ['general', 'memes', 'offtopic', 'history'];

before(async () => {
  if (skip) return;
  ({ groups, distractors } = readOxfordGroups());
  harness = await startHarness({
    beforeStart(fake, guild) {
      carol = fake.addUser({ username: 'carol' });
      fake.addMember(guild.id, { userId: carol.id, roles: ['Members'] });
      fake.addChannel(guild.id, { name: 'offtopic' });
      return Promise.resolve();
    },
  });
});

after(async () => {
  await harness?.close();
});

/** Posts one image and waits until the bot has handled it (it may have deleted it meanwhile). */
async function post(channel: string, author: FakeUser, bytes: Buffer): Promise<FakeMessage> {
  const posted = await harness.fake.postMessage({ channelId: harness.guild.channelId(channel), authorId: author.id, attachments: [{ filename: 'copy.jpg', bytes }] });
  await harness.fake.waitFor(
    () => harness.fake.message(posted.id)?.deleted || harness.bot.client.channels.cache.some((c) => c.isTextBased() && c.messages.cache.has(posted.id)),
    30_000,
    `bot received ${posted.id}`,
  );
  await harness.bot.settle();
  return posted;
}

async function configure(options: Array<{ name: string; value: string | number | boolean; type?: ApplicationCommandOptionType }>): Promise<string> {
  const interaction = await harness.fake.sendSlashCommand({ channelId: harness.guild.channelId('general'), userId: harness.owner.id, name: 'dejavu', options: [{ name: 'config', options }] });
  const answer = await harness.fake.waitFor(() => {
    const responses = harness.fake.interactionResponses(interaction.id);
    return responses.edits.length > 0 ? responses.original : undefined;
  }, 20_000, 'config answer');
  return JSON.stringify(answer.embeds);
}

function alerts(): FakeMessage[] {
  return harness.fake.botMessages(harness.guild.channelId('log'));
}

test('a wave of 12 copies in 4 channels by 3 accounts within 2 minutes gives exactly one alert, edited as it grows', { skip }, async () => {
  const shown = await configure([{ name: 'log-channel', type: ApplicationCommandOptionType.Channel, value: harness.guild.channelId('log') }]);
  assert.match(shown, /3 channels or 3 accounts within 10 min/);
  const logId = harness.guild.channelId('log');
  const bytes = oxfordImage(distractors[0] ?? '');
  const authors = [harness.alice, harness.bob, carol];
  const started = Date.now();
  const copies: FakeMessage[] = [];
  for (let index = 0; index < 12; index += 1) copies.push(await post(CHANNELS[index % 4]!, authors[index % 3]!, bytes));
  assert.ok(Date.now() - started < 120_000, 'within two minutes');

  assert.equal(alerts().length, 1, 'one alert in the log channel');
  assert.equal(harness.fake.requestsTo(`/channels/${logId}/messages`, 'POST').length, 1, 'posted once');
  const alert = alerts()[0]!;
  const edits = harness.fake.requestsTo(`/channels/${logId}/messages/${alert.id}`, 'PATCH');
  assert.ok(edits.length >= 8, `edited as the wave grew (${edits.length} edits)`);
  assert.deepEqual(linkedMessageIds(alert.content).sort(), copies.map((copy) => copy.id).sort(), 'every copy linked');
  for (const author of authors) assert.match(alert.content, new RegExp(`<@${author.id}>`));
  assert.match(alert.content, /12 times, in 4 channels by 3 accounts/);
  // Only the second copy (before the rule was met) got a duplicate notice; wave copies do not.
  const notices = harness.fake.botMessages().filter((message) => message.channelId !== logId);
  assert.deepEqual(notices.map((notice) => notice.referencedMessageId), [copies[1]?.id]);
});

test('actions: copies deleted and posters timed out with the bot\'s permissions; moderators skipped and named', { skip }, async () => {
  const guildId = harness.guild.id;
  harness.fake.setRolePermissions(guildId, 'Dejavu', DEFAULT_BOT_PERMISSIONS | PermissionFlagsBits.ManageMessages | PermissionFlagsBits.ModerateMembers);
  await configure([
    { name: 'wave-delete', value: true },
    { name: 'wave-timeout', value: 15 },
  ]);
  const before = alerts().length;
  // Edited copies of one photo (duplicates by the detector, not identical bytes); the owner moderates.
  const group = groups[0]!;
  const a = await post('general', harness.alice, oxfordImage(group[0]!));
  const b = await post('memes', harness.bob, oxfordImage(group[1]!));
  const owner = await post('history', harness.owner, oxfordImage(group[2]!));
  // Same bytes as bob's deleted copy: found through the wave's content hash.
  const c = await post('secret', carol, oxfordImage(group[1]!));

  assert.equal(alerts().length, before + 1, 'one new alert');
  const alert = alerts().at(-1)!;
  for (const copy of [a, b, c]) assert.equal(harness.fake.message(copy.id)?.deleted, true, `copy ${copy.id} deleted`);
  assert.equal(harness.fake.message(owner.id)?.deleted, false, 'the moderator\'s copy stays');
  for (const user of [harness.alice, harness.bob, carol]) {
    const until = harness.fake.memberTimeout(guildId, user.id);
    assert.ok(until !== null && Date.parse(until) > Date.now() + 14 * 60_000, `${user.username} timed out for 15 min`);
  }
  assert.equal(harness.fake.memberTimeout(guildId, harness.owner.id), null, 'the moderator is not timed out');
  assert.match(alert.content, /Deleted 3 copies/);
  assert.match(alert.content, new RegExp(`Not acted on \\(they can manage messages\\): <@${harness.owner.id}>`));
  assert.deepEqual(linkedMessageIds(alert.content).sort(), [a.id, b.id, owner.id, c.id].sort());
  // Deleted copies are gone from the index too (the bot saw its own deletions).
  assert.equal(await harness.bot.services.getRecord(guildId, a.attachments[0]!.id), undefined);
});

test('dry run reports what it would do and does nothing', { skip }, async () => {
  const guildId = harness.guild.id;
  await configure([{ name: 'wave-dry-run', value: true }]);
  const timeoutsBefore = harness.fake.requestsTo(/\/guilds\/\d+\/members\/\d+$/, 'PATCH').length;
  const bytes = oxfordImage(distractors[1] ?? '');
  const copies = [await post('general', carol, bytes), await post('memes', harness.bob, bytes), await post('history', harness.owner, bytes)];
  const alert = alerts().at(-1)!;
  assert.deepEqual(linkedMessageIds(alert.content).sort(), copies.map((copy) => copy.id).sort());
  assert.match(alert.content, /Dry run: would delete 2 copies/);
  assert.match(alert.content, new RegExp(`Dry run: would time out for 15 min: <@${carol.id}> <@${harness.bob.id}>`));
  assert.match(alert.content, new RegExp(`Not acted on \\(they can manage messages\\): <@${harness.owner.id}>`));
  for (const copy of copies) assert.equal(harness.fake.message(copy.id)?.deleted, false);
  assert.equal(harness.fake.requestsTo(/\/guilds\/\d+\/members\/\d+$/, 'PATCH').length, timeoutsBefore, 'no timeout request');
  assert.ok(await harness.bot.services.getRecord(guildId, copies[0]!.attachments[0]!.id));
});

test('without the permissions the bot says what it could not do', { skip }, async () => {
  harness.fake.setRolePermissions(harness.guild.id, 'Dejavu', DEFAULT_BOT_PERMISSIONS);
  await configure([{ name: 'wave-dry-run', value: false }]);
  const bytes = oxfordImage(distractors[2] ?? '');
  const copies = [await post('general', harness.alice, bytes), await post('memes', harness.bob, bytes), await post('history', carol, bytes)];
  const alert = alerts().at(-1)!;
  assert.match(alert.content, /Could not delete 3 copies/);
  assert.match(alert.content, /Could not time out/);
  for (const copy of copies) assert.equal(harness.fake.message(copy.id)?.deleted, false);
});
