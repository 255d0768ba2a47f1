/**
 * What a channel job does, whichever queue runs it: a backfill resumes the channel's crawl from its stored
 * cursor (so a retried job continues where the killed one stopped; images already indexed are skipped by
 * the indexer); a re-embedding first forgets the channel's images, then crawls the channel from the top; a
 * re-signing resumes its own cursor over the channel's stale images.
 */
import { DejavuError, isDejavuError } from '../../errors.ts';
import type { Backfiller } from '../backfill.ts';
import type { ResignService } from '../resign.ts';
import type { BackfillProgress, FetchHistoryPage } from '../types.ts';
import type { ChannelJob } from './types.ts';

export interface ChannelJobDependencies {
  backfill: Backfiller;
  /** Removes every image of the channel (records, vectors, queued work); the re-embedding starts from that. */
  forgetChannelImages(guildId: string, channelId: string): Promise<number>;
  /** Runs `resign` jobs. */
  resign: ResignService;
}

export interface ChannelJobRun {
  fetchPage: FetchHistoryPage;
  onProgress?: (progress: BackfillProgress) => void;
  /** Persists `cleared: true` on the job, so that a retry of a re-embedding does not forget again. */
  markCleared?: () => Promise<void>;
}

/** The job stopped before its end (shutdown, lost lock): run it again later, it resumes from its cursor. */
export function interruptedError(job: ChannelJob): DejavuError {
  return new DejavuError('JOB_FAILED', `The ${job.kind} of channel ${job.channelId} was interrupted; it resumes later`, { ...job, interrupted: true });
}

/** Failures that are no fault of the job: run it again later without spending an attempt. */
export function shouldRunLater(error: unknown): boolean {
  return isDejavuError(error) && (error.code === 'LOCKED' || (error.code === 'JOB_FAILED' && error.context.interrupted === true));
}

export async function runChannelJob(dependencies: ChannelJobDependencies, job: ChannelJob, run: ChannelJobRun): Promise<BackfillProgress> {
  const { guildId, channelId } = job;
  if (job.kind === 'resign') {
    const resigned = await dependencies.resign.resign({ guildId, channelId, fetchPage: run.fetchPage, onProgress: run.onProgress });
    if (!resigned.done) throw interruptedError(job);
    return resigned;
  }
  let restart = job.restart === true;
  if (job.kind === 'reembed' && job.cleared !== true) {
    await dependencies.forgetChannelImages(guildId, channelId);
    await run.markCleared?.();
    restart = true;
  }
  const progress = await dependencies.backfill.backfill({ guildId, channelId, fetchPage: run.fetchPage, onProgress: run.onProgress, restart });
  if (!progress.done) throw interruptedError(job);
  return progress;
}
