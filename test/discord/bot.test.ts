/**
 * End to end through the fake Discord with real embeddings: indexing, duplicate notices, /similar, the
 * context menu, the 🔍 reaction, deletions, channel permissions, bad images and a restart.
 * One fake server and one bot for the whole file; the steps build on each other in order.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PermissionFlagsBits } from 'discord.js';
import { modelSkip } from '../helpers/shared.ts';
import { pictureGroups } from '../helpers/pictures.ts';
import { translate } from '../../src/discord/i18n.ts';
import type { FakeMessage } from '../fake-discord/server.ts';
import { answerLinks, linkedMessageIds, startHarness, waitIndexed, type Harness } from './harness.ts';

const skip = modelSkip();
let harness: Harness;
// Drawn pictures: each group is [original, edited copy, edited copy, edited copy]; distractors are unrelated.
let groups: Buffer[][] = [];
let distractors: Buffer[] = [];
const posted: Record<string, FakeMessage> = {};

function imagesIndexed(): Promise<number> {
  return harness.bot.services.stats(harness.guild.id).then((stats) => stats.imagesIndexed);
}

function noticesFor(messageId: string): FakeMessage[] {
  return harness.fake.botMessages().filter((message) => message.referencedMessageId === messageId);
}

async function slashSimilar(userId: string, channel: string, bytes: Buffer, count = 5): Promise<FakeMessage> {
  const interaction = await harness.fake.sendSlashCommand({
    channelId: harness.guild.channelId(channel),
    userId,
    name: 'similar',
    options: [{ name: 'image', attachment: { filename: 'query.jpg', bytes } }, { name: 'count', value: count }],
  });
  return answerOf(interaction.id);
}

async function answerOf(interactionId: string): Promise<FakeMessage> {
  const responses = await harness.fake.waitFor(() => {
    const current = harness.fake.interactionResponses(interactionId);
    return current.edits.length > 0 && current.original ? current : undefined;
  }, 30_000, `answer to interaction ${interactionId}`);
  assert.ok(responses.ackLatencyMs !== null && responses.ackLatencyMs < 2500, `acknowledged within 2.5 s (${responses.ackLatencyMs} ms)`);
  assert.ok(responses.original);
  return responses.original;
}

before(async () => {
  if (skip) return;
  harness = await startHarness();
  ({ groups, distractors } = await pictureGroups(5, 8));
});

after(async () => {
  await harness?.close();
});

function group(index: number): Buffer[] {
  const found = groups[index];
  assert.ok(found, `picture group ${index}`);
  return found;
}

function pick(picture: Buffer | undefined): Buffer {
  assert.ok(picture, 'a drawn picture');
  return picture;
}

test('posted images are indexed, and an unrelated image gets no notice', { skip }, async () => {
  posted.original = await harness.postImage('general', harness.alice, 'original.jpg', pick(group(0)[0]));
  assert.equal(await imagesIndexed(), 1);
  posted.unrelated = await harness.postImage('general', harness.bob, 'unrelated.jpg', pick(distractors[0]));
  assert.equal(await imagesIndexed(), 2);
  assert.equal(harness.fake.botMessages().length, 0, 'no notice for an original or an unrelated image');
});

test('an edited repost gets one duplicate notice linking the original', { skip }, async () => {
  posted.repost = await harness.postImage('memes', harness.bob, 'repost.jpg', pick(group(0)[1]));
  const notices = noticesFor(posted.repost.id);
  assert.equal(notices.length, 1);
  const notice = notices[0];
  assert.ok(notice);
  assert.deepEqual(linkedMessageIds(notice.content), [posted.original?.id]);
  assert.match(notice.content, new RegExp(`<@${harness.alice.id}>`));
  assert.match(notice.content, /\d+\.\d%/);
});

test('/similar with an attachment lists the copies first, best first, with a collage', { skip }, async () => {
  const answer = await slashSimilar(harness.alice.id, 'general', pick(group(0)[2]), 3);
  const links = answerLinks(answer);
  assert.deepEqual(links.slice(0, 2).sort(), [posted.original?.id, posted.repost?.id].sort());
  const percents = answer.embeds.map((embed) => Number(/\*\*([\d.]+)%\*\*/.exec(embed.description ?? '')?.[1]));
  assert.deepEqual([...percents].sort((a, b) => b - a), percents, 'best first');
  assert.ok(answer.attachments.some((attachment) => attachment.filename.endsWith('.jpg')), 'collage attached');
  assert.ok(answer.ephemeral, 'ephemeral by default');
});

