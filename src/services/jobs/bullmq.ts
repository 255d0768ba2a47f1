/**
 * The durable job queue of a multi-process deployment: BullMQ on the Redis of REDIS_URL.
 *
 * Why BullMQ (and not pg-boss on Postgres): Redis is already required once there are several processes
 * (the channel locks live there), and BullMQ gives exactly what a crawl needs without polling: a job's lease
 * is renewed while its worker lives and a job whose worker died comes back after JOB_LOCK_MS (stalled-job
 * check), retries with exponential backoff, a failed set that is our dead-letter list, deduplication of a
 * channel's pending job, and progress events that reach the process which enqueued the job (the one
 * editing the /dejavu progress message) wherever the job runs. BullMQ 6 also speaks node-redis, the client
 * keyv's Redis adapter already uses, so there is one Redis client library in the tree.
 *
 * A retried job resumes from the channel's cursor in keyv; a job that finds its channel locked by another
 * process, or that shutdown interrupted, is delayed and run again without spending an attempt.
 */
import { DelayedError, Job, Queue, QueueEvents, UnrecoverableError, Worker, createNodeRedisClient } from 'bullmq';
import { DejavuError, describeError } from '../../errors.ts';
import { newRedisClient } from '../locks.ts';
import { childLogger, type Logger } from '../../logger.ts';
import type { BackfillProgress } from '../types.ts';
import { dedupeKey } from './local.ts';
import { runChannelJob, shouldRunLater, type ChannelJobDependencies } from './runner.ts';
import { channelJobSchema, type ChannelJob, type DeadLetter, type HistoryFetcherFactory, type JobCounts, type JobQueue, type JobTicket } from './types.ts';

export const QUEUE_NAME = 'channel-jobs';

export interface BullJobQueueOptions {
  redisUrl: string;
  /** REDIS_PREFIX: BullMQ keys are `<prefix>:channel-jobs:…`. */
  prefix: string;
  concurrency: number;
  attempts: number;
  /** First retry delay; doubles at each attempt. */
  backoffMs: number;
  /** Lease of a running job (renewed at half of it); a dead worker's job is taken back after about this long. */
  lockMs: number;
  logger?: Logger;
}

type RawClient = ReturnType<typeof newRedisClient>;

function isProgress(value: unknown): value is BackfillProgress {
  return typeof value === 'object' && value !== null && 'scanned' in value && 'guildId' in value;
}

export class BullJobQueue implements JobQueue {
  readonly kind = 'bullmq';
  private readonly clients: RawClient[] = [];
  private readonly queue: Queue<ChannelJob, BackfillProgress>;
  private worker: Worker<ChannelJob, BackfillProgress> | undefined;
  private events: Promise<QueueEvents> | undefined;
  private readonly log: Logger;

  /** `dependencies`: what the worker runs jobs with; undefined for a client that only enqueues and inspects (the CLI). */
  constructor(
    private readonly dependencies: ChannelJobDependencies | undefined,
    private readonly options: BullJobQueueOptions,
  ) {
    this.log = options.logger ?? childLogger('jobs');
    this.queue = new Queue(QUEUE_NAME, { connection: this.connection(), prefix: options.prefix });
    this.queue.on('error', (error) => this.log.warn({ err: error }, 'job queue connection error'));
  }

  /** Connects and checks Redis; throws when it cannot be reached. */
  async ready(): Promise<this> {
    await this.queue.waitUntilReady();
    return this;
  }

  async start(fetchers: HistoryFetcherFactory, workerName?: string): Promise<void> {
    if (this.worker) return;
    const dependencies = this.dependencies;
    if (dependencies === undefined) throw new DejavuError('JOB_FAILED', 'This job queue client has no services to run jobs with', {});
    const { concurrency, lockMs, attempts, prefix } = this.options;
    this.worker = new Worker<ChannelJob, BackfillProgress>(QUEUE_NAME, (job, token) => this.process(dependencies, job, fetchers, token), {
      connection: this.connection(),
      prefix,
      concurrency,
      lockDuration: lockMs,
      stalledInterval: lockMs,
      // Each death of a worker mid-job counts; a job that kills its workers over and over ends as a dead letter.
      maxStalledCount: attempts,
      ...(workerName === undefined ? {} : { name: workerName }),
    });
    this.worker.on('error', (error) => this.log.warn({ err: error }, 'job worker error'));
    this.worker.on('stalled', (jobId) => this.log.warn({ jobId }, 'job stalled (its worker died or hung); it runs again'));
    this.worker.on('failed', (job, error) => {
      if (!job || error instanceof DelayedError) return;
      const dead = job.attemptsMade >= (job.opts.attempts ?? 1);
      this.log[dead ? 'error' : 'warn']({ jobId: job.id, ...job.data, attempt: job.attemptsMade, err: error }, dead ? 'job failed for good: dead letter' : 'job attempt failed; retrying');
    });
    await this.worker.waitUntilReady();
  }

