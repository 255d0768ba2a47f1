/**
 * When the PostgreSQL store moves a guild to reduced search: a background job per guild (./reduction.ts
 * does the work), started by the adds and searches that see the guild past the threshold, at most one per
 * guild in this process, and not retried for a while after one failed or found the guild busy elsewhere.
 */
import type { PoolClient } from 'pg';
import { childLogger } from '../../logger.ts';
import { checkGuildId } from '../records.ts';
import { reduceGuild, type ReductionOutcome } from './reduction.ts';
import type { GuildRow } from './rows.ts';

/** After a reduction job found its guild busy in another process or failed, wait this long before retrying. */
const REDUCTION_RETRY_MS = 60_000;
/** Points written between two progress lines in the log. */
const PROGRESS_EVERY_POINTS = 50_000;
const log = childLogger('store-postgres');

export interface ReductionJobsOptions {
  dimensions: number;
  /** Advisory-lock namespace (the schema): two processes never fill one guild at once. */
  lockNamespace: string;
  /** Guilds with at least this many images move to reduced search. */
  reducedSearchMinImages: number;
  /** Runs a task on a pooled connection (the store's, with its error handling). */
  run: <T>(task: (client: PoolClient) => Promise<T>) => Promise<T>;
}

export class ReductionJobs {
  private readonly running = new Map<string, Promise<ReductionOutcome>>();
  private readonly retryAt = new Map<string, number>();
  private closed = false;

  constructor(private readonly options: ReductionJobsOptions) {}

  /** Runs the guild's reduction now (or joins the running one). */
  reduce(guildId: string): Promise<ReductionOutcome> {
    checkGuildId(guildId);
    const running = this.running.get(guildId);
    if (running !== undefined) return running;
    const started = performance.now();
    let reported = 0;
    const job = this.options
      .run((client) =>
        reduceGuild(client, guildId, {
          dimensions: this.options.dimensions,
          lockNamespace: this.options.lockNamespace,
          cancelled: () => this.closed,
          onProgress: ({ filled }) => {
            if (filled - reported < PROGRESS_EVERY_POINTS) return;
            reported = filled;
            log.info({ guildId, filled }, 'writing reduced points');
          },
        }),
      )
      .then((outcome) => {
        if (outcome !== 'ready') this.retryAt.set(guildId, Date.now() + REDUCTION_RETRY_MS);
        log.info({ guildId, outcome, seconds: Math.round((performance.now() - started) / 1000) }, 'reduced search job ended');
        return outcome;
      })
      .finally(() => this.running.delete(guildId));
    this.running.set(guildId, job);
    return job;
  }

  /**
   * Starts the guild's reduction job in the background when it has grown past the threshold (or has a
   * projection whose points an earlier process did not finish) and no job runs or failed recently here.
   */
  reduceWhenDue(guildId: string, guild: GuildRow): void {
    if (this.closed || guild.reduced_ready || this.running.has(guildId)) return;
    if (guild.projection_id === null && guild.images < this.options.reducedSearchMinImages) return;
    if ((this.retryAt.get(guildId) ?? 0) > Date.now()) return;
    this.reduce(guildId).catch((error: unknown) => {
      this.retryAt.set(guildId, Date.now() + REDUCTION_RETRY_MS);
      log.error({ err: error, guildId }, 'reduced search job failed; the guild keeps the full-vector index and is retried later');
    });
  }

  /** Stops starting jobs and waits for running ones, which stop between batches; the next run resumes. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.running.values());
  }
}
