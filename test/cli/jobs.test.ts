/**
 * `dejavu jobs` (bin/dejavu.js as a process) against the real Redis of TEST_REDIS_URL, on a key prefix of
 * its own: enqueue, counts, the dead-letter list and retry. Skips visibly without TEST_REDIS_URL.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { createNodeRedisClient, Worker } from 'bullmq';
import { BullJobQueue, QUEUE_NAME } from '../../src/services/jobs/bullmq.ts';
import { newRedisClient } from '../../src/services/locks.ts';

const execFileAsync = promisify(execFile);
const BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'dejavu.js');
const REDIS_URL = process.env.TEST_REDIS_URL;
const skip = REDIS_URL === undefined ? 'SKIPPED: TEST_REDIS_URL is not set (source .ci/services.sh && start_services)' : false;
if (skip) console.warn(skip);
const prefix = `test-cli-jobs-${process.pid}-${Date.now()}`;

async function dejavu(args: string[], environment: Record<string, string> = { REDIS_URL: REDIS_URL ?? '', REDIS_PREFIX: prefix, JOB_ATTEMPTS: '1' }): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...environment } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

test('dejavu jobs: refuses without REDIS_URL, enqueues, lists dead letters and retries them', { skip }, async (t) => {
  const queue = await new BullJobQueue(undefined, { redisUrl: REDIS_URL ?? '', prefix, concurrency: 1, attempts: 1, backoffMs: 0, lockMs: 2000 }).ready();
  t.after(async () => {
    await queue.obliterate();
    await queue.close();
  });

  const without = await dejavu(['jobs'], {});
  assert.equal(without.code, 2);
  assert.match(without.stderr, /REDIS_URL is not set/);

  const queued = await dejavu(['jobs', 'reembed', '1000', '2000', '--json']);
  assert.equal(queued.code, 0, queued.stderr);
  const ticket = JSON.parse(queued.stdout) as { id: string; job: { kind: string } };
  assert.equal(ticket.job.kind, 'reembed');
  assert.equal((await dejavu(['jobs', 'backfill', 'not-an-id', '2000'])).code, 2, 'ids are checked');

  // A worker whose every run fails (JOB_ATTEMPTS=1 when queued): the job becomes a dead letter.
  const client = newRedisClient(REDIS_URL ?? '');
  const worker = new Worker(QUEUE_NAME, () => Promise.reject(new Error('Discord is down (simulated)')), { connection: createNodeRedisClient(client), prefix });
  await new Promise<void>((done) => worker.once('failed', () => done()));
  await worker.close();
  await client.close();

  const listed = await dejavu(['jobs', '--json']);
  const report = JSON.parse(listed.stdout) as { counts: { failed: number; waiting: number }; deadLetters: Array<{ id: string; attempts: number; reason: string; job: { channelId: string } }> };
  assert.equal(report.counts.failed, 1);
  assert.deepEqual(report.deadLetters.map((letter) => [letter.id, letter.job.channelId, letter.attempts, letter.reason]), [[ticket.id, '2000', 1, 'Discord is down (simulated)']]);
  const text = await dejavu(['jobs']);
  assert.match(text.stdout, new RegExp(`dead\\t${ticket.id}\\treembed\\t1000\\t2000\\t1 attempts`));

  assert.equal((await dejavu(['jobs', 'retry', 'nope'])).code, 1);
  const retried = await dejavu(['jobs', 'retry', ticket.id]);
  assert.equal(retried.code, 0, retried.stderr);
  assert.deepEqual(await queue.counts(), { waiting: 1, active: 0, delayed: 0, failed: 0, completed: 0 });
});

test('dejavu jobs resign queues a re-signing job; the same channel is queued once', { skip }, async (t) => {
  const resignPrefix = `${prefix}-resign`;
  const environment = { REDIS_URL: REDIS_URL ?? '', REDIS_PREFIX: resignPrefix };
  const queue = await new BullJobQueue(undefined, { redisUrl: REDIS_URL ?? '', prefix: resignPrefix, concurrency: 1, attempts: 1, backoffMs: 0, lockMs: 2000 }).ready();
  t.after(async () => {
    await queue.obliterate();
    await queue.close();
  });
  const first = await dejavu(['jobs', 'resign', '1000', '3000', '--json'], environment);
  assert.equal(first.code, 0, first.stderr);
  const ticket = JSON.parse(first.stdout) as { id: string; job: { kind: string; channelId: string } };
  assert.deepEqual([ticket.job.kind, ticket.job.channelId], ['resign', '3000']);
  const second = await dejavu(['jobs', 'resign', '1000', '3000', '--json'], environment);
  assert.equal((JSON.parse(second.stdout) as { id: string }).id, ticket.id, 'a pending job of the channel is reused');
  assert.equal((await queue.counts()).waiting, 1);
});