  async enqueue(job: ChannelJob): Promise<JobTicket> {
    const data = channelJobSchema.parse(job);
    const added = await this.queue.add(data.kind, data, {
      deduplication: { id: dedupeKey(data) },
      attempts: this.options.attempts,
      backoff: { type: 'exponential', delay: this.options.backoffMs },
      removeOnComplete: { age: 7 * 24 * 3600, count: 1000 },
      // Failed jobs stay: they are the dead-letter list.
      removeOnFail: false,
    });
    if (added.id === undefined) throw new DejavuError('JOB_FAILED', 'The queue returned no job id', { ...data });
    return { id: added.id, job: data };
  }

  async wait(ticket: JobTicket, onProgress?: (progress: BackfillProgress) => void): Promise<BackfillProgress> {
    const events = await this.queueEvents();
    const job = await Job.fromId<ChannelJob, BackfillProgress>(this.queue, ticket.id);
    if (!job) throw new DejavuError('JOB_FAILED', `Job ${ticket.id} does not exist (finished and removed, or never queued)`, { id: ticket.id });
    const listener = ({ jobId, data }: { jobId: string; data: unknown }) => {
      if (jobId === ticket.id && isProgress(data)) onProgress?.(data);
    };
    if (onProgress) events.on('progress', listener);
    try {
      return await job.waitUntilFinished(events);
    } catch (error) {
      throw new DejavuError('JOB_FAILED', `Job ${ticket.id} failed: ${error instanceof Error ? error.message : String(error)}`, { id: ticket.id, ...ticket.job }, { cause: error });
    } finally {
      if (onProgress) events.off('progress', listener);
    }
  }

  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    const failed = await this.queue.getFailed(0, Math.max(0, limit - 1));
    return failed.flatMap((job) => {
      const data = channelJobSchema.safeParse(job.data);
      if (job.id === undefined || !data.success) return [];
      return [{ id: job.id, job: data.data, attempts: job.attemptsMade, failedAt: job.finishedOn ?? null, reason: job.failedReason }];
    });
  }

  async retryDeadLetter(id: string): Promise<boolean> {
    const job = await Job.fromId<ChannelJob, BackfillProgress>(this.queue, id);
    if (!job || !(await job.isFailed())) return false;
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    return true;
  }

  async counts(): Promise<JobCounts> {
    const counts = await this.queue.getJobCounts('wait', 'active', 'delayed', 'failed', 'completed');
    return { waiting: counts.wait ?? 0, active: counts.active ?? 0, delayed: counts.delayed ?? 0, failed: counts.failed ?? 0, completed: counts.completed ?? 0 };
  }

  /** Removes every key of this queue (tests; an operator resetting a deployment). */
  async obliterate(): Promise<void> {
    await this.queue.obliterate({ force: true });
  }

  async close(): Promise<void> {
    // The worker waits for its running jobs; the Backfiller closing alongside stops them after their page.
    await this.worker?.close().catch((error: unknown) => this.log.warn({ err: error }, 'closing the job worker failed'));
    if (this.events) await (await this.events).close().catch(() => undefined);
    await this.queue.close().catch(() => undefined);
    // BullMQ does not close clients it was handed.
    await Promise.all(this.clients.map((client) => (client.isOpen ? client.close().catch(() => undefined) : undefined)));
  }

  private async process(dependencies: ChannelJobDependencies, job: Job<ChannelJob, BackfillProgress>, fetchers: HistoryFetcherFactory, token: string | undefined): Promise<BackfillProgress> {
    const parsed = channelJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`Invalid job data: ${parsed.error.message}`);
    const data = parsed.data;
    try {
      return await runChannelJob(dependencies, data, {
        fetchPage: fetchers(data.guildId),
        onProgress: (progress) => void job.updateProgress(progress).catch((error: unknown) => this.log.debug({ err: error }, 'progress update failed')),
        markCleared: () => job.updateData({ ...data, cleared: true }),
      });
    } catch (error) {
      if (shouldRunLater(error) && token !== undefined) {
        // Another process crawls the channel (or this one is shutting down): try again later, same attempt.
        this.log.info({ jobId: job.id, ...data, reason: describeError(error) }, 'job put back to run later');
        await job.moveToDelayed(Date.now() + Math.ceil(this.options.lockMs / 2), token);
        throw new DelayedError();
      }
      throw error;
    }
  }

  private queueEvents(): Promise<QueueEvents> {
    this.events ??= (async () => {
      const events = new QueueEvents(QUEUE_NAME, { connection: this.connection(), prefix: this.options.prefix });
      events.on('error', (error) => this.log.warn({ err: error }, 'job events connection error'));
      await events.waitUntilReady();
      return events;
    })();
    return this.events;
  }

  private connection() {
    const client = newRedisClient(this.options.redisUrl);
    client.on('error', (error: unknown) => this.log.debug({ err: error }, 'redis client error'));
    this.clients.push(client);
    return createNodeRedisClient(client);
  }
}
