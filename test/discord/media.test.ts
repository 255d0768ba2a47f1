/**
 * GIFs and videos end to end through the fake Discord with real embeddings: an animated GIF is indexed as
 * several frames and a repost matching any of them is found (by /similar always, by a notice only when the
 * guild turned GIF reposts on); a short video repost gets a notice; an identical GIF repost reuses every
 * frame's vector. Steps build on each other in order.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { hasShared, oxfordImage, readOxfordGroups } from '../helpers/shared.ts';
import { animation, hasFfmpeg, video } from '../helpers/media.ts';
import type { FakeMessage } from '../fake-discord/server.ts';
import { answerLinks, linkedMessageIds, startHarness, type Harness } from './harness.ts';

const skip = hasShared() ? false : 'needs ../shared (model weights and datasets)';
const skipVideo = skip || (hasFfmpeg() ? false : 'needs ffmpeg (apt-get install ffmpeg)');
if (skipVideo && !skip) console.warn(`SKIPPED: ${skipVideo}`);
let harness: Harness;
let groups: string[][] = [];
let distractors: string[] = [];
const posted: Record<string, FakeMessage> = {};

before(async () => {
  if (skip) return;
  ({ groups, distractors } = readOxfordGroups());
  harness = await startHarness();
});

after(async () => {
  await harness?.close();
});

function photo(name: string | undefined): Buffer {
  assert.ok(name, 'photo name');
  return oxfordImage(name);
}

function noticesFor(messageId: string): FakeMessage[] {
  return harness.fake.botMessages().filter((message) => message.referencedMessageId === messageId);
}

async function records(messageId: string): Promise<number> {
  let count = 0;
  for await (const record of harness.bot.services.store.listRecords(harness.guild.id)) if (record.messageId === messageId) count += 1;
  return count;
}

async function similar(bytes: Buffer, filename: string): Promise<string[]> {
  const interaction = await harness.fake.sendSlashCommand({
    channelId: harness.guild.channelId('general'),
    userId: harness.alice.id,
    name: 'similar',
    options: [{ name: 'image', attachment: { filename, bytes } }],
  });
  const answer = await harness.fake.waitFor(() => {
    const responses = harness.fake.interactionResponses(interaction.id);
    return responses.edits.length > 0 ? responses.original : undefined;
  }, 30_000, 'similar answer');
  return answerLinks(answer);
}

test('an animated GIF is indexed as three frames; a GIF repost matching its middle frame gets no notice by default, /similar finds it', { skip }, async () => {
  const group = groups[2]!;
  const gif = await animation([photo(distractors[3]), photo(group[0]), photo(distractors[4])]);
  posted.gif = await harness.postImage('general', harness.alice, 'reaction.gif', gif);
  assert.equal(await records(posted.gif.id), 3, 'first, middle and last frame');
  // Another GIF whose middle frame is an edited copy of the first GIF's middle frame.
  const repost = await animation([photo(distractors[5]), photo(group[1]), photo(distractors[6])]);
  posted.gifRepost = await harness.postImage('memes', harness.bob, 'again.gif', repost);
  assert.equal(noticesFor(posted.gifRepost.id).length, 0, 'GIF reposts are off by default');
  const links = await similar(photo(group[1]), 'query.jpg');
  assert.ok(links.includes(posted.gif.id), '/similar finds the GIF through its middle frame');
  assert.equal(links.filter((id) => id === posted.gif?.id).length, 1, 'one result per GIF, not one per frame');
});

test('with GIF reposts on, a GIF repost gets a notice linking the GIF it repeats', { skip }, async () => {
  const interaction = await harness.fake.sendSlashCommand({ channelId: harness.guild.channelId('general'), userId: harness.owner.id, name: 'dejavu', options: [{ name: 'config', options: [{ name: 'gif-reposts', value: true }] }] });
  await harness.fake.waitFor(() => harness.fake.interactionResponses(interaction.id).edits.length > 0 || undefined, 20_000, 'config saved');
  assert.equal((await harness.bot.services.settings.get(harness.guild.id)).gifReposts, true);
  const group = groups[2]!;
  const third = await animation([photo(distractors[7]), photo(group[2]), photo(distractors[8])]);
  posted.gifThird = await harness.postImage('memes', harness.bob, 'third.gif', third);
  const notice = noticesFor(posted.gifThird.id)[0];
  assert.ok(notice, 'a notice for the GIF repost');
  assert.ok(linkedMessageIds(notice.content).includes(posted.gif?.id ?? ''), 'it links the first GIF');
});

test('an identical GIF repost is stored with all its frames and noticed', { skip }, async () => {
  const gif = harness.fake.message(posted.gif?.id ?? '')?.attachments[0]?.bytes;
  assert.ok(gif);
  const copy = await harness.fake.postMessage({ channelId: harness.guild.channelId('general'), authorId: harness.bob.id, attachments: [{ filename: 'same.gif', bytes: gif }] });
  await harness.fake.waitFor(() => harness.bot.client.channels.cache.some((c) => c.isTextBased() && c.messages.cache.has(copy.id)), 30_000, 'received');
  await harness.bot.settle();
  assert.equal(await records(copy.id), 3);
  const notice = noticesFor(copy.id)[0];
  assert.ok(notice && linkedMessageIds(notice.content).includes(posted.gif?.id ?? ''));
});

test('a short video repost (another encoding of an edited copy) gets a notice linking the first video', { skip: skipVideo }, async () => {
  const group = groups[3]!;
  const first = await video([photo(group[0]), photo(distractors[9])], { seconds: 2 });
  posted.video = await harness.postImage('general', harness.alice, 'clip.mp4', first);
  assert.ok((await records(posted.video.id)) >= 2, 'keyframes indexed');
  const second = await video([photo(group[1]), photo(distractors[10])], { seconds: 2, width: 480, height: 360 });
  posted.videoRepost = await harness.postImage('memes', harness.bob, 'clip-again.mp4', second);
  const notice = noticesFor(posted.videoRepost.id)[0];
  assert.ok(notice, 'a notice for the video repost');
  assert.ok(linkedMessageIds(notice.content).includes(posted.video.id));
  assert.ok((await similar(photo(group[0]), 'still.jpg')).includes(posted.video.id), '/similar finds the video from a still');
});
