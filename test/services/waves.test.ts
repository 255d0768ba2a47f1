/**
 * Spam-wave tracking on a real keyv (SQLite, and Redis when TEST_REDIS_URL is set): copies join one wave,
 * the actor (the Discord layer's callback) is called once the rule is met and every time the wave grows,
 * actions are due once each, and two service instances (two processes) share one wave through Redis.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLockService } from '../../src/services/locks.ts';
import { DEFAULT_GUILD_SETTINGS } from '../../src/services/settings.ts';
import type { EarlierDuplicate } from '../../src/services/types.ts';
import { dueActions, isWave, WaveService, WAVES_NAMESPACE, wavesActive, type WaveActor, type WavePost, type WaveState } from '../../src/services/waves.ts';
import { createKeyv } from '../../src/store/keyv.ts';
import type { ImageRecord } from '../../src/store/types.ts';
import { requireServer } from '../helpers/servers.ts';

const GUILD = '100';
const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 1);

function record(id: number, channelId: string, authorId: string, createdAt: number, contentHash = `hash-${id}`): ImageRecord {
  return {
    id,
    guildId: GUILD,
    channelId,
    messageId: `m${id}`,
    sourceKey: `a${id}`,
    authorId,
    createdAt,
    nsfw: false,
    kind: 'attachment',
    label: `${id}.png`,
    contentHash,
    width: 10,
    height: 10,
    signature: new Uint8Array(0),
  };
}

function post(r: ImageRecord): WavePost {
  return { channelId: r.channelId, messageId: r.messageId, authorId: r.authorId, createdAt: r.createdAt, recordId: r.id, contentHash: r.contentHash };
}

function match(r: ImageRecord, exact = false): EarlierDuplicate {
  return { record: r, similarity: exact ? 1 : 0.9, cosine: 0.95, exact, kind: 'repost' };
}

/** An actor that records its calls and answers like the Discord layer (one alert, every due action done). */
function recordingActor(): { actor: WaveActor; calls: Array<{ wave: WaveState; due: number }> } {
  const calls: Array<{ wave: WaveState; due: number }> = [];
  const actor: WaveActor = (wave, due) => {
    calls.push({ wave, due: due.length });
    return Promise.resolve({ alert: wave.alert ?? { channelId: 'log', messageId: `alert-${calls.length}` }, actions: due.map((action) => ({ ...action, outcome: 'done' as const })) });
  };
  return { actor, calls };
}

const settings = { ...DEFAULT_GUILD_SETTINGS, logChannelId: 'log' };

test('waves need a log channel and can be turned off: without either nothing is tracked', () => {
  assert.equal(wavesActive(DEFAULT_GUILD_SETTINGS), false, 'no log channel by default');
  assert.equal(wavesActive(settings), true);
  assert.equal(wavesActive({ ...settings, waveAlerts: false }), false);
});

