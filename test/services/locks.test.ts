/**
 * Channel locks: the in-process lock, and the Redis lock against the real Redis of TEST_REDIS_URL, where
 * two lock services stand for two processes. Without TEST_REDIS_URL the Redis cases skip visibly.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDejavuError } from '../../src/errors.ts';
import { createLockService, LocalLockService, newRedisClient, type LockService } from '../../src/services/locks.ts';
import { requireServer } from '../helpers/servers.ts';

const REDIS_URL = process.env.TEST_REDIS_URL;
const prefix = `test-locks-${process.pid}-${Date.now()}`;


/** Two "processes" sharing one Redis; closed after the test. */
async function twoProcesses(t: TestContext, ttlMs: number): Promise<[LockService, LockService]> {
  const a = await createLockService({ redisUrl: REDIS_URL, prefix, ttlMs });
  const b = await createLockService({ redisUrl: REDIS_URL, prefix, ttlMs });
  t.after(() => Promise.all([a.close(), b.close()]));
  return [a, b];
}

test('local locks: one holder per key, released by the holder, withLock refuses a held key with LOCKED', async () => {
  const locks = new LocalLockService();
  const first = await locks.tryAcquire('backfill:1:2');
  assert.ok(first);
  assert.equal(await locks.tryAcquire('backfill:1:2'), undefined, 'held');
  assert.ok(await locks.tryAcquire('backfill:1:3'), 'another key is free');
  await assert.rejects(locks.withLock('backfill:1:2', () => Promise.resolve(1)), (error) => isDejavuError(error) && error.code === 'LOCKED');
  await first.release();
  assert.ok(first.signal.aborted, 'a released lock signals its holder');
  assert.equal(await locks.withLock('backfill:1:2', () => Promise.resolve(42)), 42);
  assert.ok(await locks.tryAcquire('backfill:1:2'), 'withLock released it');
  await locks.close();
});

test('redis locks: one process at a time; the other gets it once released', async (t) => {
  if (requireServer(t, 'TEST_REDIS_URL') === undefined) return;
  const [a, b] = await twoProcesses(t, 5000);
  const held = await a.tryAcquire('channel:1');
  assert.ok(held);
  assert.equal(await b.tryAcquire('channel:1'), undefined, 'the second process is refused');
  await assert.rejects(b.withLock('channel:1', () => Promise.resolve()), (error) => isDejavuError(error) && error.code === 'LOCKED');
  await held.release();
  const taken = await b.tryAcquire('channel:1');
  assert.ok(taken, 'free after release');
  assert.equal(await a.tryAcquire('channel:1'), undefined);
  await taken.release();
});

test('redis locks: renewed while held (outlive their ttl), expire when the holder dies', async (t) => {
  if (requireServer(t, 'TEST_REDIS_URL') === undefined) return;
  const ttlMs = 600;
  const [a, b] = await twoProcesses(t, ttlMs);
  const held = await a.tryAcquire('channel:renew');
  assert.ok(held);
  await sleep(ttlMs * 3);
  assert.equal(held.signal.aborted, false, 'still held');
  assert.equal(await b.tryAcquire('channel:renew'), undefined, 'renewal kept it past three ttls');

  // A process that dies: its client goes away without releasing; nothing renews the lease any more.
  const dying = await createLockService({ redisUrl: REDIS_URL, prefix, ttlMs });
  assert.ok(await dying.tryAcquire('channel:crash'));
  const started = Date.now();
  (dying as unknown as { client: { destroy(): void } }).client.destroy();
  let taken = await b.tryAcquire('channel:crash');
  while (taken === undefined && Date.now() - started < ttlMs * 4) {
    await sleep(50);
    taken = await b.tryAcquire('channel:crash');
  }
  assert.ok(taken, 'the lock of a dead holder expires');
  assert.ok(Date.now() - started >= ttlMs * 0.8, `not before its ttl (${Date.now() - started} ms)`);
  await taken.release();
  await held.release();
});

test('redis locks: only the owner releases; a holder whose lock was taken over is told to stop', async (t) => {
  if (requireServer(t, 'TEST_REDIS_URL') === undefined) return;
  const ttlMs = 600;
  const [a] = await twoProcesses(t, ttlMs);
  const held = await a.tryAcquire('channel:owner');
  assert.ok(held);
  const client = newRedisClient(REDIS_URL ?? '');
  await client.connect();
  t.after(() => client.close());
  const key = `${prefix}:lock:channel:owner`;
  const token = await client.get(key);
  assert.ok(token && token.length === 32, 'a random token per holder');

  // Another owner takes the key (as if our lease had expired during a long pause): we must notice and stop,
  // and our release must not delete their lock.
  await client.set(key, 'someone-else', { expiration: { type: 'PX', value: 10_000 } });
  const started = Date.now();
  while (!held.signal.aborted && Date.now() - started < ttlMs * 2) await sleep(20);
  assert.ok(held.signal.aborted, 'the renewal found the lock taken and aborted the holder');
  await held.release();
  assert.equal(await client.get(key), 'someone-else', 'the former holder did not delete the new owner’s lock');
  await client.del(key);
});