test('/similar url and message options: CDN links and message links work, other hosts are refused', { skip }, async () => {
  const ask = async (name: string, value: string) => {
    const interaction = await harness.fake.sendSlashCommand({ channelId: harness.guild.channelId('general'), userId: harness.alice.id, name: 'similar', options: [{ name, value }] });
    return answerOf(interaction.id);
  };
  const byUrl = await ask('url', posted.repost?.attachments[0]?.url ?? '');
  assert.deepEqual(answerLinks(byUrl).slice(0, 2).sort(), [posted.original?.id, posted.repost?.id].sort());
  const byMessage = await ask('message', posted.repost?.jumpUrl ?? '');
  assert.equal(answerLinks(byMessage)[0], posted.original?.id);
  assert.ok(!answerLinks(byMessage).includes(posted.repost?.id ?? ''), 'the message itself is excluded');
  const refused = await ask('url', 'http://169.254.169.254/latest/meta-data/x.png');
  assert.equal(answerLinks(refused).length, 0);
  assert.match(refused.content, /only fetch images from Discord's CDN/);
});

test('/similar scope=channel only returns images of the channel it is used in', { skip }, async () => {
  const interaction = await harness.fake.sendSlashCommand({
    channelId: harness.guild.channelId('memes'),
    userId: harness.alice.id,
    name: 'similar',
    options: [{ name: 'image', attachment: { filename: 'query.jpg', bytes: pick(group(0)[2]) } }, { name: 'scope', value: 'channel' }],
  });
  assert.deepEqual(answerLinks(await answerOf(interaction.id)), [posted.repost?.id], 'only the #memes copy, not the #general original');
});

test('the context menu finds the original of a repost and never the message itself', { skip }, async () => {
  const interaction = await harness.fake.sendMessageContextCommand({
    channelId: harness.guild.channelId('memes'),
    userId: harness.alice.id,
    name: 'Find similar images',
    targetMessageId: posted.repost?.id ?? '',
  });
  const links = answerLinks(await answerOf(interaction.id));
  assert.equal(links[0], posted.original?.id);
  assert.ok(!links.includes(posted.repost?.id ?? ''));
});

test('page buttons: Next shows the following matches, in Japanese for a Japanese user', { skip }, async () => {
  const interaction = await harness.fake.sendSlashCommand({
    channelId: harness.guild.channelId('general'),
    userId: harness.alice.id,
    locale: 'ja',
    name: 'similar',
    options: [{ name: 'image', attachment: { filename: 'query.jpg', bytes: pick(group(0)[2]) } }, { name: 'count', value: 1 }],
  });
  const first = await answerOf(interaction.id);
  assert.equal(first.embeds[0]?.title, '似た画像');
  const firstLink = answerLinks(first)[0];
  const customIds = JSON.stringify(first.components).match(/dejavu:page:[\w-]+:\d+/g) ?? [];
  const next = customIds.find((id) => id.endsWith(':1'));
  assert.ok(next, `a Next button in ${customIds.join(', ')}`);
  const edits = harness.fake.interactionResponses(interaction.id).edits.length;
  await harness.fake.sendButton({ messageId: first.id, userId: harness.alice.id, customId: next, locale: 'ja' });
  const second = await harness.fake.waitFor(() => {
    const current = harness.fake.message(first.id);
    return current && answerLinks(current)[0] !== firstLink ? current : undefined;
  }, 20_000, 'page 2');
  assert.equal(answerLinks(second).length, 1);
  assert.match(second.embeds[0]?.title ?? '', /2 ページ目/);
  assert.ok(harness.fake.interactionResponses(interaction.id).edits.length >= edits);
});

test('an unexpected failure is answered in the member\'s language', { skip }, async () => {
  // Every attempt (discord.js retries a 5xx three times) to acknowledge the command fails: the handler throws,
  // and the fallback answer is the one callback that gets through.
  harness.fake.injectFailure({ route: '/interactions/:interaction/:token/callback', method: 'POST', status: 500, count: 4 });
  const interaction = await harness.fake.sendSlashCommand({
    channelId: harness.guild.channelId('general'),
    userId: harness.alice.id,
    locale: 'ja',
    name: 'similar',
    options: [{ name: 'image', attachment: { filename: 'query.jpg', bytes: pick(group(0)[2]) } }],
  });
  const answer = await harness.fake.waitFor(() => harness.fake.interactionResponses(interaction.id).original, 30_000, 'fallback answer');
  assert.equal(answer.content, translate('ja')('errors.internal'));
  assert.ok(answer.ephemeral);
});

test('the 🔍 reaction answers in the channel, once per cooldown', { skip }, async () => {
  const channelId = harness.guild.channelId('general');
  const before = harness.fake.botMessages(channelId).length;
  harness.fake.addReaction({ messageId: posted.original?.id ?? '', userId: harness.bob.id, emoji: '🔍' });
  const reply = await harness.fake.waitFor(() => harness.fake.botMessages(channelId).find((message) => message.referencedMessageId === posted.original?.id), 30_000, 'reaction answer');
  assert.equal(answerLinks(reply)[0], posted.repost?.id);
  assert.match(reply.content, new RegExp(`<@${harness.bob.id}>`));
  // A second reaction inside the cooldown is ignored.
  harness.fake.addReaction({ messageId: posted.unrelated?.id ?? '', userId: harness.bob.id, emoji: '🔍' });
  await new Promise((resolve) => setTimeout(resolve, 300));
  await harness.bot.settle();
  assert.equal(harness.fake.botMessages(channelId).length, before + 1);
});

test('images of a private channel: only members who can see it find them, notices elsewhere never link it', { skip }, async () => {
  posted.secret = await harness.postImage('secret', harness.alice, 'secret.jpg', pick(group(1)[0]));
  const query = pick(group(1)[1]);
  assert.ok(answerLinks(await slashSimilar(harness.alice.id, 'general', query)).includes(posted.secret.id), 'alice (Members) sees it');
  assert.ok(!answerLinks(await slashSimilar(harness.bob.id, 'general', query)).includes(posted.secret.id), 'bob does not');
  // A public repost of the secret image: #general's audience cannot see #secret, so no notice links it.
  const leak = await harness.postImage('general', harness.alice, 'leak.jpg', pick(group(1)[2]));
  assert.equal(noticesFor(leak.id).length, 0, 'its only match is in #secret');
});

test('a notice links a private channel only from a channel with the same audience', { skip }, async () => {
  // #secret-too has exactly #secret's overwrites, so everyone who sees the repost can see the original.
  const guildId = harness.guild.id;
  harness.fake.addChannel(guildId, {
    name: 'secret-too',
    overwrites: [
      { everyone: true, deny: PermissionFlagsBits.ViewChannel },
      { role: 'Members', allow: PermissionFlagsBits.ViewChannel },
    ],
  });
  await harness.fake.waitFor(() => harness.bot.client.channels.cache.has(harness.guild.channelId('secret-too')), 5000, 'CHANNEL_CREATE');
  const repost = await harness.postImage('secret-too', harness.owner, 'inside.jpg', pick(group(1)[3]));
  const notice = noticesFor(repost.id)[0];
  assert.ok(notice, 'a notice in the equally private channel');
  assert.ok(linkedMessageIds(notice.content).includes(posted.secret?.id ?? ''));
});

test('images from an NSFW channel only appear in answers shown in NSFW channels', { skip }, async () => {
  posted.nsfw = await harness.postImage('lewd', harness.alice, 'nsfw.jpg', pick(group(4)[0]));
  const query = pick(group(4)[1]);
  assert.ok(!answerLinks(await slashSimilar(harness.alice.id, 'general', query)).includes(posted.nsfw.id));
  assert.ok(answerLinks(await slashSimilar(harness.alice.id, 'lewd', query)).includes(posted.nsfw.id));
});

test('corrupt, empty and fake images are skipped without a crash; later images are still indexed', { skip }, async () => {
  const count = await imagesIndexed();
  await harness.postImage('general', harness.bob, 'corrupt.jpg', Buffer.concat([pick(group(2)[0]).subarray(0, 200), Buffer.alloc(300, 7)]));
  await harness.postImage('general', harness.bob, 'empty.png', Buffer.alloc(0));
  await harness.postImage('general', harness.bob, 'fake.png', Buffer.from('this is not a picture at all'));
  assert.equal(await imagesIndexed(), count);
  await harness.postImage('general', harness.bob, 'fine.jpg', pick(group(3)[0]));
  assert.equal(await imagesIndexed(), count + 1);
});

test('a deleted message never appears in results again', { skip }, async () => {
  harness.fake.deleteMessage(posted.repost?.id ?? '');
  // MESSAGE_DELETE travels over the gateway; give it a moment, then wait for its handler.
  await new Promise((resolve) => setTimeout(resolve, 200));
  await harness.bot.settle();
  assert.equal(await harness.bot.services.getRecord(harness.guild.id, posted.repost?.attachments[0]?.id ?? ''), undefined, 'record removed by MESSAGE_DELETE');
  const links = answerLinks(await slashSimilar(harness.alice.id, 'general', pick(group(0)[3])));
  assert.ok(!links.includes(posted.repost?.id ?? ''));
  assert.equal(links[0], posted.original?.id);
});

async function quiet(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 200));
  await harness.bot.settle();
}