test('copies in three channels make one wave: one alert, then the same alert for every later copy', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'dejavu-waves-'));
  const keyv = createKeyv<unknown>({ dataDir }, WAVES_NAMESPACE);
  const locks = await createLockService();
  try {
    const waves = new WaveService({ keyv, locks });
    const { actor, calls } = recordingActor();
    const copies = [record(1, 'c1', 'u1', T0), record(2, 'c2', 'u1', T0 + MINUTE), record(3, 'c3', 'u1', T0 + 2 * MINUTE), record(4, 'c1', 'u1', T0 + 3 * MINUTE)];
    // The first copy has no duplicate: no wave, no keyv state at all.
    assert.equal(await waves.observe({ guildId: GUILD, post: post(copies[0]!), duplicates: [], settings }, actor), null);
    const second = await waves.observe({ guildId: GUILD, post: post(copies[1]!), duplicates: [match(copies[0]!)], settings }, actor);
    assert.ok(second && !isWave(second, settings), 'two channels are not a wave yet');
    assert.equal(calls.length, 0);
    // The third copy's detector only lists the second one: the wave is found through it.
    const third = await waves.observe({ guildId: GUILD, post: post(copies[2]!), duplicates: [match(copies[1]!)], settings }, actor);
    assert.ok(third && isWave(third, settings));
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]?.wave.posts.map((p) => p.messageId), ['m1', 'm2', 'm3']);
    assert.equal(calls[0]?.wave.alert, null, 'the first call posts the alert');
    const fourth = await waves.observe({ guildId: GUILD, post: post(copies[3]!), duplicates: [match(copies[2]!)], settings }, actor);
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[1]?.wave.alert, { channelId: 'log', messageId: 'alert-1' }, 'the later call edits the same alert');
    assert.equal(fourth?.posts.length, 4);
    assert.equal(fourth?.id, third.id);
  } finally {
    await keyv.disconnect();
    await locks.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('three accounts in one channel are a wave; old originals and slow copies are not', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'dejavu-waves-'));
  const keyv = createKeyv<unknown>({ dataDir }, WAVES_NAMESPACE);
  const locks = await createLockService();
  try {
    const waves = new WaveService({ keyv, locks });
    const { actor, calls } = recordingActor();
    // A month-old original and two copies an hour apart: ordinary reposts.
    const old = record(10, 'c1', 'u1', T0 - 30 * 24 * 60 * MINUTE);
    assert.equal(await waves.observe({ guildId: GUILD, post: post(record(11, 'c2', 'u2', T0)), duplicates: [match(old)], settings }, actor), null, 'the old original is outside the window');
    const late = record(12, 'c3', 'u3', T0 + 60 * MINUTE);
    assert.equal(await waves.observe({ guildId: GUILD, post: post(late), duplicates: [match(record(11, 'c2', 'u2', T0))], settings }, actor), null);
    assert.equal(calls.length, 0);
    // Three accounts in one channel within the window.
    const a = record(20, 'c1', 'u1', T0, 'same');
    const b = record(21, 'c1', 'u2', T0 + MINUTE, 'same');
    const c = record(22, 'c1', 'u3', T0 + 2 * MINUTE, 'same');
    await waves.observe({ guildId: GUILD, post: post(a), duplicates: [], settings }, actor);
    await waves.observe({ guildId: GUILD, post: post(b), duplicates: [match(a, true)], settings }, actor);
    assert.equal(calls.length, 0);
    // Identical bytes whose earlier records are gone (deleted by the wave) still find it through the hash.
    const wave = await waves.observe({ guildId: GUILD, post: post(c), duplicates: [], settings }, actor);
    assert.ok(wave && isWave(wave, settings), 'found through the content hash');
    assert.equal(calls.length, 1);
    assert.equal(new Set(wave.posts.map((p) => p.authorId)).size, 3);
  } finally {
    await keyv.disconnect();
    await locks.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('due actions: every copy deleted once and every poster timed out once, only when asked', () => {
  const base: WaveState = {
    id: 'w',
    guildId: GUILD,
    startedAt: T0,
    lastAt: T0,
    posts: [post(record(1, 'c1', 'u1', T0)), post(record(2, 'c2', 'u1', T0)), post(record(3, 'c3', 'u2', T0))],
    morePosts: 0,
    alert: null,
    actions: [],
  };
  assert.deepEqual(dueActions(base, settings), [], 'actions are off by default');
  const acting = { ...settings, waveDeleteCopies: true, waveTimeoutMinutes: 10 };
  const due = dueActions(base, acting);
  assert.deepEqual(due.map((action) => `${action.kind}:${action.target}`), ['delete:m1', 'delete:m2', 'delete:m3', 'timeout:u1', 'timeout:u2']);
  const after = { ...base, actions: due.slice(0, 4).map((action) => ({ ...action, outcome: 'done' as const })) };
  assert.deepEqual(dueActions(after, acting).map((action) => `${action.kind}:${action.target}`), ['timeout:u2']);
});

test('two processes sharing Redis see one wave and post one alert', async (t) => {
  const redisUrl = requireServer(t, 'TEST_REDIS_URL');
  if (redisUrl === undefined) return;
  const dataDir = await mkdtemp(join(tmpdir(), 'dejavu-waves-'));
  const prefix = `dejavu-waves-test-${process.pid}-${Date.now()}`;
  const options = { dataDir, keyvUrl: `${redisUrl.replace(/\/$/, '')}` };
  const keyvs = [createKeyv<unknown>(options, `${WAVES_NAMESPACE}-${prefix}`), createKeyv<unknown>(options, `${WAVES_NAMESPACE}-${prefix}`)];
  const lockServices = await Promise.all([createLockService({ redisUrl, prefix }), createLockService({ redisUrl, prefix })]);
  try {
    const services = keyvs.map((keyv, index) => new WaveService({ keyv, locks: lockServices[index]! }));
    const { actor, calls } = recordingActor();
    const copies = Array.from({ length: 6 }, (_, index) => record(100 + index, `c${index % 3}`, `u${index % 2}`, T0 + index * 1000, 'spam'));
    // Copies arrive alternately at the two processes, some at the same moment.
    await services[0]!.observe({ guildId: GUILD, post: post(copies[0]!), duplicates: [], settings }, actor);
    await services[1]!.observe({ guildId: GUILD, post: post(copies[1]!), duplicates: [match(copies[0]!, true)], settings }, actor);
    await Promise.all(
      copies.slice(2).map((copy, index) =>
        services[index % 2]!.observe({ guildId: GUILD, post: post(copy), duplicates: copies.slice(0, 2 + index).map((earlier) => match(earlier, true)), settings }, actor),
      ),
    );
    const alerts = new Set(calls.map((call) => call.wave.alert?.messageId ?? 'new'));
    assert.equal(calls.filter((call) => call.wave.alert === null).length, 1, 'exactly one call posted an alert');
    assert.equal(alerts.size, 2, 'every later call edits that alert');
    const final = await services[0]!.waveOfRecord(GUILD, copies[5]!.id);
    assert.equal(final?.posts.length, 6);
  } finally {
    for (const keyv of keyvs) {
      await keyv.clear().catch(() => undefined);
      await keyv.disconnect();
    }
    await Promise.all(lockServices.map((locks) => locks.close()));
    await rm(dataDir, { recursive: true, force: true });
  }
});
