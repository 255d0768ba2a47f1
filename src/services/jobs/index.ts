/**
 * `createJobQueue`: BullMQ on Redis when REDIS_URL is set (every process of the deployment shares the
 * queue), the in-process runner otherwise (one process, no Redis).
 */
import type { Config } from '../../config.ts';
import { BullJobQueue, type BullJobQueueOptions } from './bullmq.ts';
import { LocalJobQueue } from './local.ts';
import type { ChannelJobDependencies } from './runner.ts';
import type { JobQueue } from './types.ts';

export type { ChannelJob, DeadLetter, HistoryFetcherFactory, JobCounts, JobQueue, JobTicket } from './types.ts';
export { BullJobQueue, LocalJobQueue, type ChannelJobDependencies };

type JobConfig = Pick<Config, 'REDIS_URL' | 'REDIS_PREFIX' | 'JOB_CONCURRENCY' | 'JOB_ATTEMPTS' | 'JOB_BACKOFF_MS' | 'JOB_LOCK_MS'>;

export async function createJobQueue(config: JobConfig, dependencies: ChannelJobDependencies): Promise<JobQueue> {
  if (config.REDIS_URL === undefined) return new LocalJobQueue(dependencies, config.JOB_CONCURRENCY);
  return new BullJobQueue(dependencies, bullOptions(config, config.REDIS_URL)).ready();
}

/** The BullMQ settings of a deployment; `undefined` dependencies make a client that only enqueues and inspects. */
export function bullOptions(config: JobConfig, redisUrl: string): BullJobQueueOptions {
  return {
    redisUrl,
    prefix: config.REDIS_PREFIX,
    concurrency: config.JOB_CONCURRENCY,
    attempts: config.JOB_ATTEMPTS,
    backoffMs: config.JOB_BACKOFF_MS,
    lockMs: config.JOB_LOCK_MS,
  };
}
