/**
 * Member privacy end to end: `/dejavu forget-me` removes a member's images (from search and from the index
 * and journal files), new posts and backfills leave theirs out until `/dejavu remember-me`, and
 * `/dejavu forget member:` is for server managers. Steps build on each other in order.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationCommandOptionType } from 'discord.js';
import { hasShared, oxfordImage, readOxfordGroups } from '../helpers/shared.ts';
import type { FakeMessage } from '../fake-discord/server.ts';
import { answerLinks, startHarness, type Harness } from './harness.ts';

const skip = hasShared() ? false : 'needs ../shared (model weights and datasets)';
let harness: Harness;
// Oxford groups: [original, edited copy, ...]; originals are posted, copies are the queries.
let groups: string[][] = [];
const posted: Record<string, FakeMessage> = {};
/** The stored vectors of alice's images, read before she is forgotten. */
const aliceVectors: Float32Array[] = [];

const original = (group: number): Buffer => oxfordImage(groups[group]?.[0] ?? assert.fail(`group ${group}`));
const copy = (group: number): Buffer => oxfordImage(groups[group]?.[1] ?? assert.fail(`group ${group}`));

function imagesIndexed(): Promise<number> {
  return harness.bot.services.stats(harness.guild.id).then((stats) => stats.imagesIndexed);
}

/** Runs `/dejavu <subcommand>` and returns the final text of its answer. */
async function dejavu(userId: string, subcommand: string, options: Array<{ name: string; value: string; type?: ApplicationCommandOptionType }> = [], locale?: string): Promise<string> {
  const interaction = await harness.fake.sendSlashCommand({
    channelId: harness.guild.channelId('general'),
    userId,
    name: 'dejavu',
    options: [{ name: subcommand, options }],
    ...(locale ? { locale } : {}),
  });
  const responses = await harness.fake.waitFor(() => {
    const current = harness.fake.interactionResponses(interaction.id);
    const content = current.original?.content ?? '';
    return content !== '' ? current : undefined;
  }, 60_000, `answer to /dejavu ${subcommand}`);
  return responses.original?.content ?? '';
}

async function similar(userId: string, bytes: Buffer): Promise<string[]> {
  const interaction = await harness.fake.sendSlashCommand({
    channelId: harness.guild.channelId('general'),
    userId,
    name: 'similar',
    options: [{ name: 'image', attachment: { filename: 'query.jpg', bytes } }, { name: 'count', value: 10 }],
  });
  const responses = await harness.fake.waitFor(() => {
    const current = harness.fake.interactionResponses(interaction.id);
    return current.edits.length > 0 && current.original ? current : undefined;
  }, 30_000, `answer to ${interaction.id}`);
  return answerLinks(responses.original);
}

/** Every file of the guild's index directory, read whole. */
async function guildFiles(): Promise<Buffer[]> {
  const dir = join(harness.dataDir, 'guilds', harness.guild.id);
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return Promise.all(entries.filter((entry) => entry.isFile()).map((entry) => readFile(join(entry.parentPath, entry.name))));
}

/** Whether a file holds the vector: its float32 bytes (index snapshot) or their base64 (journal line). */
function onDisk(files: Buffer[], vector: Float32Array): boolean {
  const bytes = Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
  const base64 = Buffer.from(bytes.toString('base64'));
  return files.some((content) => content.includes(bytes) || content.includes(base64));
}

before(async () => {
  if (skip) return;
  groups = readOxfordGroups().groups;
  harness = await startHarness({
    async beforeStart(fake, guild, { alice }) {
      // Old history of alice's, for the backfill step: never dispatched, only readable over REST.
      await fake.postMessage({ channelId: guild.channelId('history'), authorId: alice.id, attachments: [{ filename: 'old.jpg', bytes: original(5) }], createdAt: new Date(Date.now() - 86_400_000), dispatch: false });
    },
  });
});

after(async () => {
  await harness?.close();
});

