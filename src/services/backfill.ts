/**
 * History backfill: crawls a channel newest → oldest through an injected page fetcher (the Discord layer
 * adapts discord.js; REST rate limits are discord.js's business, we fetch one page at a time) and pushes
 * every image through the indexer with `backfill` priority, a few messages at a time.
 *
 * Resumable: after each page, a cursor per channel is written to keyv (oldest message done, newest message
 * known, counts). A restarted crawl continues before the stored oldest id; a finished channel is not crawled
 * again. Catch-up (startup) indexes messages newer than the newest known id, which live traffic keeps
 * current through `markSeen`.
 *
 * Several processes (shards, machines) share the cursors through keyv; a lock per channel (`locks`, Redis
 * when configured) makes sure one crawl of a channel runs at a time across all of them. A crawl that finds
 * the lock taken fails with DejavuError LOCKED; a crawl whose lock is lost stops after its page, cursor kept.
 */
import type { Keyv } from 'keyv';
import { z } from 'zod';
import { childLogger, type Logger } from '../logger.ts';
import type { ImageIndexer } from './indexing.ts';
import { fetchPageWithRetry } from './history-pages.ts';
import { lockedError, type Lock, type LockService } from './locks.ts';
import type {
  BackfillProgress,
  BackfillRunOptions,
  BackfillService,
  GuildSettings,
  GuildSettingsService,
  HistoryMessage,
  IndexOutcome,
} from './types.ts';

export const BACKFILL_NAMESPACE = 'dejavu-backfill';
const PAGE_SIZE = 100;
const DISCORD_EPOCH = 1_420_070_400_000n;

/** Milliseconds since the epoch encoded in a Discord id (snowflake); undefined for anything else. */
export function snowflakeTime(id: string): number | undefined {
  if (!/^\d{1,20}$/.test(id)) return undefined;
  return Number((BigInt(id) >> 22n) + DISCORD_EPOCH);
}

