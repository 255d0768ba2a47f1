/**
 * Spam waves: the same image (identical bytes, or a duplicate by the shipped decision) posted in at least
 * N channels or by at least M accounts within T minutes. A wave has ONE state record in keyv (SQLite, Redis
 * or PostgreSQL, like the rest of the metadata), so every process of a sharded bot sees the same wave, and
 * ONE alert message, edited as the wave grows.
 *
 * How a new copy finds its wave: every post of a wave maps `rec:<guild>:<record id>` and
 * `hash:<guild>:<sha256>` to the wave id. The copy's duplicates (from the indexer) lead to their waves; the
 * hash key catches identical copies whose earlier records are gone (the wave's own deletions remove them).
 * Updates of one guild are serialised in the process and, across processes, by a lock (Redis with REDIS_URL).
 *
 * Cost: only live images with a recent duplicate, or whose hash belongs to a live wave, touch keyv; a guild
 * without a log channel (nowhere to alert) or with waves off costs nothing (see `wavesActive`).
 * Pure planning (which posts count, whether it is a wave, which actions are due) is separate from the I/O.
 * Nothing here knows discord.js: the Discord layer acts and posts the alert through the `act` callback.
 */
import type { Keyv } from 'keyv';
import { z } from 'zod';
import { childLogger, type Logger } from '../logger.ts';
import type { ImageRecord } from '../store/types.ts';
import type { LockService } from './locks.ts';
import type { EarlierDuplicate, WaveSettings } from './types.ts';

export const WAVES_NAMESPACE = 'dejavu-waves';

/** A wave lists at most this many posts (an alert cannot show more anyway; actions still cover them). */
export const MAX_WAVE_POSTS = 200;

const MINUTE_MS = 60_000;

/** Per-guild wave settings: a block of its own in the guild settings schema (src/services/settings.ts). */
export const waveSettingsShape = {
  /** Wave detection on (it also needs a log channel, where the alert goes). */
  waveAlerts: z.boolean().default(true),
  /** Distinct channels that make a wave. */
  waveChannels: z.number().int().min(2).max(50).default(3),
  /** Distinct accounts that make a wave. */
  waveAccounts: z.number().int().min(2).max(50).default(3),
  /** Window in minutes: copies count together while each comes within this long of the latest. */
  waveWindowMinutes: z.number().int().min(1).max(24 * 60).default(10),
  /** Delete every copy of a wave. */
  waveDeleteCopies: z.boolean().default(false),
  /** Time out every poster of a wave for this many minutes; 0 = off. Discord allows at most 28 days. */
  waveTimeoutMinutes: z.number().int().min(0).max(28 * 24 * 60).default(0),
  /** Report the actions a wave would trigger without doing them. */
  waveDryRun: z.boolean().default(false),
};

/** One message of a wave. */
export interface WavePost {
  channelId: string;
  messageId: string;
  authorId: string;
  createdAt: number;
  /** Record id (in the guild's index) of the copy. */
  recordId: number;
  contentHash: string;
}

export type WaveActionKind = 'delete' | 'timeout';

/**
 * What happened to one action target. `done` (deleted / timed out), `dry-run` (would have), `moderator`
 * (skipped: the member can manage messages), `no-permission` (the bot lacks the permission or the member
 * outranks it), `failed` (Discord refused; logged).
 */
export type WaveActionOutcome = 'done' | 'dry-run' | 'moderator' | 'no-permission' | 'failed';

export interface WaveAction {
  kind: WaveActionKind;
  /** A message id for `delete`, a user id for `timeout`. */
  target: string;
  /** Channel of the message (`delete`) or of the member's first post (`timeout`). */
  channelId: string;
  /** The poster (`delete`: the message's author). */
  authorId: string;
  outcome: WaveActionOutcome;
}

export interface WaveAlertRef {
  channelId: string;
  messageId: string;
}

