/** src/discord/sessions.ts: paging sessions of similarity answers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimilarSessions } from '../../src/discord/sessions.ts';

test('paging sessions expire', () => {
  const sessions = new SimilarSessions(1000);
  const id = sessions.create({ guildId: '1', askerId: '2', replyChannelId: '3', ephemeral: true, query: { vector: new Float32Array(2) }, k: 5, excludeMessageIds: [], excludeSourceKeys: [] }, 0);
  assert.equal(sessions.get(id, 500)?.askerId, '2');
  assert.equal(sessions.get(id, 1500), undefined);
});
