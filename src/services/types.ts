/**
 * The plain data types the services exchange with their callers (the Discord layer in src/discord and
 * commands/, the CLI, src/main.ts). Nothing here knows about discord.js; the Discord layer adapts its
 * objects to these types (ImageReference, HistoryMessage) and passes permission checks in as predicates.
 * Every service module imports from here and this module imports none of them, so there are no loops.
 *
 * Entry point: `createServices(config)` in src/services/context.ts returns the `Services` object.
 */
import type { DejavuError, ErrorCode } from '../errors.ts';
import type { ImageRecord, ImageSource, RecordMetadata, ScoredRecord } from '../store/types.ts';

// ---------------------------------------------------------------------------------------------
// Images to index
// ---------------------------------------------------------------------------------------------

/** One image of one message (an attachment or an unfurled embed), as the Discord layer sees it. */
export interface ImageReference {
  /** Ids and metadata stored with the record (contract in src/store/types.ts). */
  source: ImageSource;
  /** Original CDN URL (attachment.url / embed image url). Never stored: CDN URLs expire. */
  url: string;
  /** Discord media-proxy URL (attachment.proxyURL / embed proxyURL); preferred, can be downscaled. */
  proxyUrl?: string;
  /** Pixel size Discord reports, when known: decides whether a downscaled rendition is asked for. */
  width?: number;
  height?: number;
  /** MIME type Discord reports (attachment.contentType). mp4/webm/mov go through ffmpeg; other video/* and image/svg+xml are refused. */
  contentType?: string;
  /** Byte size Discord reports; over MAX_IMAGE_BYTES the image is refused without downloading. */
  size?: number;
}

/** A duplicate of a new image found among earlier images of the same guild. Best first in lists. */
export interface EarlierDuplicate {
  /** The earlier image. */
  record: ImageRecord;
  /** Detector's confidence-like score in [0, 1] (shown to users as a percent). */
  similarity: number;
  /** Cosine similarity of the search embeddings, for logs. */
  cosine: number;
  /** Bytes were identical (sha256). */
  exact: boolean;
  /**
   * `repost`: the same picture posted again (possibly edited). `template`: the same picture under different
   * text (a meme template with a new caption): not a repost; guilds choose whether to mention it.
   */
  kind: 'repost' | 'template';
}

/** What happened to one image. Indexing never throws: failures come back as `status: 'failed'`. */
export type IndexOutcome =
  | {
      status: 'indexed';
      record: ImageRecord;
      /** Earlier images of the guild the detector calls duplicates (never the same message), best first. */
      duplicates: EarlierDuplicate[];
      /** True when identical bytes were already indexed: the embedding was reused, nothing was embedded. */
      exactDuplicate: boolean;
      /** Whether the embedder ran for this image (false on the exact-hash shortcut). */
      embedded: boolean;
      /** Milliseconds from the index() call to done. */
      elapsedMs: number;
      /** Where the time went (ms): waiting in the queue, download, hash lookups + embedding, duplicate detection, store add. */
      timings: IndexTimings;
      /** Still image (default), animation or video (src/services/media.ts). */
      media?: MediaKind;
      /** Records of the further frames of an animation or video (`record` is frame 0); their matches are in `duplicates`. */
      frames?: ImageRecord[];
    }
  | { status: 'already-indexed'; record: ImageRecord }
  /** Refused before any download: ignored channel, unsupported type (video, SVG), declared too large. */
  | { status: 'skipped'; source: ImageSource; reason: string }
  /** The message (or channel, guild) was deleted while its image waited or was being indexed. */
  | { status: 'deleted'; source: ImageSource }
  | { status: 'failed'; source: ImageSource; code: ErrorCode; error: DejavuError };

export interface IndexTimings {
  queueMs: number;
  downloadMs: number;
  embedMs: number;
  detectMs: number;
  addMs: number;
}

export interface IndexOptions {
  /** `backfill` work yields to `live` work in the queue and blocks sooner when the queue fills. */
  priority?: WorkPriority;
}

/** The indexing pipeline (src/services/indexing.ts). */
export interface Indexer {
  /**
   * Indexes one image through the work queue: skip if (guild, sourceKey) is indexed → download
   * (rendition when large) → sha256 → exact-hash shortcut or embed → duplicate detection against earlier
   * images of the guild → add to the store. Resolves with the outcome; never rejects.
   */
  index(image: ImageReference, options?: IndexOptions): Promise<IndexOutcome>;
  /** All images of one message, in parallel through the queue; outcomes in input order. */
  indexMessage(images: readonly ImageReference[], options?: IndexOptions): Promise<IndexOutcome[]>;
}

// ---------------------------------------------------------------------------------------------
// Duplicate notices (src/services/notices.ts; pure)
// ---------------------------------------------------------------------------------------------

export type NoticeMode = 'reply' | 'react' | 'log' | 'off';

