/** src/discord/links.ts: message links, timestamps, and parsing what a member pastes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { discordTimestamp, messageLink, parseMessageReference } from '../../src/discord/links.ts';

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
