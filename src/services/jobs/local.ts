/**
 * One process, no Redis: jobs run in this process, JOB_CONCURRENCY at a time, in the order they came.
 * Nothing survives a restart except what the Backfiller keeps anyway (each channel's cursor), which is
 * today's single-process behaviour; a failed job goes to an in-memory dead-letter list and the log.
 */
import { DejavuError, describeError } from '../../errors.ts';
import { childLogger, type Logger } from '../../logger.ts';
import type { BackfillProgress } from '../types.ts';
import { runChannelJob, shouldRunLater, type ChannelJobDependencies } from './runner.ts';
import type { ChannelJob, DeadLetter, HistoryFetcherFactory, JobCounts, JobQueue, JobTicket } from './types.ts';

interface LocalJob {
  ticket: JobTicket;
  dedupeKey: string;
  state: 'waiting' | 'active';
  progressListeners: Set<(progress: BackfillProgress) => void>;
  settled: Promise<BackfillProgress>;
  resolve(progress: BackfillProgress): void;
  reject(error: unknown): void;
}

const DEAD_LETTERS_KEPT = 1000;
const FINISHED_KEPT = 1000;

export function dedupeKey(job: ChannelJob): string {
  return `${job.kind}:${job.guildId}:${job.channelId}`;
}

export class LocalJobQueue implements JobQueue {
  readonly kind = 'local';
  private readonly jobs = new Map<string, LocalJob>();
  private readonly order: LocalJob[] = [];
  private readonly dead: DeadLetter[] = [];
  /** Outcomes of recent jobs, for a `wait` that comes after the job already ended. */
  private readonly finished = new Map<string, Promise<BackfillProgress>>();
  private readonly running = new Set<Promise<void>>();
  private fetchers: HistoryFetcherFactory | undefined;
  private nextId = 1;
  private completed = 0;
  private closed = false;
  private readonly log: Logger;

  constructor(
    private readonly dependencies: ChannelJobDependencies,
    private readonly concurrency = 1,
    logger?: Logger,
  ) {
    this.log = logger ?? childLogger('jobs');
  }

  start(fetchers: HistoryFetcherFactory): Promise<void> {
    this.fetchers = fetchers;
    this.pump();
    return Promise.resolve();
  }

  enqueue(job: ChannelJob): Promise<JobTicket> {
    if (this.closed) return Promise.reject(new DejavuError('JOB_FAILED', 'The job queue is closed', { ...job }));
    const key = dedupeKey(job);
    const existing = [...this.jobs.values()].find((entry) => entry.dedupeKey === key);
    if (existing) return Promise.resolve(existing.ticket);
    let resolve!: (progress: BackfillProgress) => void;
    let reject!: (error: unknown) => void;
    const settled = new Promise<BackfillProgress>((yes, no) => {
      resolve = yes;
      reject = no;
    });
    // Nobody may be waiting for this job: its failure is reported through the dead-letter list.
    settled.catch(() => undefined);
    const entry: LocalJob = { ticket: { id: String(this.nextId++), job }, dedupeKey: key, state: 'waiting', progressListeners: new Set(), settled, resolve, reject };
    this.jobs.set(entry.ticket.id, entry);
    this.order.push(entry);
    this.pump();
    return Promise.resolve(entry.ticket);
  }

  async wait(ticket: JobTicket, onProgress?: (progress: BackfillProgress) => void): Promise<BackfillProgress> {
    const entry = this.jobs.get(ticket.id);
    const ended = this.finished.get(ticket.id);
    if (!entry && ended) return ended;
    if (!entry) {
      const dead = this.dead.find((letter) => letter.id === ticket.id);
      throw new DejavuError('JOB_FAILED', dead ? `Job ${ticket.id} failed: ${dead.reason}` : `Job ${ticket.id} is not running or waiting`, { id: ticket.id });
    }
    if (onProgress) entry.progressListeners.add(onProgress);
    try {
      return await entry.settled;
    } finally {
      if (onProgress) entry.progressListeners.delete(onProgress);
    }
  }

  deadLetters(limit = 100): Promise<DeadLetter[]> {
    return Promise.resolve(this.dead.slice(-limit).reverse());
  }

  async retryDeadLetter(id: string): Promise<boolean> {
    const index = this.dead.findIndex((letter) => letter.id === id);
    const letter = this.dead[index];
    if (letter === undefined) return false;
    this.dead.splice(index, 1);
    await this.enqueue(letter.job);
    return true;
  }

  counts(): Promise<JobCounts> {
    const active = [...this.jobs.values()].filter((entry) => entry.state === 'active').length;
    return Promise.resolve({ waiting: this.jobs.size - active, active, delayed: 0, failed: this.dead.length, completed: this.completed });
  }

  /** Waiting jobs are dropped (they were never durable); running ones finish or stop with the Backfiller. */
  async close(): Promise<void> {
    this.closed = true;
    for (const entry of this.order.splice(0)) {
      this.jobs.delete(entry.ticket.id);
      entry.reject(new DejavuError('JOB_FAILED', 'The job queue closed before this job started', { ...entry.ticket.job }));
    }
    await Promise.allSettled([...this.running]);
  }

  private pump(): void {
    while (!this.closed && this.fetchers !== undefined && this.running.size < this.concurrency && this.order.length > 0) {
      const entry = this.order.shift()!;
      const run = this.execute(entry, this.fetchers).finally(() => {
        this.running.delete(run);
        this.pump();
      });
      this.running.add(run);
    }
  }

  private async execute(entry: LocalJob, fetchers: HistoryFetcherFactory): Promise<void> {
    entry.state = 'active';
    const { job, id } = entry.ticket;
    try {
      const progress = await runChannelJob(this.dependencies, job, {
        fetchPage: fetchers(job.guildId),
        onProgress: (update) => entry.progressListeners.forEach((listener) => listener(update)),
      });
      this.completed += 1;
      entry.resolve(progress);
    } catch (error) {
      if (shouldRunLater(error)) {
        // Shutdown stopped it: the cursor is kept and the next /dejavu backfill resumes it.
        this.log.info({ ...job, jobId: id }, 'job stopped before its end; cursor kept');
        entry.reject(error);
        return;
      }
      this.log.error({ ...job, jobId: id, err: error }, 'job failed; see the dead-letter list');
      this.dead.push({ id, job, attempts: 1, failedAt: Date.now(), reason: describeError(error) });
      if (this.dead.length > DEAD_LETTERS_KEPT) this.dead.shift();
      entry.reject(error);
    } finally {
      this.jobs.delete(id);
      this.finished.set(id, entry.settled);
      if (this.finished.size > FINISHED_KEPT) this.finished.delete(this.finished.keys().next().value!);
    }
  }
}