export interface DuplicateNoticeInput {
  /** Outcomes of all images of ONE new message (from indexMessage); only `indexed` ones count. */
  outcomes: readonly IndexOutcome[];
  settings: GuildSettings;
  /**
   * Whether everyone who can see the new message's channel can also see the match's channel
   * (computed by the Discord layer from permissions; NSFW → non-NSFW must return false).
   */
  audienceCanSee: (match: EarlierDuplicate) => boolean | Promise<boolean>;
  /** Pairs a member reported as "not a repost" (src/services/reports.ts): never noticed again. */
  isSuppressed?: (match: EarlierDuplicate, image: ImageRecord) => boolean | Promise<boolean>;
}

/** One notice to post for a message, or nothing. */
export type DuplicateNotice =
  | { action: 'none'; reason: string }
  | {
      action: 'reply' | 'react' | 'log';
      /** Channel for `log` mode. */
      logChannelId?: string;
      /** The new message that gets the notice. */
      message: { guildId: string; channelId: string; messageId: string; authorId: string };
      /** Best match per earlier message (at most one entry per original message), best first, at most 5. */
      matches: EarlierDuplicate[];
      /**
       * `repost`: a repost notice (its matches are reposts). `template`: only same-template matches were
       * found and the guild asked for a note about them (its matches are all `kind: 'template'`).
       */
      kind: 'repost' | 'template';
      /** Each listed match with the new image it matched (for remembering a "not a repost" report). */
      pairs: NoticePair[];
    };

/** One (new image, earlier image) pair of a notice, by content hash: identical copies share the verdict. */
export interface NoticePair {
  imageHash: string;
  originalHash: string;
  originalMessageId: string;
  originalChannelId: string;
}

// ---------------------------------------------------------------------------------------------
// Similarity search (src/services/similarity.ts) — /similar, context menu, 🔍 reaction
// ---------------------------------------------------------------------------------------------

export type SimilarityQuery =
  /** Encoded image bytes (an attachment or a downloaded URL). */
  | { bytes: Uint8Array }
  /** A search vector. */
  | { vector: Float32Array }
  /** An indexed image: its stored vector is used and the image itself is excluded. */
  | { record: ImageRecord };

export interface FindSimilarOptions {
  guildId: string;
  query: SimilarityQuery;
  /** Page size, 1–10 for the commands. */
  k: number;
  /** Results to skip (paging: the "next page" button passes offset + k). Default 0. */
  offset?: number;
  /**
   * Permission check done by the Discord layer: can the asking user see this record's channel
   * (ViewChannel + ReadMessageHistory)? Runs inside the index search, so it must be synchronous.
   */
  canView: (record: RecordMetadata) => boolean;
  /** Images never returned (e.g. the query message's own attachments). */
  excludeSourceKeys?: readonly string[];
  /** Messages never returned (e.g. the query message). */
  excludeMessageIds?: readonly string[];
  /** NSFW-channel images only when true (the answer is shown in an NSFW channel). */
  nsfwAllowed: boolean;
  /** scope=channel: only images from this channel. */
  channelId?: string;
}

export interface SimilarityMatch {
  record: ImageRecord;
  /** Cosine similarity in [-1, 1]. */
  score: number;
  /** score as a 0–100 percent, rounded to one decimal, clamped at 0. */
  percent: number;
}

export interface SimilarityPage {
  matches: SimilarityMatch[];
  offset: number;
  /** A further page probably exists (the search returned more than offset + k). */
  hasMore: boolean;
}

// ---------------------------------------------------------------------------------------------
// Settings (src/services/settings.ts)
// ---------------------------------------------------------------------------------------------

/** The spam-wave block of the guild settings (validated and used by src/services/waves.ts). */
export interface WaveSettings {
  waveAlerts: boolean;
  waveChannels: number;
  waveAccounts: number;
  waveWindowMinutes: number;
  waveDeleteCopies: boolean;
  waveTimeoutMinutes: number;
  waveDryRun: boolean;
}

/** What an indexed file was: a still image, an animation (GIF, animated WebP) or a video. */
export type MediaKind = 'image' | 'animated' | 'video';

/** The media block of the guild settings (validated and used by src/services/media.ts). */
export interface MediaSettings {
  gifReposts: boolean;
}

export interface GuildSettings extends WaveSettings, MediaSettings {
  /**
   * Duplicate decision threshold; meaning defined by the duplicate detector (its score in [0, 1]).
   * null = the detector's default.
   */
  duplicateThreshold: number | null;
  noticeMode: NoticeMode;
  /** Channel for `log` notices; `log` without it behaves like `off`. */
  logChannelId: string | null;
  /** No notice when the same author reposts their own image within this many ms. Default 24 h. */
  sameAuthorLeewayMs: number;
  ignoredChannelIds: string[];
  /** Index images posted by other bots (the bot's own messages are never indexed). */
  includeOtherBots: boolean;
  /** Emoji that triggers the reaction search (unicode, or a custom emoji id). */
  reactionEmoji: string;
  /** Answer /similar and the context menu ephemerally. */
  ephemeralReplies: boolean;
  /** Guild locale override for replies (`en`, `ja`); null = user's/guild's Discord locale. */
  locale: string | null;
  // --- Duplicate-notice moderation ---
  /**
   * Matches of the same picture under other text (`kind: 'template'`): `ignore` posts nothing for them,
   * `note` posts a gentle "same template as …" instead of a repost notice. Default `ignore`.
   */
  templateMatches: TemplateMatchMode;
  /** Members with this role never get duplicate notices; null = nobody is exempt. */
  allowedReposterRoleId: string | null;
  // --- end duplicate-notice moderation ---
}

