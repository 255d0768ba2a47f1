import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DejavuError } from '../../src/errors.ts';
import { CooldownTracker, DEFAULT_GUILD_SETTINGS, GuildSettingsStore, parseStoredSettings, SETTINGS_NAMESPACE } from '../../src/services/settings.ts';
import { createKeyv } from '../../src/store/keyv.ts';

test('settings: defaults, validated updates, persisted across instances, guilds kept apart', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'dejavu-settings-'));
  try {
    const keyv = createKeyv({ dataDir }, SETTINGS_NAMESPACE);
    const settings = new GuildSettingsStore(keyv);
    const defaults = await settings.get('111');
    assert.equal(defaults.noticeMode, 'reply');
    assert.equal(defaults.sameAuthorLeewayMs, 24 * 60 * 60 * 1000);
    assert.equal(defaults.reactionEmoji, '🔍');
    assert.equal(defaults.includeOtherBots, false);
    assert.equal(defaults.ephemeralReplies, true);
    assert.equal(defaults.duplicateThreshold, null);

    const updated = await settings.update('111', { noticeMode: 'log', logChannelId: '222', ignoredChannelIds: ['5', '5', '6'] });
    assert.equal(updated.noticeMode, 'log');
    assert.deepEqual(updated.ignoredChannelIds, ['5', '6']);
    await assert.rejects(
      settings.update('111', { duplicateThreshold: 1.5 }),
      (error: unknown) => error instanceof DejavuError && error.code === 'INVALID_INPUT' && /duplicateThreshold/.test(error.message),
    );
    await assert.rejects(settings.update('111', { logChannelId: 'general' }), (error: unknown) => error instanceof DejavuError);
    assert.equal((await settings.get('999')).noticeMode, 'reply', 'another guild is untouched');
    await keyv.disconnect();

    const reopened = new GuildSettingsStore(createKeyv({ dataDir }, SETTINGS_NAMESPACE));
    const again = await reopened.get('111');
    assert.equal(again.noticeMode, 'log');
    assert.equal(again.logChannelId, '222');
    assert.equal(again.duplicateThreshold, null, 'the refused update left nothing behind');
    await reopened.remove('111');
    assert.equal((await reopened.get('111')).noticeMode, 'reply');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('stored settings with a bad field keep the good fields and default the bad one', () => {
  const parsed = parseStoredSettings({ noticeMode: 'shout', reactionEmoji: '👀', includeOtherBots: true });
  assert.equal(parsed.noticeMode, DEFAULT_GUILD_SETTINGS.noticeMode);
  assert.equal(parsed.reactionEmoji, '👀');
  assert.equal(parsed.includeOtherBots, true);
  assert.deepEqual(parseStoredSettings(undefined), DEFAULT_GUILD_SETTINGS);
});

test('cooldown: one action per window per key', () => {
  const cooldowns = new CooldownTracker(10_000, 3);
  assert.equal(cooldowns.tryAcquire('g:u1', 0), true);
  assert.equal(cooldowns.tryAcquire('g:u1', 5_000), false);
  assert.equal(cooldowns.remainingMs('g:u1', 5_000), 5_000);
  assert.equal(cooldowns.tryAcquire('g:u2', 5_000), true, 'another user is not affected');
  assert.equal(cooldowns.tryAcquire('g:u1', 10_000), true);
  // Bounded memory: more keys than the cap still works.
  for (let user = 0; user < 10; user += 1) assert.equal(cooldowns.tryAcquire(`g:x${user}`, 20_000), true);
});
