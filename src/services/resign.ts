/**
 * Re-signing: when the duplicate signature's format changes (SIGNATURE_VERSION, `isCurrentSignature`),
 * images indexed before keep their old signature, and the old decision keeps serving them, until this job
 * gives them a new one. Per channel, a `resign` channel job (src/services/jobs) re-fetches the messages
 * of the channel's stale images, downloads those images again (the CDN URLs stored nowhere expire), embeds
 * them through the work queue with backfill priority, and swaps each message's records in one step.
 *
 * Cheap on Discord: the channel's stale message ids come from the store, so the job reads only the history
 * windows that hold them (`after` pages, oldest first), one page at a time, and pauses after each message
 * it re-signed (CDN downloads). Resumable: a cursor per channel (the newest message handled, counts, the
 * signature version it works towards) is written to keyv after every message, so a restarted job goes on
 * after it. A message whose images could not be fetched again is counted and passed: its old signature
 * stays. A message missing from a page that holds its neighbours was deleted: its images are removed.
 */
import type { Keyv } from 'keyv';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { isCurrentSignature, SIGNATURE_VERSION } from '../embedding/signature.ts';
import { childLogger, type Logger } from '../logger.ts';
import type { ImageRecord, ImageSource, ImageStore } from '../store/types.ts';
import { compareSnowflakes } from './backfill.ts';
import type { ImageIndexer } from './indexing.ts';
import { fetchPageWithRetry } from './history-pages.ts';
import { lockedError, type Lock, type LockService } from './locks.ts';
import type { BackfillProgress, FetchHistoryPage, HistoryMessage } from './types.ts';

export const RESIGN_NAMESPACE = 'dejavu-resign';
const PAGE_SIZE = 100;

const cursorSchema = z.object({
  /** The signature version this crawl gives images; a cursor of another version is started over. */
  version: z.string(),
  /** Every stale message up to this id (inclusive) is handled. */
  doneThroughId: z.string().nullable(),
  /** Stale messages of the channel when the crawl started. */
  total: z.number(),
  scanned: z.number(),
  indexed: z.number(),
  skipped: z.number(),
  failed: z.number(),
  done: z.boolean(),
  finishedAt: z.number().nullable(),
});
export type ResignCursor = z.infer<typeof cursorSchema>;

export interface ResignRunOptions {
  guildId: string;
  channelId: string;
  fetchPage: FetchHistoryPage;
  onProgress?: (progress: BackfillProgress) => void;
  /** Stops after the current message; the cursor is kept. */
  signal?: AbortSignal;
}

/** What the Discord layer and the job runner use. */
export interface ResignService {
  /** Channels of the guild holding images whose signature is not of the current version. */
  staleChannels(guildId: string): Promise<string[]>;
  /** Re-signs the channel's stale images, resuming its cursor; resolves with `done: false` when stopped. */
  resign(options: ResignRunOptions): Promise<BackfillProgress>;
  cursor(guildId: string, channelId: string): Promise<ResignCursor | undefined>;
}

export interface ResignerOptions {
  store: ImageStore;
  indexer: ImageIndexer;
  /** keyv namespace RESIGN_NAMESPACE. */
  keyv: Keyv<unknown>;
  /** Channel locks shared by every process (one re-signing of a channel at a time). */
  locks?: LockService;
  /** Pause after each re-signed message (CDN downloads, REST pages). Default 200 ms. */
  pauseMs?: number;
  /** Attempts per history page before the job stops (cursor kept). Default 4. */
  pageAttempts?: number;
  logger?: Logger;
}

/** Lock key of a channel's re-signing. */
export function resignLockKey(guildId: string, channelId: string): string {
  return `resign:${guildId}:${channelId}`;
}

/** The source fields of a record (what a fresh record of the same image is added with). */
export function sourceOf(record: ImageRecord): ImageSource {
  const { guildId, channelId, messageId, sourceKey, authorId, createdAt, nsfw, kind, label } = record;
  return { guildId, channelId, messageId, sourceKey, authorId, createdAt, nsfw, kind, label };
}

/** Stale message ids per channel, ascending, from one pass over the guild's records. */
export async function staleMessagesByChannel(records: AsyncIterable<ImageRecord>): Promise<Map<string, string[]>> {
  const byChannel = new Map<string, Set<string>>();
  for await (const record of records) {
    if (isCurrentSignature(record.signature) || record.channelId === '' || !/^\d{1,20}$/.test(record.messageId)) continue;
    let messages = byChannel.get(record.channelId);
    if (messages === undefined) byChannel.set(record.channelId, (messages = new Set()));
    messages.add(record.messageId);
  }
  return new Map([...byChannel].map(([channelId, ids]) => [channelId, [...ids].sort(compareSnowflakes)]));
}

