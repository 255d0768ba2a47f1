/**
 * Every place images live: `/dejavu backfill` pages through the archived threads of text channels and the
 * posts of forum and media channels (archived, mostly), `/similar` finds those images when no archived
 * thread is in the cache (after discord.js swept them) while still respecting who may see each thread, and the
 * startup catch-up crawls a post made while the bot was offline.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PermissionFlagsBits, type AnyThreadChannel } from 'discord.js';
import { hasShared, oxfordImage, readOxfordGroups } from '../helpers/shared.ts';
import { answerLinks, linkedMessageIds, startHarness, type Harness } from '../discord/harness.ts';
import type { FakeDiscord, FakeGuild, FakeMessage, FakeUser } from '../fake-discord/server.ts';
import { snowflake } from '../fake-discord/state.ts';
import { archivedThreads, isThreadParent } from '../../src/discord/threads.ts';

const skip = hasShared() ? false : 'needs ../shared (model weights and datasets)';
let harness: Harness;
// Oxford groups: [original, edited copy, ...]; originals are posted, copies are the queries.
let groups: string[][] = [];
const posts: Record<string, FakeMessage> = {};
const DAY = 24 * 3600 * 1000;

/** A thread created `daysAgo` with one image message (a forum post's starter message shares the thread's id). */
async function seedThread(
  fake: FakeDiscord,
  guild: FakeGuild,
  author: FakeUser,
  spec: { key: string; parent: string; type?: 'public-thread' | 'private-thread'; daysAgo: number; archived: boolean; members?: string[]; photo: string },
): Promise<void> {
  const createdAt = new Date(Date.now() - spec.daysAgo * DAY);
  const thread = fake.addChannel(guild.id, {
    id: snowflake(createdAt.getTime()),
    name: spec.key,
    type: spec.type ?? 'public-thread',
    parent: spec.parent,
    ownerId: author.id,
    archived: spec.archived,
    archivedAt: new Date(createdAt.getTime() + 3600_000),
    members: spec.members ?? [],
  });
  posts[spec.key] = await fake.postMessage({
    id: thread.id,
    channelId: thread.id,
    authorId: author.id,
    attachments: [{ filename: `${spec.key}.jpg`, bytes: oxfordImage(spec.photo) }],
    dispatch: false,
  });
}

function photo(group: number): string {
  return groups[group]?.[0] ?? assert.fail(`oxford group ${group}`);
}

function copy(group: number): Buffer {
  return oxfordImage(groups[group]?.[1] ?? assert.fail(`oxford group ${group}`));
}

before(async () => {
  if (skip) return;
  groups = readOxfordGroups().groups;
  harness = await startHarness({
    async beforeStart(fake, guild, { alice }) {
      const membersOnly = [
        { everyone: true as const, deny: PermissionFlagsBits.ViewChannel },
        { role: 'Members', allow: PermissionFlagsBits.ViewChannel },
      ];
      fake.addChannel(guild.id, { name: 'gallery', type: 'forum' });
      fake.addChannel(guild.id, { name: 'members-gallery', type: 'forum', overwrites: membersOnly });
      fake.addChannel(guild.id, { name: 'art', type: 'media' });
      const botId = fake.applicationId;
      await seedThread(fake, guild, alice, { key: 'forum-old', parent: 'gallery', daysAgo: 30, archived: true, photo: photo(0) });
      await seedThread(fake, guild, alice, { key: 'forum-older', parent: 'gallery', daysAgo: 40, archived: true, photo: photo(1) });
      await seedThread(fake, guild, alice, { key: 'forum-oldest', parent: 'gallery', daysAgo: 50, archived: true, photo: photo(2) });
      await seedThread(fake, guild, alice, { key: 'forum-active', parent: 'gallery', daysAgo: 1, archived: false, photo: photo(3) });
      await seedThread(fake, guild, alice, { key: 'members-post', parent: 'members-gallery', daysAgo: 20, archived: true, photo: photo(4) });
      await seedThread(fake, guild, alice, { key: 'media-a', parent: 'art', daysAgo: 10, archived: true, photo: photo(5) });
      await seedThread(fake, guild, alice, { key: 'media-b', parent: 'art', daysAgo: 12, archived: true, photo: photo(6) });
      await seedThread(fake, guild, alice, { key: 'text-archived', parent: 'memes', daysAgo: 5, archived: true, photo: photo(7) });
      await seedThread(fake, guild, alice, { key: 'private-joined', parent: 'memes', type: 'private-thread', daysAgo: 6, archived: true, members: [botId], photo: photo(8) });
      // The bot is no member and lacks Manage Threads: Discord would not let it read this one.
      await seedThread(fake, guild, alice, { key: 'private-closed', parent: 'memes', type: 'private-thread', daysAgo: 7, archived: true, photo: photo(9) });
    },
  });
});

after(async () => {
  await harness?.close();
});

async function similar(userId: string, bytes: Buffer): Promise<FakeMessage> {
  const interaction = await harness.fake.sendSlashCommand({
    channelId: harness.guild.channelId('general'),
    userId,
    name: 'similar',
    options: [{ name: 'image', attachment: { filename: 'query.jpg', bytes } }, { name: 'count', value: 3 }],
  });
  const responses = await harness.fake.waitFor(() => {
    const current = harness.fake.interactionResponses(interaction.id);
    return current.edits.length > 0 && current.original ? current : undefined;
  }, 30_000, `answer to ${interaction.id}`);
  return responses.original ?? assert.fail('no answer');
}

