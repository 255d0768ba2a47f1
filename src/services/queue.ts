/**
 * A bounded work queue between Discord events and the embedder.
 *
 * - At most `concurrency` tasks run at once; the rest wait in order (live work before backfill work).
 * - Memory is bounded: at most `maxPending` accepted tasks wait. A task is a small closure over an image
 *   reference (ids and a URL, never image bytes: bytes are downloaded when the task starts).
 * - When the queue is full, `enqueue` BLOCKS the producer until there is room (backpressure: a backfill
 *   loop simply slows down). Blocked producers are themselves bounded by `maxWaiting`; past that, and
 *   after `drain()` started, `enqueue` rejects with a typed QUEUE_FULL error that is logged and counted —
 *   never a silent drop. Blocking beyond that would only move the unbounded memory into the promises of
 *   blocked event handlers.
 * - Backfill work is admitted only while the queue is under half full, so a large crawl never fills
 *   the queue and live messages always have room.
 */
import { DejavuError } from '../errors.ts';
import { childLogger, type Logger } from '../logger.ts';
import type { QueueStats, WorkPriority } from './types.ts';

export interface WorkQueueOptions {
  concurrency: number;
  /** Accepted tasks that may wait to start. */
  maxPending: number;
  /** Producers that may block in enqueue when the queue is full; beyond: QUEUE_FULL. Default maxPending. */
  maxWaiting?: number;
  name?: string;
  logger?: Logger;
}

export interface EnqueueOptions {
  priority?: WorkPriority;
  /** Shown in the QUEUE_FULL log line. */
  context?: Record<string, unknown>;
}

/** Returned once a task is accepted; await `result` for its outcome. */
export interface Accepted<T> {
  result: Promise<T>;
}

interface Job {
  run: () => Promise<void>;
  /** Rejects the task's result without running it (shutdown deadline passed). */
  cancel: (error: DejavuError) => void;
}

interface Waiter {
  admit: () => void;
}


export class WorkQueue {
  private readonly live: Job[] = [];
  private readonly backfill: Job[] = [];
  /** Blocked producers, per priority, in arrival order. */
  private readonly liveWaiters: Waiter[] = [];
  private readonly backfillWaiters: Waiter[] = [];
  private readonly idleResolvers: Array<() => void> = [];
  private running = 0;
  /** Places promised to admitted producers that have not pushed their job yet. */
  private reserved = 0;
  private closing = false;
  /** Set when drain's deadline passed: nothing more starts. */
  private cancelled = false;
  private completed = 0;
  private failed = 0;
  private rejected = 0;
  private readonly concurrency: number;
  private readonly maxPending: number;
  private readonly maxWaiting: number;
  private readonly log: Logger;
  private readonly name: string;

  constructor(options: WorkQueueOptions) {
    if (options.concurrency < 1 || options.maxPending < 1) throw new RangeError('concurrency and maxPending must be ≥ 1');
    this.concurrency = options.concurrency;
    this.maxPending = options.maxPending;
    this.maxWaiting = options.maxWaiting ?? options.maxPending;
    this.name = options.name ?? 'work';
    this.log = options.logger ?? childLogger('queue', { queue: this.name });
  }

  /** Accepted tasks not yet started. */
  get pending(): number {
    return this.live.length + this.backfill.length + this.reserved;
  }

  /** Pending + running: what `/dejavu stats` shows as queue depth. */
  get depth(): number {
    return this.pending + this.running;
  }

  stats(): QueueStats {
    return {
      pending: this.pending,
      running: this.running,
      waiting: this.waiting,
      completed: this.completed,
      failed: this.failed,
      rejected: this.rejected,
    };
  }