export interface WaveState {
  id: string;
  guildId: string;
  startedAt: number;
  /** createdAt of the newest post: the window is counted back from it. */
  lastAt: number;
  /** Oldest first, one per message. */
  posts: WavePost[];
  /** Posts that were dropped because the wave was over MAX_WAVE_POSTS. */
  morePosts: number;
  alert: WaveAlertRef | null;
  /** Every action taken (or reported in dry run) so far, at most one per (kind, target). */
  actions: WaveAction[];
}

/** An action the Discord layer should carry out now (not yet in `wave.actions`). */
export interface DueAction {
  kind: WaveActionKind;
  target: string;
  channelId: string;
  authorId: string;
}

/** What the Discord layer did for a wave: its alert message and the outcomes of the due actions. */
export interface WaveActResult {
  alert: WaveAlertRef | null;
  actions: WaveAction[];
}

/** Callback run under the guild's wave lock when a post is part of a wave. */
export type WaveActor = (wave: WaveState, due: DueAction[]) => Promise<WaveActResult>;

/** Waves are tracked only where their alert can go (a log channel) and the guild has not turned them off. */
export function wavesActive(settings: WaveSettings & { logChannelId: string | null }): boolean {
  return settings.waveAlerts && settings.logChannelId !== null;
}

/** A post for an indexed record. */
export function postOf(record: Pick<ImageRecord, 'channelId' | 'messageId' | 'authorId' | 'createdAt' | 'id' | 'contentHash'>): WavePost {
  return { channelId: record.channelId, messageId: record.messageId, authorId: record.authorId, createdAt: record.createdAt, recordId: record.id, contentHash: record.contentHash };
}

/** Duplicates posted within the window before the new post (older ones are an ordinary repost's original). */
export function recentDuplicates(post: WavePost, duplicates: readonly EarlierDuplicate[], windowMs: number): WavePost[] {
  return duplicates
    .filter((match) => match.record.messageId !== post.messageId && match.record.createdAt >= post.createdAt - windowMs && match.record.createdAt <= post.createdAt + windowMs)
    .map((match) => postOf(match.record));
}

/** Posts added to a wave, one per message, oldest first, capped (the oldest are kept: they started it). */
export function mergePosts(wave: WaveState, posts: readonly WavePost[]): WaveState {
  const byMessage = new Map(wave.posts.map((post) => [post.messageId, post]));
  for (const post of posts) if (!byMessage.has(post.messageId)) byMessage.set(post.messageId, post);
  const sorted = [...byMessage.values()].sort((a, b) => a.createdAt - b.createdAt || compareIds(a.messageId, b.messageId));
  const kept = sorted.slice(0, MAX_WAVE_POSTS);
  const newest = sorted.reduce((latest, post) => Math.max(latest, post.createdAt), wave.lastAt);
  return { ...wave, posts: kept, morePosts: wave.morePosts + sorted.length - kept.length, lastAt: newest };
}

/** Distinct channels and accounts among the posts within the window that ends at the newest post. */
export function waveCounts(wave: WaveState, windowMs: number): { channels: number; accounts: number } {
  const inWindow = wave.posts.filter((post) => post.createdAt >= wave.lastAt - windowMs);
  return { channels: new Set(inWindow.map((post) => post.channelId)).size, accounts: new Set(inWindow.map((post) => post.authorId)).size };
}

/** Whether the posts make a wave. Once alerted, a wave stays one (it only grows). */
export function isWave(wave: WaveState, settings: WaveSettings): boolean {
  if (wave.alert !== null) return true;
  const counts = waveCounts(wave, settings.waveWindowMinutes * MINUTE_MS);
  return counts.channels >= settings.waveChannels || counts.accounts >= settings.waveAccounts;
}