function recordOf(message: FakeMessage): Promise<unknown> {
  return harness.bot.services.getRecord(harness.guild.id, message.attachments[0]?.id ?? '');
}

test('bulk deletes, channel deletes and edits that remove attachments forget the images', { skip }, async () => {
  const first = await harness.postImage('memes', harness.bob, 'bulk-1.jpg', pick(distractors[2]));
  const second = await harness.postImage('memes', harness.bob, 'bulk-2.jpg', pick(distractors[3]));
  const lewd = await harness.postImage('lewd', harness.bob, 'lewd.jpg', pick(distractors[4]));
  const edited = await harness.postImage('memes', harness.bob, 'edited.jpg', pick(distractors[5]));
  for (const message of [first, second, lewd, edited]) assert.ok(await recordOf(message), 'indexed first');
  harness.fake.bulkDelete(harness.guild.channelId('memes'), [first.id, second.id]);
  harness.fake.deleteChannel(harness.guild.channelId('lewd'));
  await harness.fake.editMessage({ messageId: edited.id, keepAttachmentIds: [] });
  await quiet();
  for (const message of [first, second, lewd, edited]) assert.equal(await recordOf(message), undefined);
});

test('an image embed unfurled later (MESSAGE_UPDATE) is indexed', { skip }, async () => {
  const count = await imagesIndexed();
  const link = await harness.fake.postMessage({ channelId: harness.guild.channelId('general'), authorId: harness.bob.id, content: 'look https://images.example.com/tower.jpg' });
  await waitIndexed(harness, link.id);
  assert.equal(await imagesIndexed(), count);
  await harness.fake.editMessage({ messageId: link.id, unfurl: true, embeds: [await harness.fake.imageEmbed({ bytes: pick(distractors[6]), filename: 'tower.jpg' })] });
  await quiet();
  assert.equal(await imagesIndexed(), count + 1);
});