/** Numeric comparison of Discord ids (string comparison fails across lengths). */
export function compareSnowflakes(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function maxId(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return compareSnowflakes(a, b) >= 0 ? a : b;
}

/** Whether a message's images are indexed at all (shared by live events and backfill). */
export function shouldIndexMessage(message: { authorIsBot: boolean; fromSelf?: boolean; channelId: string }, settings: GuildSettings): boolean {
  if (message.fromSelf === true) return false;
  if (message.authorIsBot && !settings.includeOtherBots) return false;
  return !settings.ignoredChannelIds.includes(message.channelId);
}

const counts = { scanned: z.number(), indexed: z.number(), skipped: z.number(), failed: z.number() };

const cursorSchema = z.object({
  /** Oldest message the full crawl has finished; the crawl resumes before it. */
  oldestDoneId: z.string().nullable(),
  /** Newest message at the top of the full crawl (for the progress fraction). */
  crawlTopId: z.string().nullable(),
  /** Newest message known to be handled (crawl top, catch-up, live traffic). */
  newestSeenId: z.string().nullable(),
  done: z.boolean(),
  ...counts,
  finishedAt: z.number().nullable(),
});
export type ChannelCursor = z.infer<typeof cursorSchema>;

const guildStateSchema = z.object({ lastBackfillAt: z.number().nullable(), channels: z.array(z.string()) });
type GuildState = z.infer<typeof guildStateSchema>;

function emptyCursor(): ChannelCursor {
  return { oldestDoneId: null, crawlTopId: null, newestSeenId: null, done: false, scanned: 0, indexed: 0, skipped: 0, failed: 0, finishedAt: null };
}

export interface BackfillerOptions {
  indexer: ImageIndexer;
  settings: GuildSettingsService;
  /** keyv namespace BACKFILL_NAMESPACE (createKeyv). */
  keyv: Keyv<unknown>;
  /** Messages indexed at once within a page. Default 4 (each may hold several images). */
  messageConcurrency?: number;
  /** Attempts per page before the crawl stops (cursor kept). Default 4. */
  pageAttempts?: number;
  /** How often markSeen ids are persisted. Default 30 s; 0 = only on flush/close. */
  seenFlushIntervalMs?: number;
  /** Channel locks shared by every process; default: none (one process, serialised in memory only). */
  locks?: LockService;
  logger?: Logger;
}

/** Lock key of a channel's crawl (full or catch-up). */
export function backfillLockKey(guildId: string, channelId: string): string {
  return `backfill:${guildId}:${channelId}`;
}

type Mode = 'full' | 'catch-up';

export class Backfiller implements BackfillService {
  private readonly running = new Map<string, Promise<BackfillProgress>>();
  private readonly seen = new Map<string, { guildId: string; channelId: string; messageId: string }>();
  /** Running crawls, to stop them on close or when their channel/guild is deleted. */
  private readonly controllers = new Map<AbortController, { guildId: string; channelId: string }>();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  private closed = false;

  constructor(private readonly options: BackfillerOptions) {
    this.log = options.logger ?? childLogger('backfill');
    const interval = options.seenFlushIntervalMs ?? 30_000;
    if (interval > 0) {
      this.timer = setInterval(() => void this.flushSeen().catch((error: unknown) => this.log.error({ err: error }, 'saving seen ids failed')), interval);
      this.timer.unref();
    }
  }

  backfill(options: BackfillRunOptions): Promise<BackfillProgress> {
    return this.exclusive(options.channelId, () => this.crawl('full', options));
  }

  catchUp(options: Omit<BackfillRunOptions, 'restart'>): Promise<BackfillProgress> {
    return this.exclusive(options.channelId, () => this.crawl('catch-up', options));
  }

  isRunning(channelId: string): boolean {
    return this.running.has(channelId);
  }

  markSeen(guildId: string, channelId: string, messageId: string): void {
    const key = `${guildId}:${channelId}`;
    const previous = this.seen.get(key);
    if (previous === undefined || compareSnowflakes(messageId, previous.messageId) > 0) this.seen.set(key, { guildId, channelId, messageId });
  }

  async knownChannels(guildId: string, candidates: readonly string[] = []): Promise<string[]> {
    await this.flushSeen();
    const listed = (await this.guildState(guildId)).channels;
    // A stored cursor missing from the list (a DATA_DIR written by an older release) still counts.
    const unlisted: string[] = [];
    for (const channelId of candidates) {
      if (listed.includes(channelId) || unlisted.includes(channelId)) continue;
      if ((await this.cursor(guildId, channelId))?.newestSeenId != null) unlisted.push(channelId);
    }
    if (unlisted.length > 0) await this.rememberChannels(guildId, unlisted);
    return [...listed, ...unlisted];
  }

  async lastBackfillAt(guildId: string): Promise<number | null> {
    return (await this.guildState(guildId)).lastBackfillAt;
  }

  async cursor(guildId: string, channelId: string): Promise<ChannelCursor | undefined> {
    const stored = cursorSchema.safeParse(await this.options.keyv.get(cursorKey(guildId, channelId)));
    return stored.success ? stored.data : undefined;
  }

  /** The channel was deleted: its cursor goes (a running crawl of it is aborted). */
  async forgetChannel(guildId: string, channelId: string): Promise<void> {
    this.abortWhere((crawl) => crawl.guildId === guildId && crawl.channelId === channelId);
    this.seen.delete(`${guildId}:${channelId}`);
    await this.options.keyv.delete(cursorKey(guildId, channelId));
    const state = await this.guildState(guildId);
    state.channels = state.channels.filter((id) => id !== channelId);
    await this.options.keyv.set(guildKey(guildId), state);
  }

  async forgetGuild(guildId: string): Promise<void> {
    this.abortWhere((crawl) => crawl.guildId === guildId);
    const state = await this.guildState(guildId);
    for (const channelId of state.channels) {
      this.seen.delete(`${guildId}:${channelId}`);
      await this.options.keyv.delete(cursorKey(guildId, channelId));
    }
    for (const [key, entry] of this.seen) if (entry.guildId === guildId) this.seen.delete(key);
    await this.options.keyv.delete(guildKey(guildId));
  }

  /**
   * Persists markSeen ids (newest id per channel) and lists their channels among the guild's known ones:
   * startup catch-up walks that list, and a channel that only ever had live traffic needs it as much as
   * a backfilled one.
   */
  async flushSeen(): Promise<void> {
    const entries = [...this.seen.values()];
    this.seen.clear();
    const channelsByGuild = new Map<string, string[]>();
    for (const { guildId, channelId, messageId } of entries) {
      const cursor = (await this.cursor(guildId, channelId)) ?? emptyCursor();
      cursor.newestSeenId = maxId(cursor.newestSeenId, messageId);
      await this.saveCursor(guildId, channelId, cursor);
      channelsByGuild.set(guildId, [...(channelsByGuild.get(guildId) ?? []), channelId]);
    }
    for (const [guildId, channelIds] of channelsByGuild) await this.rememberChannels(guildId, channelIds);
  }

  /** Stops running crawls after their current page (cursors kept) and saves seen ids. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.abortWhere(() => true);
    await Promise.allSettled([...this.running.values()]);
    await this.flushSeen();
  }

  private abortWhere(match: (crawl: { guildId: string; channelId: string }) => boolean): void {
    for (const [controller, crawl] of this.controllers) if (match(crawl)) controller.abort();
  }

  /** One crawl per channel at a time; a second request waits for the first, then runs (cheap if done). */
  private exclusive(channelId: string, task: () => Promise<BackfillProgress>): Promise<BackfillProgress> {
    const previous = this.running.get(channelId) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(task);
    this.running.set(channelId, run);
    void run.catch(() => undefined).finally(() => {
      if (this.running.get(channelId) === run) this.running.delete(channelId);
    });
    return run;
  }

  private async crawl(mode: Mode, options: BackfillRunOptions): Promise<BackfillProgress> {
    const { guildId, channelId } = options;
    let lock: Lock | undefined;
    if (this.options.locks !== undefined) {
      lock = await this.options.locks.tryAcquire(backfillLockKey(guildId, channelId));
      if (lock === undefined) throw lockedError(backfillLockKey(guildId, channelId));
    }
    const controller = new AbortController();
    this.controllers.set(controller, { guildId, channelId });
    // Stops that keep the cursor: the caller's signal, and a lost lock (another process may crawl now).
    const external = [options.signal, lock?.signal].filter((item): item is AbortSignal => item !== undefined);
    const stoppedFromOutside = () => external.some((item) => item.aborted);
    const signal = AbortSignal.any([controller.signal, ...external]);
    try {
      await this.flushSeen();
      await this.rememberChannels(guildId, [channelId]);
      let cursor = (await this.cursor(guildId, channelId)) ?? emptyCursor();
      if (mode === 'full' && options.restart === true) cursor = { ...emptyCursor(), newestSeenId: cursor.newestSeenId };
      const tracker = new ProgressTracker(guildId, channelId, mode, cursor);
      if (mode === 'full' && cursor.done) return tracker.report(cursor, true);
      if (mode === 'catch-up' && cursor.newestSeenId === null) return tracker.report(cursor, true);
      const settings = await this.options.settings.get(guildId);
      if (settings.ignoredChannelIds.includes(channelId)) return tracker.report(cursor, true);

      for (;;) {
        if (this.closed || signal.aborted) {
          this.log.info({ guildId, channelId, mode, scanned: cursor.scanned }, 'backfill stopped; cursor kept');
          return tracker.report(cursor, false);
        }
        const page =
          mode === 'full'
            ? { before: cursor.oldestDoneId ?? undefined, limit: PAGE_SIZE }
            : { after: cursor.newestSeenId ?? undefined, limit: PAGE_SIZE };
        const { messages } = await this.fetchWithRetry(options, page, signal);
        if (messages.length === 0) break;
        const ids = messages.map((message) => message.id).sort(compareSnowflakes);
        const oldest = ids[0]!;
        const newest = ids[ids.length - 1]!;
        const tally = await this.indexPage(messages, channelId, settings);
        if (signal.aborted && !this.closed && !stoppedFromOutside()) {
          // The channel or guild was deleted meanwhile: leave no cursor behind.
          return tracker.report(cursor, false);
        }
        cursor.scanned += messages.length;
        cursor.indexed += tally.indexed;
        cursor.skipped += tally.skipped;
        cursor.failed += tally.failed;
        if (mode === 'full') {
          cursor.crawlTopId ??= newest;
          cursor.oldestDoneId = oldest;
          cursor.newestSeenId = maxId(cursor.newestSeenId, newest);
        } else {
          cursor.newestSeenId = maxId(cursor.newestSeenId, newest);
        }
        await this.saveCursor(guildId, channelId, cursor);
        options.onProgress?.(tracker.report(cursor, false));
      }
      if (mode === 'full') {
        cursor.done = true;
        cursor.finishedAt = Date.now();
        await this.saveCursor(guildId, channelId, cursor);
        const state = await this.guildState(guildId);
        state.lastBackfillAt = cursor.finishedAt;
        await this.options.keyv.set(guildKey(guildId), state);
      }
      const final = tracker.report(cursor, true);
      options.onProgress?.(final);
      this.log.info({ ...final, mode }, 'backfill finished');
      return final;
    } finally {
      this.controllers.delete(controller);
      await lock?.release();
    }
  }

  private fetchWithRetry(options: BackfillRunOptions, page: { before?: string; after?: string; limit: number }, signal: AbortSignal): Promise<{ messages: HistoryMessage[] }> {
    return fetchPageWithRetry(options.fetchPage, options.channelId, page, {
      attempts: this.options.pageAttempts ?? 4,
      signal,
      onGiveUp: (error, attempt) => this.log.error({ guildId: options.guildId, channelId: options.channelId, err: error, attempt }, 'history page failed; backfill stopped, cursor kept'),
    });
  }

  /** Indexes one page, a few messages at a time; resolves when every image of the page has an outcome. */
  private async indexPage(messages: readonly HistoryMessage[], channelId: string, settings: GuildSettings): Promise<{ indexed: number; skipped: number; failed: number }> {
    const tally = { indexed: 0, skipped: 0, failed: 0 };
    const count = (outcome: IndexOutcome): void => {
      if (outcome.status === 'indexed') tally.indexed += 1;
      else if (outcome.status === 'failed') tally.failed += 1;
      else tally.skipped += 1;
    };
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < messages.length) {
        const message = messages[next++]!;
        if (!shouldIndexMessage({ ...message, channelId }, settings)) {
          tally.skipped += message.images.length;
          continue;
        }
        (await this.options.indexer.indexMessage(message.images, { priority: 'backfill' })).forEach(count);
      }
    };
    const workers = Math.max(1, this.options.messageConcurrency ?? 4);
    await Promise.all(Array.from({ length: Math.min(workers, messages.length) }, worker));
    return tally;
  }

  /** Writes a cursor; the newest seen id never goes backwards (live markSeen flushes may have moved it). */
  private async saveCursor(guildId: string, channelId: string, cursor: ChannelCursor): Promise<void> {
    const stored = await this.cursor(guildId, channelId);
    cursor.newestSeenId = maxId(cursor.newestSeenId, stored?.newestSeenId ?? null);
    await this.options.keyv.set(cursorKey(guildId, channelId), cursor);
  }

  private async guildState(guildId: string): Promise<GuildState> {
    const stored = guildStateSchema.safeParse(await this.options.keyv.get(guildKey(guildId)));
    return stored.success ? stored.data : { lastBackfillAt: null, channels: [] };
  }

  private async rememberChannels(guildId: string, channelIds: readonly string[]): Promise<void> {
    const state = await this.guildState(guildId);
    const added = channelIds.filter((channelId) => !state.channels.includes(channelId));
    if (added.length === 0) return;
    state.channels.push(...added);
    await this.options.keyv.set(guildKey(guildId), state);
  }
}