/** The actions the settings ask for that were not taken yet: each copy deleted once, each poster timed out once. */
export function dueActions(wave: WaveState, settings: WaveSettings): DueAction[] {
  const taken = new Set(wave.actions.map((action) => `${action.kind}:${action.target}`));
  const due: DueAction[] = [];
  if (settings.waveDeleteCopies) {
    for (const post of wave.posts) {
      if (!taken.has(`delete:${post.messageId}`)) due.push({ kind: 'delete', target: post.messageId, channelId: post.channelId, authorId: post.authorId });
    }
  }
  if (settings.waveTimeoutMinutes > 0) {
    const seen = new Set<string>();
    for (const post of wave.posts) {
      if (seen.has(post.authorId) || taken.has(`timeout:${post.authorId}`)) continue;
      seen.add(post.authorId);
      due.push({ kind: 'timeout', target: post.authorId, channelId: post.channelId, authorId: post.authorId });
    }
  }
  return due;
}

function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

const waveStateSchema = z.object({
  id: z.string(),
  guildId: z.string(),
  startedAt: z.number(),
  lastAt: z.number(),
  posts: z.array(z.object({ channelId: z.string(), messageId: z.string(), authorId: z.string(), createdAt: z.number(), recordId: z.number(), contentHash: z.string() })),
  morePosts: z.number(),
  alert: z.object({ channelId: z.string(), messageId: z.string() }).nullable(),
  actions: z.array(
    z.object({
      kind: z.enum(['delete', 'timeout']),
      target: z.string(),
      channelId: z.string(),
      authorId: z.string(),
      outcome: z.enum(['done', 'dry-run', 'moderator', 'no-permission', 'failed']),
    }),
  ),
});

export interface WaveObservation {
  guildId: string;
  /** The new copy (an indexed record of a live message). */
  post: WavePost;
  /** The indexer's duplicates of it (earlier images of the guild, exact and detected). */
  duplicates: readonly EarlierDuplicate[];
  settings: WaveSettings;
}

export interface WaveServiceOptions {
  keyv: Keyv<unknown>;
  locks: LockService;
  /** How long to wait for another process's lock on the guild's waves. Default 10 s. */
  lockWaitMs?: number;
  logger?: Logger;
}

export class WaveService {
  private readonly log: Logger;
  /** Tail of each guild's chain of wave updates in this process. */
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(private readonly options: WaveServiceOptions) {
    this.log = options.logger ?? childLogger('waves');
  }

  /**
   * Adds a new copy to its wave (creating one when it has recent duplicates) and, when the posts make a
   * wave, calls `act` with the wave and the actions now due; stores what it reports. Resolves with the
   * wave (null when the post belongs to none). Errors are logged and resolve null: a wave never costs an image.
   */
  async observe(observation: WaveObservation, act: WaveActor): Promise<WaveState | null> {
    try {
      // The common case (no recent duplicate, bytes in no live wave) costs one keyv read and takes no lock.
      const { guildId, post, settings } = observation;
      const recent = recentDuplicates(post, observation.duplicates, settings.waveWindowMinutes * MINUTE_MS);
      if (recent.length === 0 && typeof (await this.options.keyv.get(hashKey(guildId, post.contentHash))) !== 'string') return null;
      return await this.serialised(guildId, () => this.observeLocked(observation, act));
    } catch (error) {
      this.log.error({ err: error, guildId: observation.guildId, messageId: observation.post.messageId }, 'wave tracking failed');
      return null;
    }
  }

  /** The wave a record belongs to, if it is still live. */
  async waveOfRecord(guildId: string, recordId: number): Promise<WaveState | null> {
    const id = await this.options.keyv.get(recordKey(guildId, recordId));
    return typeof id === 'string' ? this.load(id) : null;
  }