export type TemplateMatchMode = 'ignore' | 'note';

export interface GuildSettingsService {
  /** Settings with defaults filled in; never rejects for an unknown guild. */
  get(guildId: string): Promise<GuildSettings>;
  /** Validates the patch (zod), merges, stores, returns the new settings. Throws DejavuError INVALID_INPUT. */
  update(guildId: string, patch: Partial<GuildSettings>): Promise<GuildSettings>;
  /** Forgets the guild's settings (bot left the guild). */
  remove(guildId: string): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Work queue (src/services/queue.ts)
// ---------------------------------------------------------------------------------------------

export type WorkPriority = 'live' | 'backfill';

export interface QueueStats {
  /** Tasks accepted and not started. */
  pending: number;
  /** Tasks running now. */
  running: number;
  /** Producers blocked in enqueue because the queue is full. */
  waiting: number;
  completed: number;
  failed: number;
  /** Tasks refused with QUEUE_FULL (logged each time). */
  rejected: number;
}

// ---------------------------------------------------------------------------------------------
// Backfill (src/services/backfill.ts)
// ---------------------------------------------------------------------------------------------

/** One message of channel history, as plain data (the Discord layer adapts discord.js messages). */
export interface HistoryMessage {
  id: string;
  authorId: string;
  /** Author is a bot (other than us); indexed only when settings.includeOtherBots. */
  authorIsBot: boolean;
  /** Posted by this bot: never indexed. */
  fromSelf?: boolean;
  /** The message's images, already extracted (same extraction as live messages). */
  images: ImageReference[];
}

/**
 * One page of history, as Discord's GET /channels/{id}/messages returns it (any order is fine):
 * with `before`: the `limit` messages just older than `before`; with `after`: the `limit` messages just
 * newer than `after`; with neither: the newest messages. An empty page means the end. `limit` ≤ 100.
 */
export type FetchHistoryPage = (
  channelId: string,
  page: { before?: string; after?: string; limit: number },
) => Promise<{ messages: HistoryMessage[] }>;

export interface BackfillProgress {
  guildId: string;
  channelId: string;
  /** Messages looked at so far (this run plus earlier runs of the same crawl). */
  scanned: number;
  indexed: number;
  /** Images skipped: already indexed, unsupported, ignored author. */
  skipped: number;
  failed: number;
  done: boolean;
  /** Estimated seconds left (from message timestamps vs the channel's creation); null when unknown. */
  etaSeconds: number | null;
  /** Fraction in [0, 1] for a progress bar; null when unknown. */
  fraction: number | null;
}

export interface BackfillRunOptions {
  guildId: string;
  channelId: string;
  fetchPage: FetchHistoryPage;
  /** Called after each page (and at the end); throttle message edits in the Discord layer. */
  onProgress?: (progress: BackfillProgress) => void;
  /** Aborts the crawl after the current page; the cursor is kept for a later resume. */
  signal?: AbortSignal;
  /** Start over even if the channel was fully crawled before. */
  restart?: boolean;
}

/** Channel history crawler (src/services/backfill.ts). */
export interface BackfillService {
  /**
   * Crawls a channel newest → oldest, indexing every image, resuming from the stored cursor if an earlier
   * crawl was interrupted; a fully crawled channel is not crawled again (unless `restart`).
   * Resolves with the final progress; rejects only if fetchPage keeps failing (cursor kept).
   * Runs for one channel are serialised: a second request waits for the running one, then runs
   * (and returns at once when that one finished the channel).
   */
  backfill(options: BackfillRunOptions): Promise<BackfillProgress>;
  /** Indexes messages newer than the newest one seen in the channel (posted while the bot was offline). */
  catchUp(options: Omit<BackfillRunOptions, 'restart'>): Promise<BackfillProgress>;
  /**
   * Records that a live message was handled (cheap, in memory; persisted every 30 s and on close), so the
   * next startup's catchUp starts after it. Call it once the message's images have their outcomes.
   */
  markSeen(guildId: string, channelId: string, messageId: string): void;
  /**
   * Channels of the guild with a known newest message (what catchUp covers at startup): every channel
   * backfilled or with live traffic, plus those of `candidates` that have a stored newest message.
   */
  knownChannels(guildId: string, candidates?: readonly string[]): Promise<string[]>;
  isRunning(channelId: string): boolean;
  lastBackfillAt(guildId: string): Promise<number | null>;
}

/** Per-user cooldown for the 🔍 reaction (src/services/settings.ts). In memory. */
export interface Cooldowns {
  /** True and starts the cooldown when `key` (e.g. `${guildId}:${userId}`) is not cooling down. */
  tryAcquire(key: string, now?: number): boolean;
  /** Milliseconds until `key` may act again (0 = now). */
  remainingMs(key: string, now?: number): number;
}

export type { ScoredRecord };
