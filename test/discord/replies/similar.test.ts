/** src/discord/replies/similar.ts: the similarity answer's embeds and page buttons. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translate } from '../../../src/discord/i18n.ts';
import { messageLink } from '../../../src/discord/links.ts';
import { pageButtonId, parsePageButtonId, similarReply } from '../../../src/discord/replies/similar.ts';

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