test('/dejavu config needs Manage Server; the owner can change the notice mode', { skip }, async () => {
  const denied = await harness.fake.sendSlashCommand({ channelId: harness.guild.channelId('general'), userId: harness.bob.id, name: 'dejavu', options: [{ name: 'stats', options: [] }] });
  const refusal = await harness.fake.waitFor(() => harness.fake.interactionResponses(denied.id).original, 10_000, 'refusal');
  assert.match(refusal.content, /Manage Server/);
  const changed = await harness.fake.sendSlashCommand({
    channelId: harness.guild.channelId('general'),
    userId: harness.owner.id,
    name: 'dejavu',
    options: [{ name: 'config', options: [{ name: 'mode', value: 'react' }] }],
  });
  await answerOf(changed.id);
  assert.equal((await harness.bot.services.settings.get(harness.guild.id)).noticeMode, 'react');
  const repost = await harness.postImage('memes', harness.alice, 'again.jpg', pick(group(3)[1]));
  assert.equal(noticesFor(repost.id).length, 0);
  assert.ok(harness.fake.reactionsOn(repost.id).some((reaction) => reaction.me), 'react mode reacts instead of replying');
});

test('/dejavu stats shows the image count once, next to the backend and the queue', { skip }, async () => {
  const count = await imagesIndexed();
  const asked = await harness.fake.sendSlashCommand({ channelId: harness.guild.channelId('general'), userId: harness.owner.id, name: 'dejavu', options: [{ name: 'stats', options: [] }] });
  const fields = (await answerOf(asked.id)).embeds[0]?.fields ?? [];
  assert.deepEqual(fields.map((field) => field.name), ['Images indexed', 'Embedding backend', 'Queue depth', 'Last backfill']);
  assert.equal(fields[0]?.value, String(count));
  assert.equal(fields[3]?.value, 'never');
});

