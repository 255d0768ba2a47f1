/** Pure parts of the Discord layer: links, i18n coverage, reply format, collage, progress text, ids. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { formatDuration, progressBar, progressText } from '../../src/discord/backfill.ts';
import { languageOf, translate } from '../../src/discord/i18n.ts';
import { isImageAttachment } from '../../src/discord/images.ts';
import { discordTimestamp, messageLink, parseMessageReference } from '../../src/discord/links.ts';
import { buildCollage } from '../../src/discord/replies/collage.ts';
import { pageButtonId, parsePageButtonId, similarReply } from '../../src/discord/replies/similar.ts';
import { SimilarSessions } from '../../src/discord/sessions.ts';
import { commandDefinitions } from '../../src/discord/commands.ts';
import { parseEmoji } from '../../commands/dejavu.ts';

const LOCALES = join(import.meta.dirname, '..', '..', 'src', 'discord', 'locales');

function keysOf(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null) return [prefix];
  return Object.entries(value).flatMap(([key, child]) => keysOf(child, prefix ? `${prefix}.${key}` : key));
}

test('every English string has a Japanese translation and vice versa', () => {
  const en = keysOf(JSON.parse(readFileSync(join(LOCALES, 'en.json'), 'utf8'))).sort();
  const ja = keysOf(JSON.parse(readFileSync(join(LOCALES, 'ja.json'), 'utf8'))).sort();
  assert.deepEqual(ja, en);
});

test('languages follow the override, then the user locale, then the guild locale', () => {
  assert.equal(languageOf(null, 'ja', 'en-US'), 'ja');
  assert.equal(languageOf('en', 'ja'), 'en');
  assert.equal(languageOf(undefined, 'fr', 'ja'), 'ja');
  assert.equal(languageOf(undefined, 'de'), 'en');
  assert.match(translate('ja')('similar.cooldown', { seconds: 4 }), /4 秒/);
});

test('message links and timestamps', () => {
  assert.equal(messageLink({ guildId: '1', channelId: '2', messageId: '3' }), 'https://discord.com/channels/1/2/3');
  assert.equal(discordTimestamp(1_700_000_000_999), '<t:1700000000:f>');
  assert.deepEqual(parseMessageReference('https://discord.com/channels/111111111111111111/222222222222222222/333333333333333333'), {
    guildId: '111111111111111111',
    channelId: '222222222222222222',
    messageId: '333333333333333333',
  });
  assert.deepEqual(parseMessageReference(' 333333333333333333 '), { messageId: '333333333333333333' });
  assert.equal(parseMessageReference('https://evil.example/channels/1/2/3'), null);
  assert.equal(parseMessageReference('hello'), null);
});

test('image attachments: image/* except SVG, or an image file name when the type is missing', () => {
  assert.equal(isImageAttachment({ contentType: 'image/webp', name: 'a.bin' }), true);
  assert.equal(isImageAttachment({ contentType: 'image/svg+xml', name: 'a.svg' }), false);
  assert.equal(isImageAttachment({ contentType: 'video/mp4', name: 'a.mp4' }), false);
  assert.equal(isImageAttachment({ contentType: null, name: 'photo.AVIF' }), true);
  assert.equal(isImageAttachment({ contentType: null, name: 'notes.txt' }), false);
});

test('similar reply: one embed per match, jump link and percent, page buttons only when there are pages', () => {
  const t = translate('en');
  const matches = [
    { link: messageLink({ guildId: '1', channelId: '2', messageId: '3' }), percent: 97.25, authorId: '42', createdAt: 1_700_000_000_000, label: 'cat.jpg', thumbnailUrl: 'https://cdn.discordapp.com/x.png' },
    { link: messageLink({ guildId: '1', channelId: '2', messageId: '4' }), percent: 80, authorId: '43', createdAt: 1_700_000_100_000, label: 'dog.jpg' },
  ];
  const reply = similarReply({ t, matches, page: 0, hasMore: true, sessionId: 'abc' });
  assert.equal(reply.embeds.length, 2);
  const first = reply.embeds[0]?.toJSON();
  assert.match(first?.description ?? '', /97\.3%/);
  assert.match(first?.description ?? '', /https:\/\/discord\.com\/channels\/1\/2\/3/);
  assert.equal(first?.thumbnail?.url, 'https://cdn.discordapp.com/x.png');
  const buttons = reply.components[0]?.toJSON().components ?? [];
  assert.equal(buttons.length, 2);
  assert.deepEqual(parsePageButtonId(pageButtonId('abc', 1)), { sessionId: 'abc', page: 1 });
  assert.equal(similarReply({ t, matches, page: 0, hasMore: false, sessionId: 'abc' }).components.length, 0);
  assert.equal(similarReply({ t, matches: [], page: 0, hasMore: false }).content, t('similar.none'));
});

test('collage: a grid of tiles, broken images become placeholders', async () => {
  const red = await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toBuffer();
  const collage = await buildCollage([red, new Uint8Array([1, 2, 3]), null], { tile: 100, columns: 5 });
  assert.ok(collage);
  const meta = await sharp(collage).metadata();
  assert.equal(meta.format, 'jpeg');
  assert.equal(meta.width, 3 * 100 + 4 * 4);
  assert.equal(meta.height, 100 + 2 * 4);
  const { data } = await sharp(collage).extract({ left: 40, top: 40, width: 1, height: 1 }).raw().toBuffer({ resolveWithObject: true });
  assert.ok((data[0] ?? 0) > 200 && (data[1] ?? 255) < 60, 'first tile is the red image');
  assert.equal(await buildCollage([]), null);
});

test('backfill progress text has a bar, counts and an ETA', () => {
  const t = translate('en');
  assert.equal(progressBar(0.5), `\`${'█'.repeat(10)}${'░'.repeat(10)}\``);
  const text = progressText(t, { channelsDone: 1, channelsTotal: 2, messages: 300, images: 120, current: null, startedAt: 0 }, false, 10_000);
  assert.match(text, /50%/);
  assert.match(text, /1\/2/);
  assert.match(text, /300/);
  assert.match(text, /10 s/);
});

test('backfill durations use the reader\'s units: s/min/h in English, 秒/分/時間 in Japanese', () => {
  const en = translate('en');
  const ja = translate('ja');
  assert.equal(formatDuration(en, 42), '42 s');
  assert.equal(formatDuration(en, 200), '3 min 20 s');
  assert.equal(formatDuration(en, 7380), '2 h 3 min');
  assert.equal(formatDuration(ja, 42), '42秒');
  assert.equal(formatDuration(ja, 200), '3分20秒');
  assert.equal(formatDuration(ja, 7380), '2時間3分');
  const text = progressText(ja, { channelsDone: 1, channelsTotal: 4, messages: 300, images: 120, current: null, startedAt: 0 }, false, 600_000);
  assert.match(text, /残り時間：30分0秒/);
  assert.doesNotMatch(text, /\d (s|min|h)\b/);
});

test('paging sessions expire', () => {
  const sessions = new SimilarSessions(1000);
  const id = sessions.create({ guildId: '1', askerId: '2', replyChannelId: '3', ephemeral: true, query: { vector: new Float32Array(2) }, k: 5, excludeMessageIds: [], excludeSourceKeys: [] }, 0);
  assert.equal(sessions.get(id, 500)?.askerId, '2');
  assert.equal(sessions.get(id, 1500), undefined);
});

test('custom emoji are stored by id', () => {
  assert.equal(parseEmoji('<:pepe:123456789012345678>'), '123456789012345678');
  assert.equal(parseEmoji(' 🔍 '), '🔍');
});

test('command definitions: names, Japanese localisations; /dejavu open to members (forget-me), Manage Server checked per subcommand', () => {
  const definitions = commandDefinitions() as Array<{ name: string; name_localizations?: Record<string, string>; default_member_permissions?: string | null; type?: number }>;
  const byName = new Map(definitions.map((definition) => [definition.name, definition]));
  assert.deepEqual([...byName.keys()].sort(), ['Find similar images', 'dejavu', 'similar']);
  assert.equal(byName.get('similar')?.name_localizations?.ja, '似た画像');
  assert.equal(byName.get('Find similar images')?.type, 3);
  assert.equal(byName.get('dejavu')?.default_member_permissions ?? null, null);
  const subcommands = (byName.get('dejavu') as { options?: Array<{ name: string; name_localizations?: Record<string, string> }> } | undefined)?.options ?? [];
  for (const name of ['forget-me', 'forget', 'remember-me']) assert.ok(subcommands.find((sub) => sub.name === name)?.name_localizations?.ja, `/dejavu ${name} in Japanese`);
});