export class Resigner implements ResignService {
  /**
   * One scan per guild and process: images indexed from now on are current, so the candidates only
   * shrink, and every candidate is checked again before any work.
   */
  private readonly scans = new Map<string, Promise<Map<string, string[]>>>();
  private readonly controllers = new Set<AbortController>();
  private readonly log: Logger;
  private closed = false;

  constructor(private readonly options: ResignerOptions) {
    this.log = options.logger ?? childLogger('resign');
  }

  async staleChannels(guildId: string): Promise<string[]> {
    if ((await this.options.keyv.get(cleanKey(guildId))) === SIGNATURE_VERSION) return [];
    const channels = [...(await this.scan(guildId)).entries()].filter(([, ids]) => ids.length > 0).map(([channelId]) => channelId);
    // Nothing stale: later starts skip the scan until the signature version changes.
    if (channels.length === 0) await this.options.keyv.set(cleanKey(guildId), SIGNATURE_VERSION);
    return channels;
  }

  async cursor(guildId: string, channelId: string): Promise<ResignCursor | undefined> {
    const stored = cursorSchema.safeParse(await this.options.keyv.get(cursorKey(guildId, channelId)));
    return stored.success ? stored.data : undefined;
  }

  async resign(options: ResignRunOptions): Promise<BackfillProgress> {
    const { guildId, channelId } = options;
    let lock: Lock | undefined;
    if (this.options.locks !== undefined) {
      lock = await this.options.locks.tryAcquire(resignLockKey(guildId, channelId));
      if (lock === undefined) throw lockedError(resignLockKey(guildId, channelId));
    }
    const controller = new AbortController();
    this.controllers.add(controller);
    const signal = AbortSignal.any([controller.signal, ...[options.signal, lock?.signal].filter((item): item is AbortSignal => item !== undefined)]);
    try {
      const stale = (await this.scan(guildId)).get(channelId) ?? [];
      const stored = await this.cursor(guildId, channelId);
      const cursor: ResignCursor =
        stored !== undefined && stored.version === SIGNATURE_VERSION
          ? stored
          : { version: SIGNATURE_VERSION, doneThroughId: null, total: stale.length, scanned: 0, indexed: 0, skipped: 0, failed: 0, done: false, finishedAt: null };
      const after = cursor.doneThroughId;
      let pending = after === null ? stale : stale.filter((id) => compareSnowflakes(id, after) > 0);
      if (cursor.done && pending.length === 0) {
        await this.channelFinished(guildId, channelId);
        return report(guildId, channelId, cursor, true);
      }
      if (stored !== undefined && stored.version === SIGNATURE_VERSION && cursor.scanned > 0) {
        this.log.info({ guildId, channelId, handled: cursor.scanned, left: pending.length }, 're-signing resumed from its cursor');
      }
      while (pending.length > 0) {
        if (this.closed || signal.aborted) return this.stopped(guildId, channelId, cursor);
        const first = pending[0]!;
        const { messages } = await this.fetchWithRetry(options, { after: (BigInt(first) - 1n).toString(), limit: PAGE_SIZE }, signal);
        const byId = new Map(messages.map((message) => [message.id, message]));
        // An empty page: every message left is gone (deleted); a page ends where its newest message is.
        const pageEnd = messages.length === 0 ? pending[pending.length - 1]! : messages.map((message) => message.id).sort(compareSnowflakes).at(-1)!;
        const inPage = pending.filter((id) => compareSnowflakes(id, pageEnd) <= 0);
        for (const messageId of inPage) {
          if (this.closed || signal.aborted) return this.stopped(guildId, channelId, cursor);
          const message = byId.get(messageId);
          let outcome: 'resigned' | 'current' | 'failed' | 'gone' = 'gone';
          if (message !== undefined) outcome = await this.resignMessage(guildId, message);
          else if (messages.length > 0) await this.forgetDeleted(guildId, channelId, messageId);
          cursor.scanned += 1;
          if (outcome === 'resigned') cursor.indexed += 1;
          else if (outcome === 'failed') cursor.failed += 1;
          else cursor.skipped += 1;
          cursor.doneThroughId = messageId;
          await this.options.keyv.set(cursorKey(guildId, channelId), cursor);
          options.onProgress?.(report(guildId, channelId, cursor, false));
          if (outcome === 'resigned' && (this.options.pauseMs ?? 200) > 0) await sleep(this.options.pauseMs ?? 200, undefined, { signal }).catch(() => undefined);
        }
        pending = pending.slice(inPage.length);
        this.log.info({ ...report(guildId, channelId, cursor, false), left: pending.length }, 're-signing progress');
      }
      cursor.done = true;
      cursor.finishedAt = Date.now();
      await this.options.keyv.set(cursorKey(guildId, channelId), cursor);
      await this.channelFinished(guildId, channelId);
      const final = report(guildId, channelId, cursor, true);
      options.onProgress?.(final);
      this.log.info({ ...final, version: SIGNATURE_VERSION }, 're-signing of the channel finished');
      return final;
    } finally {
      this.controllers.delete(controller);
      await lock?.release();
    }
  }