/** Progress fraction and ETA from message timestamps: the crawl walks from its top id back to the channel's creation. */
class ProgressTracker {
  private readonly started = Date.now();
  private readonly startFraction: number | null;

  constructor(
    private readonly guildId: string,
    private readonly channelId: string,
    private readonly mode: Mode,
    cursor: ChannelCursor,
  ) {
    this.startFraction = this.fraction(cursor);
  }

  report(cursor: ChannelCursor, done: boolean): BackfillProgress {
    const fraction = done ? 1 : this.fraction(cursor);
    let etaSeconds: number | null = done ? 0 : null;
    if (!done && fraction !== null && this.startFraction !== null && fraction > this.startFraction) {
      const elapsed = (Date.now() - this.started) / 1000;
      etaSeconds = Math.round((elapsed / (fraction - this.startFraction)) * (1 - fraction));
    }
    return {
      guildId: this.guildId,
      channelId: this.channelId,
      scanned: cursor.scanned,
      indexed: cursor.indexed,
      skipped: cursor.skipped,
      failed: cursor.failed,
      done,
      etaSeconds,
      fraction,
    };
  }

  private fraction(cursor: ChannelCursor): number | null {
    if (this.mode !== 'full') return null;
    if (cursor.crawlTopId === null || cursor.oldestDoneId === null) return 0;
    const top = snowflakeTime(cursor.crawlTopId);
    const at = snowflakeTime(cursor.oldestDoneId);
    const created = snowflakeTime(this.channelId);
    if (top === undefined || at === undefined || created === undefined || top <= created) return null;
    return Math.min(1, Math.max(0, (top - at) / (top - created)));
  }
}

function cursorKey(guildId: string, channelId: string): string {
  return `cursor:${guildId}:${channelId}`;
}

function guildKey(guildId: string): string {
  return `guild:${guildId}`;
}