const id = (key: string): string => posts[key]?.id ?? assert.fail(key);

test('backfill pages through archived threads, forum posts and media posts that the bot can read', { skip }, async () => {
  const interaction = await harness.fake.sendSlashCommand({ channelId: harness.guild.channelId('general'), userId: harness.owner.id, name: 'dejavu', options: [{ name: 'backfill' }] });
  const done = await harness.fake.waitFor(() => {
    const responses = harness.fake.interactionResponses(interaction.id);
    return /done/.test(responses.original?.content ?? '') ? responses : undefined;
  }, 90_000, 'backfill done');
  assert.match(done.original?.content ?? '', /images indexed: 9\b/, done.original?.content);
  assert.equal((await harness.bot.services.stats(harness.guild.id)).imagesIndexed, 9);
  for (const parent of ['gallery', 'members-gallery', 'art', 'memes']) {
    assert.ok(harness.fake.requestsTo(`/channels/${harness.guild.channelId(parent)}/threads/archived/public`, 'GET').length > 0, `archived posts of #${parent} listed`);
  }
  assert.ok(harness.fake.requestsTo(`/channels/${harness.guild.channelId('memes')}/users/@me/threads/archived/private`, 'GET').length > 0, 'joined private threads listed');
  assert.equal(harness.fake.requestsTo(`/channels/${harness.guild.channelId('memes')}/threads/archived/private`, 'GET').length, 0, 'no list that needs Manage Threads');
  assert.equal(harness.fake.requestsTo(`/channels/${id('private-closed')}/messages`, 'GET').length, 0, 'a private thread the bot may not read is not crawled');
});

test('the archived lists are paged with before= until Discord says there is no more', { skip }, async () => {
  const gallery = harness.bot.client.channels.cache.get(harness.guild.channelId('gallery'));
  const me = harness.bot.client.guilds.cache.get(harness.guild.id)?.members.me;
  assert.ok(gallery && !gallery.isDMBased() && isThreadParent(gallery) && me);
  const path = `/channels/${gallery.id}/threads/archived/public`;
  const requestsBefore = harness.fake.requestsTo(path, 'GET').length;
  const seen: string[] = [];
  for await (const thread of archivedThreads(gallery, me, 1)) seen.push(thread.id);
  assert.deepEqual(seen, [id('forum-old'), id('forum-older'), id('forum-oldest')], 'newest archive first, each once');
  const requests = harness.fake.requestsTo(path, 'GET').slice(requestsBefore);
  assert.equal(requests.length, 3);
  assert.ok(requests.slice(1).every((request) => typeof request.query.before === 'string' && request.query.limit === '1'));
});

test('after a restart and a thread sweep (no archived thread cached) /similar finds forum and media posts and respects who may see each thread', { skip }, async () => {
  await harness.restartBot();
  await harness.bot.settle();
  // What discord.js's default sweeper does to archived threads after four hours.
  const swept = harness.bot.client.sweepers.sweepThreads((thread: AnyThreadChannel) => thread.archived === true);
  assert.ok(swept >= 7, `swept ${swept} archived threads`);
  assert.equal(answerLinks(await similar(harness.alice.id, copy(0)))[0], id('forum-old'), 'archived forum post');
  assert.equal(answerLinks(await similar(harness.alice.id, copy(2)))[0], id('forum-oldest'), 'oldest archived forum post');
  assert.equal(answerLinks(await similar(harness.alice.id, copy(5)))[0], id('media-a'), 'media channel post');
  assert.equal(answerLinks(await similar(harness.alice.id, copy(7)))[0], id('text-archived'), 'archived thread of a text channel');
  assert.equal(answerLinks(await similar(harness.alice.id, copy(4)))[0], id('members-post'), 'alice has the Members role');
  assert.ok(!answerLinks(await similar(harness.bob.id, copy(4))).includes(id('members-post')), 'bob cannot see the members-only forum');
  assert.ok(!answerLinks(await similar(harness.alice.id, copy(8))).includes(id('private-joined')), 'alice is no member of the private thread');
});

test('a repost of a media-channel image gets a duplicate notice linking the archived post', { skip }, async () => {
  harness.bot.client.sweepers.sweepThreads((thread: AnyThreadChannel) => thread.archived === true);
  const repost = await harness.postImage('general', harness.bob, 'repost.jpg', copy(6));
  const notice = harness.fake.botMessages().find((message) => message.referencedMessageId === repost.id);
  assert.ok(notice, 'a notice was posted');
  assert.deepEqual(linkedMessageIds(notice.content), [id('media-b')]);
});

test('a forum post made and archived while the bot was offline is crawled at startup', { skip }, async () => {
  const before = (await harness.bot.services.stats(harness.guild.id)).imagesIndexed;
  await harness.bot.stop();
  await seedThread(harness.fake, harness.guild, harness.alice, { key: 'media-offline', parent: 'art', daysAgo: 0, archived: true, photo: photo(10) });
  const bot = await harness.restartBot();
  let count = before;
  for (let attempt = 0; attempt < 200 && count <= before; attempt += 1) {
    await bot.settle();
    count = (await bot.services.stats(harness.guild.id)).imagesIndexed;
    if (count <= before) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(count, before + 1);
  assert.equal(answerLinks(await similar(harness.alice.id, copy(10)))[0], id('media-offline'));
});