test('after a restart the index is intact', { skip }, async () => {
  const count = await imagesIndexed();
  await harness.restartBot();
  assert.equal(await imagesIndexed(), count);
  const links = answerLinks(await slashSimilar(harness.alice.id, 'general', pick(group(0)[2])));
  assert.equal(links[0], posted.original?.id);
  // Events still flow after the restart.
  const fresh = await harness.postImage('general', harness.alice, 'after-restart.jpg', pick(distractors[1]));
  await waitIndexed(harness, fresh.id);
  assert.equal(await imagesIndexed(), count + 1);
});

test('an image posted while the bot was down, in a channel it only saw live, is caught up at startup', { skip }, async () => {
  // #memes was never backfilled: the bot only knows it from live messages.
  assert.equal(await harness.bot.services.backfill.lastBackfillAt(harness.guild.id), null);
  let missed: FakeMessage | undefined;
  await harness.restartBot(async () => {
    missed = await harness.fake.postMessage({ channelId: harness.guild.channelId('memes'), authorId: harness.alice.id, attachments: [{ filename: 'missed.jpg', bytes: pick(distractors[7]) }], dispatch: false });
  });
  await harness.bot.settle();
  assert.ok(missed);
  assert.ok(await recordOf(missed), 'indexed by the startup catch-up');
  assert.equal(answerLinks(await slashSimilar(harness.alice.id, 'general', pick(distractors[7])))[0], missed.id);
});

test('a reaction other than 🔍 on an uncached message costs no REST call; 🔍 still answers', { skip }, async () => {
  // After a restart no earlier message is cached: reactions on them arrive partial.
  await harness.restartBot();
  await harness.bot.settle();
  const target = posted.original?.id ?? '';
  assert.ok(!harness.bot.client.channels.cache.some((channel) => channel.isTextBased() && channel.messages.cache.has(target)));
  await quiet();
  const before = harness.fake.requests.length;
  harness.fake.addReaction({ messageId: target, userId: harness.alice.id, emoji: '👍' });
  await quiet();
  assert.deepEqual(harness.fake.requests.slice(before).map((request) => `${request.method} ${request.path}`), [], 'no REST call for 👍');
  const channelId = harness.guild.channelId('general');
  harness.fake.addReaction({ messageId: target, userId: harness.alice.id, emoji: '🔍' });
  const reply = await harness.fake.waitFor(() => harness.fake.botMessages(channelId).find((message) => message.referencedMessageId === target && message.content.includes(`<@${harness.alice.id}>`)), 30_000, 'reaction answer');
  assert.ok(answerLinks(reply).length > 0);
});

test('when the bot leaves the guild, its images are forgotten', { skip }, async () => {
  assert.ok((await imagesIndexed()) > 0);
  harness.fake.removeBotFromGuild(harness.guild.id);
  await harness.fake.waitFor(() => !harness.bot.client.guilds.cache.has(harness.guild.id), 5000, 'GUILD_DELETE');
  await quiet();
  assert.equal(await imagesIndexed(), 0);
});
