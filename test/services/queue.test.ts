import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DejavuError } from '../../src/errors.ts';
import { WorkQueue } from '../../src/services/queue.ts';

/** A task that finishes when the test says so. */
function gate<T>(value: T): { task: () => Promise<T>; open: () => void; started: () => boolean } {
  let open!: () => void;
  let started = false;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    task: async () => {
      started = true;
      await opened;
      return value;
    },
    open,
    started: () => started,
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('runs at most `concurrency` tasks at once and returns their results', async () => {
  const queue = new WorkQueue({ concurrency: 2, maxPending: 100 });
  let running = 0;
  let peak = 0;
  const results = await Promise.all(
    Array.from({ length: 10 }, (_, index) =>
      queue.run(async () => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running -= 1;
        return index * 2;
      }),
    ),
  );
  assert.deepEqual(results, Array.from({ length: 10 }, (_, index) => index * 2));
  assert.equal(peak, 2);
  assert.equal(queue.stats().completed, 10);
});

test('a full queue blocks producers (backpressure), then refuses with QUEUE_FULL past the waiting limit', async () => {
  const queue = new WorkQueue({ concurrency: 1, maxPending: 2, maxWaiting: 1 });
  const gates = Array.from({ length: 4 }, (_, index) => gate(index));
  const first = await queue.enqueue(gates[0]!.task);
  await queue.enqueue(gates[1]!.task);
  await queue.enqueue(gates[2]!.task);
  assert.equal(queue.depth, 3);
  assert.equal(queue.stats().pending, 2);

  let accepted = false;
  const blocked = queue.enqueue(gates[3]!.task).then((value) => {
    accepted = true;
    return value;
  });
  await tick();
  assert.equal(accepted, false, 'the fourth producer waits while the queue is full');
  assert.equal(queue.stats().waiting, 1);

  await assert.rejects(queue.enqueue(async () => 99), (error: unknown) => error instanceof DejavuError && error.code === 'QUEUE_FULL');
  assert.equal(queue.stats().rejected, 1);

  gates[0]!.open();
  assert.equal(await first.result, 0);
  const fourth = await blocked;
  assert.equal(accepted, true, 'room freed → the blocked producer is accepted');
  for (const item of gates) item.open();
  assert.equal(await fourth.result, 3);
  await queue.onIdle();
  assert.equal(queue.depth, 0);
});

test('live work starts before waiting backfill work; backfill fills at most half the queue', async () => {
  const queue = new WorkQueue({ concurrency: 1, maxPending: 4 });
  const order: string[] = [];
  const blocker = gate('blocker');
  await queue.enqueue(blocker.task);
  const backfill = [1, 2].map((n) => queue.run(async () => void order.push(`backfill${n}`), { priority: 'backfill' }));
  let thirdBackfillAccepted = false;
  const third = queue.enqueue(async () => void order.push('backfill3'), { priority: 'backfill' }).then((accepted) => {
    thirdBackfillAccepted = true;
    return accepted.result;
  });
  const live = queue.run(async () => void order.push('live'));
  await tick();
  assert.equal(thirdBackfillAccepted, false, 'backfill may not take more than half of the places');
  blocker.open();
  await Promise.all([...backfill, live, third]);
  assert.deepEqual(order, ['live', 'backfill1', 'backfill2', 'backfill3']);
});

test('a failing task rejects its own result only', async () => {
  const queue = new WorkQueue({ concurrency: 1, maxPending: 10 });
  const bad = queue.run(async () => {
    throw new Error('boom');
  });
  const good = queue.run(async () => 'fine');
  await assert.rejects(bad, /boom/);
  assert.equal(await good, 'fine');
  assert.equal(queue.stats().failed, 1);
});

test('drain waits for accepted work and refuses new work', async () => {
  const queue = new WorkQueue({ concurrency: 1, maxPending: 10 });
  const slow = gate('done');
  const accepted = await queue.enqueue(slow.task);
  let drained = false;
  const draining = queue.drain().then(() => {
    drained = true;
  });
  await assert.rejects(queue.enqueue(async () => 1), (error: unknown) => error instanceof DejavuError && error.code === 'QUEUE_FULL');
  await tick();
  assert.equal(drained, false);
  slow.open();
  await draining;
  assert.equal(await accepted.result, 'done');
  assert.equal(drained, true);
});

test('drain with a deadline cancels tasks that have not started (QUEUE_FULL) and still awaits running ones', async () => {
  const queue = new WorkQueue({ concurrency: 1, maxPending: 1, maxWaiting: 5 });
  const running = gate('ran');
  const accepted = await queue.enqueue(running.task);
  const queued = await queue.enqueue(async () => 'never');
  const blocked = queue.enqueue(async () => 'never either');
  await tick();
  assert.equal(queue.stats().waiting, 1);
  let drained = false;
  const draining = queue.drain(20).then((cancelled) => {
    drained = true;
    return cancelled;
  });
  await assert.rejects(queued.result, (error: unknown) => error instanceof DejavuError && error.code === 'QUEUE_FULL');
  await assert.rejects(blocked, (error: unknown) => error instanceof DejavuError && error.code === 'QUEUE_FULL');
  await tick();
  assert.equal(drained, false, 'the running task is awaited');
  running.open();
  assert.equal(await draining, 1);
  assert.equal(await accepted.result, 'ran');
  assert.equal(queue.depth, 0);
});
