/**
 * Duplicate-notice moderation end to end through the fake Discord, real model and store: the meme-template
 * setting (`ignore` / `note`), the "Not a repost" button (who may press it, what it suppresses, undo through
 * `/dejavu reports`, the count in `/dejavu stats`) and the allowed-reposters role.
 * One fake server and one bot for the file; the steps build on each other in order.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDuplicateDetector } from '../../src/services/detector.ts';
import type { ImageRecord } from '../../src/store/types.ts';
import type { FakeMessage } from '../fake-discord/server.ts';
import { hasShared, oxfordImage, readOxfordGroups } from '../helpers/shared.ts';
import { drawMeme } from '../helpers/memes.ts';
import { linkedMessageIds, startHarness, type Harness } from './harness.ts';

const skip = hasShared() ? false : 'needs ../shared (model weights and datasets)';
let harness: Harness;
let groups: string[][] = [];
let distractors: string[] = [];
const posted: Record<string, FakeMessage> = {};
const buttonIds: Record<string, string> = {};

const REPOST_HEADER = 'This image has been posted before:';
const TEMPLATE_HEADER = 'Same template as an earlier post';

function noticesFor(messageId: string): FakeMessage[] {
  return harness.fake.botMessages().filter((message) => message.referencedMessageId === messageId);
}

function notARepostButton(message: FakeMessage): string {
  const id = /dejavu:not-repost:\d+/.exec(JSON.stringify(message.components))?.[0];
  assert.ok(id, 'the notice has a "Not a repost" button');
  return id;
}

async function recordOf(messageId: string): Promise<ImageRecord> {
  for await (const record of harness.bot.services.store.listRecords(harness.guild.id)) if (record.messageId === messageId) return record;
  assert.fail(`no record for message ${messageId}`);
}

/** What the shipped detector decides for the pair (none, repost or template), run on the stored data. */
async function detectorVerdict(messageId: string, originalMessageId: string): Promise<'none' | 'repost' | 'template'> {
  const store = harness.bot.services.store;
  const [image, original] = [await recordOf(messageId), await recordOf(originalMessageId)];
  const [vector, originalVector] = [await store.getVector(harness.guild.id, image.id), await store.getVector(harness.guild.id, original.id)];
  assert.ok(vector && originalVector);
  let dot = 0;
  let a = 0;
  let b = 0;
  for (let index = 0; index < vector.length; index += 1) {
    dot += vector[index]! * originalVector[index]!;
    a += vector[index]! ** 2;
    b += originalVector[index]! ** 2;
  }
  const score = dot / Math.sqrt(a * b);
  const matches = await createDuplicateDetector().detect({ vector, signature: image.signature, width: image.width, height: image.height }, [{ record: original, score }], null);
  return matches[0]?.kind ?? 'none';
}

async function dejavu(userId: string, subcommand: string, options: Array<{ name: string; value: string | number | boolean }> = []): Promise<FakeMessage> {
  const interaction = await harness.fake.sendSlashCommand({ channelId: harness.guild.channelId('general'), userId, name: 'dejavu', options: [{ name: subcommand, options }] });
  return harness.fake.waitFor(() => {
    const responses = harness.fake.interactionResponses(interaction.id);
    return responses.edits.length > 0 ? (responses.original ?? undefined) : undefined;
  }, 30_000, `answer to /dejavu ${subcommand}`);
}

function embedText(message: FakeMessage): string {
  return JSON.stringify(message.embeds);
}

async function press(messageId: string, userId: string, customId: string): Promise<string> {
  const interaction = await harness.fake.sendButton({ messageId, userId, customId });
  const reply = await harness.fake.waitFor(() => {
    const responses = harness.fake.interactionResponses(interaction.id);
    return responses.followUps[0] ?? (responses.callbacks[0]?.type === 4 ? responses.original ?? undefined : undefined);
  }, 30_000, 'button answer');
  await harness.bot.settle();
  return reply.content;
}

