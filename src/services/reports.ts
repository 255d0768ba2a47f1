/**
 * "Not a repost" reports: a member (the poster or a moderator) says a duplicate notice was wrong. The pair
 * of images is remembered for the guild and never noticed again, the report counts as a reported false
 * positive in `/dejavu stats`, and moderators can list recent reports and undo one.
 *
 * Pairs are keyed by the two images' content hashes (unordered): an identical copy of either image posted
 * later is the same pair, which is what "never reported again" means to the person who pressed the button.
 * Everything lives in keyv (namespace REPORTS_NAMESPACE), so every shard and process sees the same reports.
 * The per-guild report list is read-modified-written; a lost update between two presses in the same
 * millisecond costs one list entry, never a pair (pair keys are written one by one).
 */
import { randomBytes } from 'node:crypto';
import type { Keyv } from 'keyv';
import { z } from 'zod';

export const REPORTS_NAMESPACE = 'dejavu-reports';
/** Reports kept per guild for `/dejavu reports` (the pairs themselves are kept for good). */
export const REPORTS_KEPT = 500;
/** How long a posted notice can still be reported (its record is dropped after that). */
export const NOTICE_TTL_MS = 30 * 24 * 60 * 60 * 1000;

const pairSchema = z.object({ imageHash: z.string(), originalHash: z.string(), originalMessageId: z.string(), originalChannelId: z.string() });

const noticeSchema = z.object({
  guildId: z.string(),
  channelId: z.string(),
  /** The new message the notice is about. */
  messageId: z.string(),
  posterId: z.string(),
  noticeChannelId: z.string(),
  noticeMessageId: z.string(),
  pairs: z.array(pairSchema),
  postedAt: z.number(),
});
/** A duplicate notice the bot posted (with its "Not a repost" button). */
export type PostedNotice = z.infer<typeof noticeSchema>;

const reportSchema = z.object({
  id: z.string(),
  guildId: z.string(),
  channelId: z.string(),
  messageId: z.string(),
  posterId: z.string(),
  reporterId: z.string(),
  pairs: z.array(pairSchema),
  reportedAt: z.number(),
  undoneAt: z.number().nullable(),
  undoneBy: z.string().nullable(),
});
export type FalsePositiveReport = z.infer<typeof reportSchema>;

export interface ReportService {
  /** Remembers a posted notice so its button can be honoured later (by any process). */
  rememberNotice(notice: PostedNotice): Promise<void>;
  /** The notice posted about `messageId`, while it can still be reported. */
  notice(guildId: string, messageId: string): Promise<PostedNotice | undefined>;
  /** Records the report: its pairs are suppressed from now on; the notice can no longer be reported. */
  report(notice: PostedNotice, reporterId: string, now?: number): Promise<FalsePositiveReport>;
  /** Whether a member reported this pair of images (either order) as not a repost. */
  isSuppressed(guildId: string, imageHash: string, originalHash: string): Promise<boolean>;
  /** Recent reports, newest first, undone ones included (marked). */
  recent(guildId: string, limit?: number): Promise<FalsePositiveReport[]>;
  /** Takes a report back: its pairs are noticed again. Undefined when there is no such live report. */
  undo(guildId: string, reportId: string, by: string, now?: number): Promise<FalsePositiveReport | undefined>;
  /** Reported false positives that were not undone. */
  falsePositives(guildId: string): Promise<number>;
  /** The bot left the guild: every report, pair and notice record goes. */
  forgetGuild(guildId: string): Promise<void>;
}

/** Order-free key of a pair: the two hashes sorted. */
export function pairKey(guildId: string, a: string, b: string): string {
  const [first, second] = a <= b ? [a, b] : [b, a];
  return `pair:${guildId}:${first}:${second}`;
}

export class KeyvReportStore implements ReportService {
  constructor(private readonly keyv: Keyv<unknown>) {}

  async rememberNotice(notice: PostedNotice): Promise<void> {
    await this.keyv.set(noticeKey(notice.guildId, notice.messageId), noticeSchema.parse(notice), NOTICE_TTL_MS);
  }

  async notice(guildId: string, messageId: string): Promise<PostedNotice | undefined> {
    const stored = noticeSchema.safeParse(await this.keyv.get(noticeKey(guildId, messageId)));
    return stored.success ? stored.data : undefined;
  }

  async report(notice: PostedNotice, reporterId: string, now = Date.now()): Promise<FalsePositiveReport> {
    const report: FalsePositiveReport = {
      id: randomBytes(4).toString('hex'),
      guildId: notice.guildId,
      channelId: notice.channelId,
      messageId: notice.messageId,
      posterId: notice.posterId,
      reporterId,
      pairs: notice.pairs,
      reportedAt: now,
      undoneAt: null,
      undoneBy: null,
    };
    for (const pair of notice.pairs) await this.keyv.set(pairKey(notice.guildId, pair.imageHash, pair.originalHash), report.id);
    const list = await this.list(notice.guildId);
    list.unshift(report);
    await this.keyv.set(listKey(notice.guildId), list.slice(0, REPORTS_KEPT));
    await this.keyv.set(countKey(notice.guildId), (await this.falsePositives(notice.guildId)) + 1);
    await this.keyv.delete(noticeKey(notice.guildId, notice.messageId));
    return report;
  }

  async isSuppressed(guildId: string, imageHash: string, originalHash: string): Promise<boolean> {
    return typeof (await this.keyv.get(pairKey(guildId, imageHash, originalHash))) === 'string';
  }

  async recent(guildId: string, limit = 10): Promise<FalsePositiveReport[]> {
    return (await this.list(guildId)).slice(0, Math.max(0, limit));
  }

  async undo(guildId: string, reportId: string, by: string, now = Date.now()): Promise<FalsePositiveReport | undefined> {
    const list = await this.list(guildId);
    const report = list.find((entry) => entry.id === reportId && entry.undoneAt === null);
    if (report === undefined) return undefined;
    for (const pair of report.pairs) {
      const key = pairKey(guildId, pair.imageHash, pair.originalHash);
      // A later report of the same pair owns the key now: it stays suppressed.
      if ((await this.keyv.get(key)) === report.id) await this.keyv.delete(key);
    }
    report.undoneAt = now;
    report.undoneBy = by;
    await this.keyv.set(listKey(guildId), list);
    await this.keyv.set(countKey(guildId), Math.max(0, (await this.falsePositives(guildId)) - 1));
    return report;
  }

  async falsePositives(guildId: string): Promise<number> {
    const stored = await this.keyv.get(countKey(guildId));
    return typeof stored === 'number' && Number.isFinite(stored) ? stored : 0;
  }

  async forgetGuild(guildId: string): Promise<void> {
    for (const report of await this.list(guildId)) {
      for (const pair of report.pairs) await this.keyv.delete(pairKey(guildId, pair.imageHash, pair.originalHash));
    }
    await this.keyv.delete(listKey(guildId));
    await this.keyv.delete(countKey(guildId));
  }

  private async list(guildId: string): Promise<FalsePositiveReport[]> {
    const stored = z.array(reportSchema).safeParse(await this.keyv.get(listKey(guildId)));
    return stored.success ? stored.data : [];
  }
}

function noticeKey(guildId: string, messageId: string): string {
  return `notice:${guildId}:${messageId}`;
}

function listKey(guildId: string): string {
  return `reports:${guildId}`;
}

function countKey(guildId: string): string {
  return `count:${guildId}`;
}