test('forget-me removes every image of the member: search finds none, and neither the index files nor the journal hold their vectors', { skip }, async () => {
  posted.alice0 = await harness.postImage('general', harness.alice, 'a0.jpg', original(0));
  await harness.bot.services.store.flush(); // the first in a snapshot file, the next ones in the journal
  posted.alice1 = await harness.postImage('memes', harness.alice, 'a1.jpg', original(1));
  posted.bob2 = await harness.postImage('general', harness.bob, 'b2.jpg', original(2));
  assert.equal(await imagesIndexed(), 3);
  assert.deepEqual((await similar(harness.bob.id, copy(0)))[0], posted.alice0.id, 'found before forgetting');
  for await (const record of harness.bot.services.store.listRecords(harness.guild.id)) {
    if (record.authorId === harness.alice.id) aliceVectors.push((await harness.bot.services.store.getVector(harness.guild.id, record.id)) ?? assert.fail());
  }
  assert.equal(aliceVectors.length, 2);
  const before = await guildFiles();
  assert.ok(aliceVectors.every((vector) => onDisk(before, vector)), 'on disk before forgetting');

  const answer = await dejavu(harness.alice.id, 'forget-me');
  assert.match(answer, /\b2 images of yours were removed/);
  assert.equal(await imagesIndexed(), 1);
  for (const [group, id] of [[0, posted.alice0.id], [1, posted.alice1.id]] as const) {
    for (const asker of [harness.bob.id, harness.owner.id, harness.alice.id]) assert.ok(!(await similar(asker, copy(group))).includes(id), `no search returns ${id}`);
  }
  assert.deepEqual(await similar(harness.bob.id, copy(2)), [posted.bob2.id], 'other members are kept');
  const after = await guildFiles();
  assert.ok(aliceVectors.every((vector) => !onDisk(after, vector)), 'their vectors are in no file of the index');
  assert.ok(!after.some((content) => content.includes(harness.alice.id)), 'no record of theirs in the snapshot or the journal');
});

test('a forgotten member’s new posts and old history (backfill) are not indexed', { skip }, async () => {
  posted.alice3 = await harness.postImage('general', harness.alice, 'a3.jpg', original(3));
  assert.equal(await imagesIndexed(), 1);
  const history = harness.guild.channelId('history');
  const interaction = await harness.fake.sendSlashCommand({ channelId: harness.guild.channelId('general'), userId: harness.owner.id, name: 'dejavu', options: [{ name: 'backfill', options: [{ name: 'channel', type: ApplicationCommandOptionType.Channel, value: history }] }] });
  await harness.fake.waitFor(() => /done/.test(harness.fake.interactionResponses(interaction.id).original?.content ?? ''), 60_000, 'backfill done');
  await harness.bot.settle();
  assert.equal(await imagesIndexed(), 1);
  assert.ok(!(await similar(harness.owner.id, copy(3))).includes(posted.alice3.id));
  assert.ok(harness.fake.requestsTo(`/channels/${history}/messages`, 'GET').length > 0, 'the history was read');
  assert.match(harness.fake.interactionResponses(interaction.id).original?.content ?? '', /messages read: 1 · images indexed: 0/);
});

test('forget member: needs Manage Server; a manager can forget someone else, in Japanese too', { skip }, async () => {
  assert.match(await dejavu(harness.bob.id, 'forget', [{ name: 'member', value: harness.alice.id, type: ApplicationCommandOptionType.User }]), /Manage Server/);
  const answer = await dejavu(harness.owner.id, 'forget', [{ name: 'member', value: harness.bob.id, type: ApplicationCommandOptionType.User }], 'ja');
  assert.match(answer, new RegExp(`<@${harness.bob.id}> の画像 1 件を`));
  assert.equal(await imagesIndexed(), 0);
  assert.deepEqual(await similar(harness.owner.id, copy(2)), []);
});

test('remember-me: new posts are indexed again; what was removed stays removed', { skip }, async () => {
  assert.match(await dejavu(harness.alice.id, 'remember-me'), /indexed again/);
  assert.match(await dejavu(harness.alice.id, 'remember-me'), /not forgotten/);
  posted.alice4 = await harness.postImage('general', harness.alice, 'a4.jpg', original(4));
  assert.equal(await imagesIndexed(), 1);
  assert.deepEqual((await similar(harness.bob.id, copy(4)))[0], posted.alice4.id);
  assert.ok(!(await similar(harness.bob.id, copy(0))).includes(posted.alice0?.id ?? ''));
  // The forgetting survives a restart (kept in keyv), and so does bob's opt-out.
  await harness.restartBot();
  await harness.postImage('general', harness.bob, 'b6.jpg', original(6));
  assert.equal(await imagesIndexed(), 1);
});