before(async () => {
  if (skip) return;
  harness = await startHarness();
  ({ groups, distractors } = readOxfordGroups());
});

after(async () => {
  await harness?.close();
});

test('an exact repost of a meme gets a repost notice with a "Not a repost" button', { skip }, async () => {
  const picture = oxfordImage(distractors[0] ?? '');
  const meme = await drawMeme(picture, 'WHEN THE BUILD', 'PASSES FIRST TRY');
  posted.meme = await harness.postImage('general', harness.alice, 'meme.jpg', meme);
  posted.memeRepost = await harness.postImage('memes', harness.bob, 'meme.jpg', meme);
  const notices = noticesFor(posted.memeRepost.id);
  assert.equal(notices.length, 1);
  assert.ok(notices[0]!.content.startsWith(REPOST_HEADER));
  assert.deepEqual(linkedMessageIds(notices[0]!.content), [posted.meme.id]);
  buttonIds.memeRepost = notARepostButton(notices[0]!);
  posted.memeNotice = notices[0]!;
});

test('templates: ignore (default): the meme with a new caption gets no template note', { skip }, async (t) => {
  const picture = oxfordImage(distractors[0] ?? '');
  posted.recaptioned = await harness.postImage('general', harness.bob, 'recaptioned.jpg', await drawMeme(picture, 'ME EXPLAINING', 'MY REGEX TO MYSELF'));
  const verdict = await detectorVerdict(posted.recaptioned.id, posted.meme!.id);
  t.diagnostic(`shipped detector's verdict on the recaptioned meme: ${verdict}`);
  // A new caption is not a repost: the detector may call it the same template, or nothing at all.
  assert.notEqual(verdict, 'repost');
  assert.equal(noticesFor(posted.recaptioned.id).length, 0, `no notice for a ${verdict} verdict with templates: ignore`);
});

test('templates: note: a meme with a new caption gets a gentle note, not a repost notice', { skip }, async (t) => {
  const saved = await dejavu(harness.owner.id, 'config', [{ name: 'templates', value: 'note' }]);
  assert.match(embedText(saved), /gentle note/);
  assert.equal((await harness.bot.services.settings.get(harness.guild.id)).templateMatches, 'note');
  const picture = oxfordImage(distractors[0] ?? '');
  posted.noted = await harness.postImage('general', harness.bob, 'noted.jpg', await drawMeme(picture, 'NOBODY:', 'ABSOLUTELY NOBODY:'));
  const verdict = await detectorVerdict(posted.noted.id, posted.meme!.id);
  t.diagnostic(`shipped detector's verdict on the recaptioned meme: ${verdict}`);
  const notices = noticesFor(posted.noted.id);
  assert.notEqual(verdict, 'repost');
  assert.ok(!notices.some((notice) => notice.content.includes(REPOST_HEADER)), 'never a repost notice');
  if (verdict === 'template') {
    assert.equal(notices.length, 1);
    assert.ok(notices[0]!.content.startsWith(TEMPLATE_HEADER), notices[0]!.content);
    assert.deepEqual(linkedMessageIds(notices[0]!.content), [posted.meme!.id]);
    assert.ok(notARepostButton(notices[0]!));
  } else {
    assert.equal(notices.length, 0);
  }
  // The exact repost of the meme is a repost in either setting.
  posted.memeRepost2 = await harness.postImage('memes', harness.owner, 'meme-again.jpg', await drawMeme(picture, 'WHEN THE BUILD', 'PASSES FIRST TRY'));
  const repostNotices = noticesFor(posted.memeRepost2.id);
  assert.equal(repostNotices.length, 1);
  assert.ok(repostNotices[0]!.content.startsWith(REPOST_HEADER));
});

