/**
 * Channel jobs: long work on one channel's history (a backfill, a re-embedding) that any process may run.
 * The Discord layer enqueues them and registers how to read a channel's history; the queue decides where
 * and when they run (src/services/jobs/index.ts picks the implementation).
 */
import { z } from 'zod';
import type { BackfillProgress, FetchHistoryPage } from '../types.ts';

export const channelJobSchema = z.object({
  /**
   * `backfill`: crawl the channel's history (resuming the stored cursor). `reembed`: forget the channel's
   * images, then crawl it again from the top. `resign`: give the channel's images signed by an older
   * signature format a current one (src/services/resign.ts), keeping the old records until then.
   */
  kind: z.enum(['backfill', 'reembed', 'resign']),
  guildId: z.string().regex(/^\d{1,20}$/),
  channelId: z.string().regex(/^\d{1,20}$/),
  /** backfill only: crawl again from the top even if the channel was crawled before. */
  restart: z.boolean().optional(),
  /** reembed only, set by the runner: the channel's old images are gone, a retry resumes the crawl. */
  cleared: z.boolean().optional(),
});
export type ChannelJob = z.infer<typeof channelJobSchema>;
export type ChannelJobKind = ChannelJob['kind'];

/** How the Discord layer reads any channel of a guild (over REST: any shard can read any guild's channel). */
export type HistoryFetcherFactory = (guildId: string) => FetchHistoryPage;

export interface JobTicket {
  id: string;
  job: ChannelJob;
}

/** A job that failed every attempt; kept until retried or removed (`dejavu jobs`). */
export interface DeadLetter {
  id: string;
  job: ChannelJob;
  attempts: number;
  failedAt: number | null;
  reason: string;
}

export interface JobCounts {
  waiting: number;
  active: number;
  /** Waiting for a retry (backoff) or for a channel lock another process holds. */
  delayed: number;
  /** Dead letters. */
  failed: number;
  completed: number;
}

/** The job queue every process of a deployment shares (BullMQ on Redis), or an in-process runner. */
export interface JobQueue {
  readonly kind: 'bullmq' | 'local';
  /**
   * Starts running jobs, reading history through `fetchers`. Called by the Discord layer once logged in;
   * before that, jobs wait (in Redis, for another process, or in memory).
   */
  start(fetchers: HistoryFetcherFactory, workerName?: string): Promise<void>;
  /** Queues a job; a job of the same kind for the same channel still waiting or running is reused. */
  enqueue(job: ChannelJob): Promise<JobTicket>;
  /** Resolves when the job completed (wherever it ran); rejects with JOB_FAILED when it failed for good. */
  wait(ticket: JobTicket, onProgress?: (progress: BackfillProgress) => void): Promise<BackfillProgress>;
  /** Jobs that failed every attempt, newest first. */
  deadLetters(limit?: number): Promise<DeadLetter[]>;
  /** Queues a dead letter again with fresh attempts; false when there is no such dead letter. */
  retryDeadLetter(id: string): Promise<boolean>;
  counts(): Promise<JobCounts>;
  /** Stops taking jobs and waits for running ones (close the Backfiller alongside: that stops them, cursors kept). */
  close(): Promise<void>;
}
