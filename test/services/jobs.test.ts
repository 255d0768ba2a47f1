/**
 * Channel jobs through real services (real indexer, embedder and store) over a simulated channel history:
 * the in-process runner (no Redis), and BullMQ on the real Redis of TEST_REDIS_URL — durable before any
 * worker runs, followed from another queue client, deduplicated, retried with backoff resuming from the
 * cursor, and dead-lettered after its attempts. Killing a worker process mid-job is in
 * test/discord/shards.test.ts (two bot processes). Without TEST_REDIS_URL the BullMQ cases skip visibly.
 */
import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { compareSnowflakes } from '../../src/services/backfill.ts';
import { BullJobQueue } from '../../src/services/jobs/bullmq.ts';
import type { BackfillProgress, FetchHistoryPage, HistoryMessage } from '../../src/services/types.ts';
import { hasShared, requireShared } from '../helpers/shared.ts';
import { removeDir, startCdn, startServices, type LocalCdn, type TestServices } from './helpers.ts';
import { requireServer } from '../helpers/servers.ts';

const REDIS_URL = process.env.TEST_REDIS_URL;
const DISCORD_EPOCH = 1_420_070_400_000;
const CHANNEL_CREATED = Date.UTC(2025, 3, 1);
const PHOTOS = ['img_0322.jpg', 'img_0001.jpg', 'img_0699.jpg', 'img_0026.jpg'];

function snowflake(time: number, sequence = 0): string {
  return ((BigInt(time - DISCORD_EPOCH) << 22n) | BigInt(sequence)).toString();
}

/** A channel of `count` messages, one a minute; every 5th carries one image (bytes of a few photos, reused). */
function history(cdn: LocalCdn, guildId: string, channelId: string, count: number): HistoryMessage[] {
  return Array.from({ length: count }, (_, index) => {
    const createdAt = CHANNEL_CREATED + (index + 1) * 60_000;
    const id = snowflake(createdAt);
    const photo = PHOTOS[(index / 5) % PHOTOS.length]!;
    return {
      id,
      authorId: 'user1',
      authorIsBot: false,
      images:
        index % 5 === 0
          ? [{ source: { guildId, channelId, messageId: id, sourceKey: `att-${id}`, authorId: 'user1', createdAt, nsfw: false, kind: 'attachment' as const, label: photo }, url: `${cdn.base}/oxford/${photo}`, contentType: 'image/jpeg' }]
          : [],
    };
  });
}

/** Discord's paging (newest first, `before`) over an in-memory channel; `failing()` decides per call. */
function pager(messages: HistoryMessage[], calls: Array<string | undefined>, failing: (call: number) => boolean = () => false): FetchHistoryPage {
  return (_channelId, page) => {
    calls.push(page.before);
    if (failing(calls.length)) return Promise.reject(new Error('Discord is down (simulated)'));
    const newestFirst = [...messages].sort((a, b) => compareSnowflakes(b.id, a.id));
    const older = page.before === undefined ? newestFirst : newestFirst.filter((message) => compareSnowflakes(message.id, page.before!) < 0);
    return Promise.resolve({ messages: older.slice(0, page.limit) });
  };
}


let cdn: LocalCdn;
const dirs: string[] = [];
const prefix = `test-jobs-${process.pid}-${Date.now()}`;

before(async () => {
  if (hasShared()) cdn = await startCdn();
});

after(async () => {
  await cdn?.close();
  for (const dir of dirs) await removeDir(dir);
});

async function obliterate(redisUrl: string, queuePrefix: string): Promise<void> {
  const queue = new BullJobQueue(undefined, { redisUrl, prefix: queuePrefix, concurrency: 1, attempts: 1, backoffMs: 0, lockMs: 1000 });
  await queue.ready();
  await queue.obliterate();
  await queue.close();
}

async function services(t: TestContext, environment: Record<string, string> = {}): Promise<TestServices> {
  const setup = await startServices(undefined, environment);
  dirs.push(setup.dataDir);
  t.after(async () => {
    await setup.services.close();
    // Then remove the queue's keys (the worker is gone, so nothing writes them again).
    if (setup.config.REDIS_URL !== undefined) await obliterate(setup.config.REDIS_URL, setup.config.REDIS_PREFIX);
  });
  return setup;
}

test('without Redis: jobs run in-process, one channel job at a time; a failing job lands in the dead-letter list', async (t) => {
  if (!requireShared(t)) return;
  const { services: app } = await services(t);
  assert.equal(app.jobs.kind, 'local');
  const guildId = snowflake(CHANNEL_CREATED - 1000);
  const channelId = snowflake(CHANNEL_CREATED);
  const messages = history(cdn, guildId, channelId, 150);
  const calls: Array<string | undefined> = [];
  const ticket = await app.jobs.enqueue({ kind: 'backfill', guildId, channelId });
  assert.deepEqual(await app.jobs.enqueue({ kind: 'backfill', guildId, channelId }), ticket, 'the same pending job is reused');
  assert.equal((await app.jobs.counts()).waiting, 1, 'waits until the Discord layer starts the runner');
  await app.jobs.start((id) => (id === guildId ? pager(messages, calls) : pager([], [])));
  const updates: BackfillProgress[] = [];
  const result = await app.jobs.wait(ticket, (progress) => updates.push(progress));
  assert.equal(result.done, true);
  assert.equal(result.scanned, 150);
  assert.equal(result.indexed, 30);
  assert.ok(updates.length >= 2, 'progress per page');
  assert.equal((await app.stats(guildId)).imagesIndexed, 30);
  assert.deepEqual(await app.jobs.wait(ticket), result, 'waiting after the end still gives the outcome');

  // A re-embedding forgets the channel's images and crawls it again from the top.
  const reembed = await app.jobs.wait(await app.jobs.enqueue({ kind: 'reembed', guildId, channelId }));
  assert.equal(reembed.indexed, 30, 'every image indexed again');
  assert.equal((await app.stats(guildId)).imagesIndexed, 30);

  const broken = snowflake(CHANNEL_CREATED + 5);
  await app.jobs.start(() => pager([], [], () => true));
  const failing = await app.jobs.enqueue({ kind: 'backfill', guildId, channelId: broken });
  await assert.rejects(app.jobs.wait(failing), /simulated/);
  const dead = await app.jobs.deadLetters();
  assert.equal(dead.length, 1);
  assert.equal(dead[0]?.job.channelId, broken);
  assert.match(dead[0]?.reason ?? '', /Discord is down/);
});