  /** Stops running jobs after their current message (cursors kept). */
  async close(): Promise<void> {
    this.closed = true;
    for (const controller of this.controllers) controller.abort();
    await Promise.resolve();
  }

  /**
   * The channel is done (images that failed or whose message is gone keep their old signature): once every
   * channel of the guild is, later starts skip the scan until the signature version changes.
   */
  private async channelFinished(guildId: string, channelId: string): Promise<void> {
    const scan = await this.scan(guildId);
    scan.delete(channelId);
    if (scan.size === 0) await this.options.keyv.set(cleanKey(guildId), SIGNATURE_VERSION);
  }

  /**
   * The page holds the messages around this one but not it: it was deleted while the bot was away (no
   * delete event came), so its images go, as a live delete would remove them. An empty page proves nothing
   * (the channel may be unreadable now): those records stay.
   */
  private async forgetDeleted(guildId: string, channelId: string, messageId: string): Promise<void> {
    this.options.indexer.forgetMessage(guildId, messageId);
    const removed = await this.options.store.removeMessage(guildId, messageId);
    this.log.info({ guildId, channelId, messageId, removed }, 'images of a deleted message removed');
  }

  private stopped(guildId: string, channelId: string, cursor: ResignCursor): BackfillProgress {
    this.log.info({ guildId, channelId, handled: cursor.scanned }, 're-signing stopped; cursor kept');
    return report(guildId, channelId, cursor, false);
  }

  private scan(guildId: string): Promise<Map<string, string[]>> {
    let scan = this.scans.get(guildId);
    if (scan === undefined) {
      scan = staleMessagesByChannel(this.options.store.listRecords(guildId));
      this.scans.set(guildId, scan);
      scan.catch(() => this.scans.delete(guildId));
    }
    return scan;
  }

  /**
   * New signatures for every stored image of the message, swapped in together; nothing changes unless all
   * of them could be downloaded and embedded again (the old records keep serving meanwhile).
   */
  private async resignMessage(guildId: string, message: HistoryMessage): Promise<'resigned' | 'current' | 'failed'> {
    const work: Array<{ reference: HistoryMessage['images'][number]; record: ImageRecord }> = [];
    for (const image of message.images) {
      const record = await this.options.store.getBySource(guildId, image.source.sourceKey);
      if (record !== undefined) work.push({ reference: image, record });
    }
    if (!work.some(({ record }) => !isCurrentSignature(record.signature))) return 'current';
    const fields = { guildId, channelId: work[0]?.record.channelId, messageId: message.id, images: work.length };
    try {
      const fresh = await Promise.all(
        work.map(async ({ reference, record }) => {
          const source = sourceOf(record);
          return { source, ...(await this.options.indexer.reembed({ ...reference, source })) };
        }),
      );
      await this.options.indexer.replaceMessage(guildId, message.id, fresh);
      this.log.debug(fields, 'message re-signed');
      return 'resigned';
    } catch (error) {
      this.log.warn({ ...fields, err: error }, 'message not re-signed; its old signature stays');
      return 'failed';
    }
  }

  private fetchWithRetry(options: ResignRunOptions, page: { after: string; limit: number }, signal: AbortSignal): Promise<{ messages: HistoryMessage[] }> {
    return fetchPageWithRetry(options.fetchPage, options.channelId, page, {
      attempts: this.options.pageAttempts ?? 4,
      signal,
      onGiveUp: (error, attempt) => this.log.error({ guildId: options.guildId, channelId: options.channelId, err: error, attempt }, 'history page failed; re-signing stopped, cursor kept'),
    });
  }
}

function report(guildId: string, channelId: string, cursor: ResignCursor, done: boolean): BackfillProgress {
  return {
    guildId,
    channelId,
    scanned: cursor.scanned,
    indexed: cursor.indexed,
    skipped: cursor.skipped,
    failed: cursor.failed,
    done,
    etaSeconds: done ? 0 : null,
    fraction: done ? 1 : cursor.total > 0 ? Math.min(1, cursor.scanned / cursor.total) : null,
  };
}

function cursorKey(guildId: string, channelId: string): string {
  return `cursor:${guildId}:${channelId}`;
}

/**
 * Makes the next start scan the guild again: for tools that bring in records from elsewhere (a restored
 * backup, a copy from another store), which may hold older signatures after the guild was found clean.
 */
export async function forgetCleanScan(keyv: Keyv<unknown>, guildId: string): Promise<void> {
  await keyv.delete(cleanKey(guildId));
}

function cleanKey(guildId: string): string {
  return `clean:${guildId}`;
}