test('"Not a repost": someone else cannot press it; the poster can, and the pair is never noticed again', { skip }, async () => {
  const refused = await press(posted.memeNotice!.id, harness.alice.id, buttonIds.memeRepost!);
  assert.match(refused, /Only the person who posted the image or a moderator/);
  assert.equal(harness.fake.message(posted.memeNotice!.id)?.deleted, false, 'the notice stays');

  const thanks = await press(posted.memeNotice!.id, harness.bob.id, buttonIds.memeRepost!);
  assert.match(thanks, /removed the notice/);
  assert.equal(harness.fake.message(posted.memeNotice!.id)?.deleted, true, 'the notice is deleted');
  const stats = await dejavu(harness.owner.id, 'stats');
  assert.match(embedText(stats), /Reported \\"not a repost\\"","value":"1"/);

  // The same image again (another copy of the reported pair): no notice about alice's original any more.
  const meme = await drawMeme(oxfordImage(distractors[0] ?? ''), 'WHEN THE BUILD', 'PASSES FIRST TRY');
  const again = await harness.postImage('general', harness.alice, 'meme-3.jpg', meme);
  // alice's own original is within her leeway; bob's copy and the owner's are the reported pair's images.
  const reported = new Set([posted.meme!.id, posted.memeRepost!.id, posted.memeRepost2!.id]);
  const linked = noticesFor(again.id).flatMap((notice) => linkedMessageIds(notice.content));
  assert.deepEqual(linked.filter((id) => reported.has(id)), [], 'no notice links an image of the reported pair');
});

test('a moderator can press it on anyone\'s notice; /dejavu reports lists and undoes reports', { skip }, async () => {
  const group = groups[0] ?? [];
  posted.photo = await harness.postImage('general', harness.alice, 'photo.jpg', oxfordImage(group[0] ?? ''));
  posted.edited = await harness.postImage('memes', harness.bob, 'edited.jpg', oxfordImage(group[1] ?? ''));
  const notice = noticesFor(posted.edited.id)[0];
  assert.ok(notice, 'an edited photo repost gets a notice');
  const thanks = await press(notice.id, harness.owner.id, notARepostButton(notice));
  assert.match(thanks, /removed the notice/);
  assert.equal(harness.fake.message(notice.id)?.deleted, true);

  const list = await dejavu(harness.owner.id, 'reports');
  const ids = [...embedText(list).matchAll(/`([0-9a-f]{8})`/g)].map((match) => match[1]);
  assert.equal(ids.length, 2, embedText(list));
  const [newest] = ids;
  const undone = await dejavu(harness.owner.id, 'reports', [{ name: 'undo', value: newest ?? '' }]);
  assert.match(undone.content, /undone/);
  assert.match(embedText(await dejavu(harness.owner.id, 'stats')), /Reported \\"not a repost\\"","value":"1"/);
  // Undone: the same edited copy posted again is noticed again.
  const again = await harness.postImage('general', harness.owner, 'edited-again.jpg', oxfordImage(group[1] ?? ''));
  assert.ok(noticesFor(again.id).some((message) => linkedMessageIds(message.content).includes(posted.photo!.id)));
});

test('members of the allowed-reposters role never get notices', { skip }, async () => {
  await dejavu(harness.owner.id, 'config', [{ name: 'allowed-role', value: harness.guild.roleId('Members') }]);
  assert.equal((await harness.bot.services.settings.get(harness.guild.id)).allowedReposterRoleId, harness.guild.roleId('Members'));
  const group = groups[1] ?? [];
  posted.bobPhoto = await harness.postImage('general', harness.bob, 'bob-photo.jpg', oxfordImage(group[0] ?? ''));
  const byAlice = await harness.postImage('memes', harness.alice, 'alice-copy.jpg', oxfordImage(group[1] ?? ''));
  assert.equal(noticesFor(byAlice.id).length, 0, 'alice has the role');
  const byOwner = await harness.postImage('memes', harness.owner, 'owner-copy.jpg', oxfordImage(group[2] ?? ''));
  assert.ok(noticesFor(byOwner.id).length > 0, 'the owner has not');
});