test('BullMQ: a job waits in Redis for a worker, is followed from another client, and completes', async (t) => {
  if (!requireShared(t) || requireServer(t, 'TEST_REDIS_URL') === undefined) return;
  const environment = { REDIS_URL: REDIS_URL!, REDIS_PREFIX: `${prefix}-a`, JOB_LOCK_MS: '2000' };
  const { services: app } = await services(t, environment);
  assert.equal(app.jobs.kind, 'bullmq');
  // Another process's view of the same queue, without a worker: the one editing the progress message.
  const observer = new BullJobQueue(undefined, { redisUrl: REDIS_URL!, prefix: `${prefix}-a`, concurrency: 1, attempts: 1, backoffMs: 100, lockMs: 2000 });
  await observer.ready();
  t.after(() => observer.close());

  const guildId = snowflake(CHANNEL_CREATED - 2000);
  const channelId = snowflake(CHANNEL_CREATED + 10);
  const messages = history(cdn, guildId, channelId, 250);
  const ticket = await observer.enqueue({ kind: 'backfill', guildId, channelId });
  assert.equal((await app.jobs.enqueue({ kind: 'backfill', guildId, channelId })).id, ticket.id, 'deduplicated while pending');
  assert.deepEqual(await observer.counts(), { waiting: 1, active: 0, delayed: 0, failed: 0, completed: 0 });

  const updates: BackfillProgress[] = [];
  const finished = observer.wait(ticket, (progress) => updates.push(progress));
  const calls: Array<string | undefined> = [];
  await app.jobs.start(() => pager(messages, calls), 'test-worker');
  const result = await finished;
  assert.equal(result.done, true);
  assert.equal(result.scanned, 250);
  assert.equal(result.indexed, 50);
  assert.ok(updates.some((progress) => progress.scanned === 200 && !progress.done), 'progress of each page reached the other client');
  assert.equal((await app.stats(guildId)).imagesIndexed, 50);
  assert.equal((await observer.counts()).completed, 1);
});

test('BullMQ: a failed attempt is retried with backoff and resumes from the cursor; exhausted jobs are dead letters', async (t) => {
  if (!requireShared(t) || requireServer(t, 'TEST_REDIS_URL') === undefined) return;
  const environment = { REDIS_URL: REDIS_URL!, REDIS_PREFIX: `${prefix}-b`, JOB_ATTEMPTS: '2', JOB_BACKOFF_MS: '200', JOB_LOCK_MS: '2000' };
  const { services: app } = await services(t, environment);
  const guildId = snowflake(CHANNEL_CREATED - 3000);
  const flaky = snowflake(CHANNEL_CREATED + 20);
  const dead = snowflake(CHANNEL_CREATED + 30);
  const messages = history(cdn, guildId, flaky, 250);
  const flakyCalls: Array<string | undefined> = [];
  const deadCalls: Array<string | undefined> = [];
  // Flaky: page 1 works, then Discord fails long enough for the Backfiller's own page retries (4) to give up.
  const flakyPager = pager(messages, flakyCalls, (call) => call >= 2 && call <= 5);
  await app.jobs.start((id) => (id === guildId ? (channelId, page) => (channelId === flaky ? flakyPager(channelId, page) : pager([], deadCalls, () => true)(channelId, page)) : pager([], [])));

  const result = await app.jobs.wait(await app.jobs.enqueue({ kind: 'backfill', guildId, channelId: flaky }));
  assert.equal(result.done, true);
  assert.equal(result.scanned, 250);
  assert.equal(result.indexed, 50);
  const oldestOfPage1 = [...messages].sort((a, b) => compareSnowflakes(b.id, a.id))[99]!.id;
  assert.equal(flakyCalls[5], oldestOfPage1, 'the second attempt resumed after page 1');
  assert.equal((await app.stats(guildId)).imagesIndexed, 50, 'each image indexed once');

  const ticket = await app.jobs.enqueue({ kind: 'backfill', guildId, channelId: dead });
  await assert.rejects(app.jobs.wait(ticket), (error: unknown) => error instanceof Error && /Discord is down/.test(error.message));
  assert.equal(deadCalls.length, 8, 'two attempts of four page tries');
  const letters = await app.jobs.deadLetters();
  assert.deepEqual(letters.map((letter) => [letter.id, letter.job.channelId, letter.attempts]), [[ticket.id, dead, 2]]);
  assert.match(letters[0]?.reason ?? '', /Discord is down/);

  // Retried by the operator once Discord is back: fresh attempts, and it completes.
  assert.equal(await app.jobs.retryDeadLetter('no-such-job'), false);
  deadCalls.length = 0;
  assert.equal(await app.jobs.retryDeadLetter(ticket.id), true);
  await t.test('the retried dead letter runs again', async () => {
    const started = Date.now();
    while (deadCalls.length < 1 && Date.now() - started < 10_000) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(deadCalls.length >= 1, 'the job ran again');
  });
});