  private async observeLocked(observation: WaveObservation, act: WaveActor): Promise<WaveState | null> {
    const { guildId, post, settings } = observation;
    const windowMs = settings.waveWindowMinutes * MINUTE_MS;
    const recent = recentDuplicates(post, observation.duplicates, windowMs);
    const keyv = this.options.keyv;
    const candidateKeys = [hashKey(guildId, post.contentHash), ...recent.map((duplicate) => recordKey(guildId, duplicate.recordId))];
    let wave: WaveState | null = null;
    for (const key of candidateKeys) {
      const id = await keyv.get(key);
      if (typeof id !== 'string') continue;
      const found = await this.load(id);
      // A wave whose newest post is older than the window is over; the copy starts a new one.
      if (found !== null && post.createdAt - found.lastAt <= windowMs) {
        wave = found;
        break;
      }
    }
    if (wave === null && recent.length === 0) return null;
    wave ??= { id: `${guildId}:${post.messageId}`, guildId, startedAt: Math.min(post.createdAt, ...recent.map((p) => p.createdAt)), lastAt: post.createdAt, posts: [], morePosts: 0, alert: null, actions: [] };
    const known = new Set(wave.posts.map((member) => member.messageId));
    wave = mergePosts(wave, [...recent, post]);
    const waveId = wave.id;
    // Keys live twice the window: a wave is over once no copy came within the window.
    const ttl = windowMs * 2;
    const keys = new Set<string>([recordKey(guildId, post.recordId), hashKey(guildId, post.contentHash)]);
    for (const member of [...recent, post]) {
      if (known.has(member.messageId)) continue;
      keys.add(recordKey(guildId, member.recordId));
      keys.add(hashKey(guildId, member.contentHash));
    }
    await Promise.all([...keys].map((key) => keyv.set(key, waveId, ttl)));
    if (!isWave(wave, settings)) {
      await this.save(wave, ttl);
      return wave;
    }
    const due = dueActions(wave, settings);
    const firstAlert = wave.alert === null;
    // Saved before acting: a crash mid-action leaves the wave known, so the next copy edits, not re-posts.
    await this.save(wave, ttl);
    const result = await act(wave, due);
    wave = { ...wave, alert: result.alert ?? wave.alert, actions: [...wave.actions, ...result.actions] };
    await this.save(wave, ttl);
    const counts = waveCounts(wave, windowMs);
    this.log.info({ guildId, waveId: wave.id, posts: wave.posts.length, ...counts, firstAlert, actions: result.actions.length }, firstAlert ? 'spam wave detected' : 'spam wave grew');
    for (const action of result.actions) {
      this.log.info({ guildId, waveId: wave.id, action: action.kind, target: action.target, channelId: action.channelId, memberId: action.authorId, outcome: action.outcome }, 'spam wave action');
    }
    return wave;
  }

  private async load(id: string): Promise<WaveState | null> {
    const parsed = waveStateSchema.safeParse(await this.options.keyv.get(waveKey(id)));
    return parsed.success ? parsed.data : null;
  }

  private async save(wave: WaveState, ttlMs: number): Promise<void> {
    await this.options.keyv.set(waveKey(wave.id), wave, ttlMs);
  }

  /** One update per guild at a time: in this process by a promise chain, across processes by a lock. */
  private serialised<T>(guildId: string, task: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(guildId) ?? Promise.resolve();
    const run = previous.then(() => this.withGuildLock(guildId, task));
    const tail = run.catch(() => undefined);
    this.chains.set(guildId, tail);
    void tail.then(() => {
      if (this.chains.get(guildId) === tail) this.chains.delete(guildId);
    });
    return run;
  }

  private async withGuildLock<T>(guildId: string, task: () => Promise<T>): Promise<T> {
    const key = `waves:${guildId}`;
    const deadline = Date.now() + (this.options.lockWaitMs ?? 10_000);
    for (;;) {
      const lock = await this.options.locks.tryAcquire(key);
      if (lock !== undefined) {
        try {
          return await task();
        } finally {
          await lock.release();
        }
      }
      if (Date.now() >= deadline) {
        // Another process is stuck on this guild's waves: going on unlocked risks a second alert, not a lost image.
        this.log.warn({ guildId }, 'wave lock busy; updating without it');
        return task();
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

function waveKey(id: string): string {
  return `wave:${id}`;
}

function recordKey(guildId: string, recordId: number): string {
  return `rec:${guildId}:${recordId}`;
}

function hashKey(guildId: string, contentHash: string): string {
  return `hash:${guildId}:${contentHash}`;
}