  /**
   * Resolves when the task is accepted into the queue (immediately when there is room, later when full);
   * rejects with QUEUE_FULL when it cannot be accepted. The task's own result comes through `result`.
   */
  async enqueue<T>(task: () => Promise<T>, options: EnqueueOptions = {}): Promise<Accepted<T>> {
    const priority = options.priority ?? 'live';
    if (this.closing) throw this.refuse('the queue is shutting down', options);
    // Producers already blocked at this priority (or a higher one) go first: no overtaking.
    const queuedAhead = priority === 'live' ? this.liveWaiters.length > 0 : this.waiting > 0;
    if (!this.hasRoom(priority) || queuedAhead) {
      if (this.waiting >= this.maxWaiting) throw this.refuse('the queue and its waiting list are full', options);
      await new Promise<void>((admit) => (priority === 'live' ? this.liveWaiters : this.backfillWaiters).push({ admit }));
      this.reserved -= 1;
      if (this.cancelled) {
        this.checkIdle();
        throw this.refuse('the queue shut down before this task could start', options);
      }
    }
    let settle!: { resolve: (value: T) => void; reject: (error: unknown) => void };
    const result = new Promise<T>((resolve, reject) => {
      settle = { resolve, reject };
    });
    const job: Job = {
      run: async () => {
        try {
          settle.resolve(await task());
          this.completed += 1;
        } catch (error) {
          this.failed += 1;
          settle.reject(error);
        }
      },
      cancel: (error) => settle.reject(error),
    };
    (priority === 'live' ? this.live : this.backfill).push(job);
    this.pump();
    return { result };
  }

  /** Enqueues and awaits the result in one step. */
  async run<T>(task: () => Promise<T>, options: EnqueueOptions = {}): Promise<T> {
    const accepted = await this.enqueue(task, options);
    return accepted.result;
  }

  /** Resolves when nothing is pending or running (the queue stays open). */
  onIdle(): Promise<void> {
    if (this.depth === 0 && this.waiting === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleResolvers.push(resolve));
  }

  /**
   * Graceful shutdown: refuses new work and resolves when everything accepted has finished. Blocked
   * producers are let in as room frees up (they were promised a place). After `timeoutMs`, tasks not yet
   * started are cancelled — their results reject with QUEUE_FULL, so their owners can save them for the
   * next start — and blocked producers are refused; running tasks are always awaited.
   * Resolves with the number of tasks cancelled.
   */
  async drain(timeoutMs = Infinity): Promise<number> {
    this.closing = true;
    const idle = this.onIdle();
    if (Number.isFinite(timeoutMs)) {
      let timer: NodeJS.Timeout | undefined;
      const expired = await Promise.race([
        idle.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (!expired) return 0;
    } else {
      await idle;
      return 0;
    }
    this.cancelled = true;
    const error = new DejavuError('QUEUE_FULL', 'The queue shut down before this task could start', { queue: this.name });
    const dropped = [...this.live.splice(0), ...this.backfill.splice(0)];
    for (const job of dropped) job.cancel(error);
    // Blocked producers are woken up to be refused (see enqueue); each holds a reservation until then.
    for (const waiter of [...this.liveWaiters.splice(0), ...this.backfillWaiters.splice(0)]) {
      this.reserved += 1;
      waiter.admit();
    }
    if (dropped.length > 0) this.log.warn({ cancelled: dropped.length }, 'shutdown deadline passed: queued tasks cancelled');
    this.checkIdle();
    await idle;
    return dropped.length;
  }

  private hasRoom(priority: WorkPriority): boolean {
    const limit = priority === 'live' ? this.maxPending : Math.max(1, Math.floor(this.maxPending / 2));
    return this.pending < limit;
  }

  private refuse(reason: string, options: EnqueueOptions): DejavuError {
    this.rejected += 1;
    const error = new DejavuError('QUEUE_FULL', `Work refused: ${reason}`, { queue: this.name, depth: this.depth, ...options.context });
    this.log.warn({ ...error.context, reason }, 'queue refused work');
    return error;
  }

  private get waiting(): number {
    return this.liveWaiters.length + this.backfillWaiters.length;
  }

  /** Starts jobs up to the concurrency limit, then admits blocked producers into the room that made. */
  private pump(): void {
    while (this.running < this.concurrency) {
      const job = this.live.shift() ?? this.backfill.shift();
      if (job === undefined) break;
      this.running += 1;
      void job.run().finally(() => {
        this.running -= 1;
        this.pump();
        this.checkIdle();
      });
    }
    while (this.liveWaiters.length > 0 && this.hasRoom('live')) this.admit(this.liveWaiters.shift()!);
    while (this.liveWaiters.length === 0 && this.backfillWaiters.length > 0 && this.hasRoom('backfill')) {
      this.admit(this.backfillWaiters.shift()!);
    }
  }

  private admit(waiter: Waiter): void {
    // The producer pushes its job a microtask later: hold its place so room is not handed out twice.
    this.reserved += 1;
    waiter.admit();
  }

  private checkIdle(): void {
    if (this.depth !== 0 || this.waiting !== 0) return;
    for (const resolve of this.idleResolvers.splice(0)) resolve();
  }
}
