/**
 * `createServices(config)`: wires the embedder, the store, settings, the download pool, the work queue,
 * the indexer and the backfiller into the one `Services` object the Discord layer and src/main.ts use.
 * `close()` shuts down in dependency order: stop crawls → drain the queue (SHUTDOWN_DRAIN_MS; images not
 * started by then are saved to keyv and indexed at the next start) → flush and close the store → close the
 * embedder, downloads and keyv.
 */
import type { Keyv } from 'keyv';
import type { Config } from '../config.ts';
import { createEmbedder, embedderOptionsFromConfig } from '../embedding/index.ts';
import type { Embedder } from '../embedding/types.ts';
import { childLogger } from '../logger.ts';
import { openConfiguredStore } from '../store/open.ts';
import { createKeyv } from '../store/keyv.ts';
import type { ImageRecord, ImageStore } from '../store/types.ts';
import { BACKFILL_NAMESPACE, Backfiller } from './backfill.ts';
import { createDuplicateDetector } from './detector.ts';
import { Downloader } from './download.ts';
import { VideoFrameExtractor } from '../embedding/video.ts';
import { ImageIndexer, type DuplicateDetector } from './indexing.ts';
import { createJobQueue, type JobQueue } from './jobs/index.ts';
import { createLockService, type LockService } from './locks.ts';
import { KeyvMemberPrivacy, PRIVACY_NAMESPACE } from './privacy.ts';
import { WorkQueue } from './queue.ts';
import { CooldownTracker, GuildSettingsStore, SETTINGS_NAMESPACE } from './settings.ts';
import { KeyvReportStore, REPORTS_NAMESPACE, type ReportService } from './reports.ts';
import { Resigner, RESIGN_NAMESPACE, type ResignService } from './resign.ts';
import { findSimilarImages } from './similarity.ts';
import { WaveService, WAVES_NAMESPACE } from './waves.ts';
import { clearUnfinished, loadUnfinished, saveUnfinished, UNFINISHED_NAMESPACE } from './unfinished.ts';
import type {
  BackfillService,
  Cooldowns,
  FindSimilarOptions,
  GuildSettingsService,
  Indexer,
  QueueStats,
  SimilarityPage,
  SimilarityQuery,
} from './types.ts';

const log = childLogger('services');

/** Parts a caller may supply instead of having them built from the config (tests, benchmarks, the CLI). */
export interface ServiceOverrides {
  embedder?: Embedder;
  store?: ImageStore;
  detector?: DuplicateDetector;
  /** Download host allow-list (default config.CDN_ALLOWED_HOSTS). */
  allowedHosts?: readonly string[];
}

export interface GuildServiceStats {
  imagesIndexed: number;
  /** Embedding backend in use, e.g. `wasm (2 workers)`. */
  backend: string;
  queue: QueueStats;
  /** Milliseconds since the epoch of the last finished backfill in this guild, or null. */
  lastBackfillAt: number | null;
  /** Duplicate notices members reported as "not a repost" (and not undone). */
  falsePositivesReported: number;
}

/**
 * Everything the Discord layer and src/main.ts use. Created once per process by `createServices`. The store
 * and the embedder stay behind these methods, so every entry point searches, ranks and removes the same way.
 */
export interface Services {
  readonly config: Config;
  readonly settings: GuildSettingsService;
  readonly indexer: Indexer;
  readonly backfill: BackfillService;
  /** Backfill and re-embedding jobs: BullMQ on Redis with REDIS_URL (any process runs them), in-process otherwise. */
  readonly jobs: JobQueue;
  /** Reaction-search cooldown per user (default 10 s). */
  readonly reactionCooldowns: Cooldowns;
  /** "Not a repost" reports and the image pairs they suppress. */
  readonly reports: ReportService;
  /** Stored images signed by an older signature format, and the `resign` channel job that updates them. */
  readonly resign: ResignService;
  /** Spam-wave tracking (state in keyv, shared by every process). */
  readonly waves: WaveService;
  /** Downloads a user-supplied URL (the /similar `url` option) with the allowed-host rules. */
  download(url: string): Promise<Uint8Array>;
  /** A search vector for query image bytes; one /similar reply's later pages reuse it instead of embedding the image again. */
  embedQuery(bytes: Uint8Array): Promise<SimilarityQuery>;
  /** Similarity search shared by /similar, the context menu and the 🔍 reaction. */
  findSimilar(options: FindSimilarOptions): Promise<SimilarityPage>;
  /** The record of an indexed image, e.g. for "similar to this message's attachment". */
  getRecord(guildId: string, sourceKey: string): Promise<ImageRecord | undefined>;
  // Deletions: records and vectors go; queued work for them is dropped; nothing deleted is shown again.
  removeMessages(guildId: string, messageIds: readonly string[]): Promise<number>;
  removeChannel(guildId: string, channelId: string): Promise<number>;
  removeGuild(guildId: string): Promise<number>;
  stats(guildId: string): Promise<GuildServiceStats>;
  // Member privacy (./privacy.ts): a forgotten member's images are removed and their new posts not indexed.
  /** Removes every image of the member from the guild's index and stops indexing theirs; resolves with the count removed. */
  forgetMember(guildId: string, userId: string, byUserId: string): Promise<number>;
  /** Indexes the member's new posts again; resolves whether they had been forgotten. */
  rememberMember(guildId: string, userId: string): Promise<boolean>;
  /** Drains the queue, stops backfills (cursors kept), flushes the store, closes the embedder and keyv. */
  close(): Promise<void>;
}

/** The Services interface plus the concrete parts (for tests and tools that need more than the interface). */
export interface AppServices extends Services {
  readonly embedder: Embedder;
  readonly store: ImageStore;
  readonly indexer: ImageIndexer;
  readonly backfill: Backfiller;
  readonly queue: WorkQueue;
  readonly downloader: Downloader;
  /** Channel locks: Redis with REDIS_URL (shared by every process), in-process otherwise. */
  readonly locks: LockService;
  readonly jobs: JobQueue;
  /** Settles when the images saved by the previous process (see close) have been indexed again. */
  readonly resumed: Promise<void>;
}

export async function createServices(config: Config, overrides: ServiceOverrides = {}): Promise<AppServices> {
  // First, so that an unreachable Redis stops the start before the model loads.
  const locks = await createLockService({ redisUrl: config.REDIS_URL, prefix: config.REDIS_PREFIX, ttlMs: config.JOB_LOCK_MS });
  const embedder = overrides.embedder ?? (await createEmbedder(embedderOptionsFromConfig(config)));
  let store: ImageStore;
  try {
    store = overrides.store ?? (await openConfiguredStore(config, embedder.variant));
  } catch (error) {
    if (overrides.embedder === undefined) await embedder.close();
    await locks.close();
    throw error;
  }
  const keyvOptions = { dataDir: config.dataDir, keyvUrl: config.KEYV_URL };
  const settingsKeyv = createKeyv<unknown>(keyvOptions, SETTINGS_NAMESPACE);
  const backfillKeyv = createKeyv<unknown>(keyvOptions, BACKFILL_NAMESPACE);
  const unfinishedKeyv = createKeyv<unknown>(keyvOptions, UNFINISHED_NAMESPACE);
  const wavesKeyv = createKeyv<unknown>(keyvOptions, WAVES_NAMESPACE);
  const privacyKeyv = createKeyv<unknown>(keyvOptions, PRIVACY_NAMESPACE);
  const settings = new GuildSettingsStore(settingsKeyv);
  const reportsKeyv = createKeyv<unknown>(keyvOptions, REPORTS_NAMESPACE);
  const reports = new KeyvReportStore(reportsKeyv);
  const downloader = new Downloader({
    allowedHosts: overrides.allowedHosts ?? config.CDN_ALLOWED_HOSTS,
    maxBytes: config.MAX_IMAGE_BYTES,
    timeoutMs: config.DOWNLOAD_TIMEOUT_MS,
  });
  const queue = new WorkQueue({ name: 'indexing', concurrency: config.INDEX_CONCURRENCY, maxPending: config.INDEX_QUEUE_MAX });
  const indexer = new ImageIndexer({
    store,
    embedder,
    queue,
    download: (url, signal, media) => downloader.download(url, signal, media),
    settings,
    detector: overrides.detector ?? createDuplicateDetector(),
    maxImageBytes: config.MAX_IMAGE_BYTES,
    privacy: new KeyvMemberPrivacy(privacyKeyv),
    media: {
      video: new VideoFrameExtractor({ ffmpegPath: config.FFMPEG_PATH }),
      maxVideoBytes: config.VIDEO_MAX_BYTES,
      videoLimits: { maxSeconds: config.VIDEO_MAX_SECONDS, maxFrames: config.MEDIA_FRAMES, maxPixels: config.MAX_IMAGE_PIXELS, timeoutMs: config.VIDEO_TIMEOUT_MS },
      maxFrames: config.MEDIA_FRAMES,
      maxPixels: config.MAX_IMAGE_PIXELS,
    },
  });
  const backfill = new Backfiller({ indexer, settings, keyv: backfillKeyv, locks });
  const removeChannel = async (guildId: string, channelId: string): Promise<number> => {
    indexer.forgetChannel(guildId, channelId);
    const removed = await store.removeChannel(guildId, channelId);
    await backfill.forgetChannel(guildId, channelId);
    return removed;
  };
  // A re-embedding forgets the channel's images and cursor but leaves no tombstone: it indexes them again.
  const forgetChannelImages = async (guildId: string, channelId: string): Promise<number> => {
    const removed = await store.removeChannel(guildId, channelId);
    await backfill.forgetChannel(guildId, channelId);
    return removed;
  };
  const resignKeyv = createKeyv<unknown>(keyvOptions, RESIGN_NAMESPACE);
  const resign = new Resigner({ store, indexer, keyv: resignKeyv, locks, pauseMs: config.RESIGN_PAUSE_MS });
  const jobs = await createJobQueue(config, { backfill, forgetChannelImages, resign });
  const reactionCooldowns = new CooldownTracker(config.REACTION_COOLDOWN_MS);
  const waves = new WaveService({ keyv: wavesKeyv, locks });
  let closing: Promise<void> | undefined;

  // Images the previous process accepted but could not index are indexed now, in the background.
  const resumed = (async () => {
    const saved = await loadUnfinished(unfinishedKeyv);
    if (saved.chunks === 0) return;
    await indexer.retryUnfinished(saved.images);
    await clearUnfinished(unfinishedKeyv, saved.chunks);
  })().catch((error: unknown) => log.error({ err: error }, 'resuming unfinished images failed'));

  // Images refused while the queue was full are retried once it has room again.
  let retrying: Promise<unknown> | undefined;
  const retryTimer = setInterval(() => {
    if (retrying !== undefined || closing !== undefined || indexer.unfinishedCount === 0 || queue.depth > config.INDEX_QUEUE_MAX / 4) return;
    retrying = indexer.retryUnfinished().finally(() => {
      retrying = undefined;
    });
  }, 30_000);
  retryTimer.unref();

  const services: AppServices = {
    config,
    embedder,
    store,
    settings,
    indexer,
    backfill,
    queue,
    downloader,
    locks,
    jobs,
    reactionCooldowns,
    reports,
    resign,
    waves,
    resumed,

    async download(url: string): Promise<Uint8Array> {
      return (await downloader.download(url)).bytes;
    },

    async embedQuery(bytes: Uint8Array): Promise<SimilarityQuery> {
      return { vector: (await embedder.embed(bytes)).vector };
    },

    findSimilar(options: FindSimilarOptions): Promise<SimilarityPage> {
      return findSimilarImages({ store, embedder }, options);
    },

    getRecord(guildId: string, sourceKey: string): Promise<ImageRecord | undefined> {
      return store.getBySource(guildId, sourceKey);
    },

    async removeMessages(guildId: string, messageIds: readonly string[]): Promise<number> {
      let removed = 0;
      for (const messageId of messageIds) {
        indexer.forgetMessage(guildId, messageId);
        removed += await store.removeMessage(guildId, messageId);
      }
      return removed;
    },

    removeChannel,

    async removeGuild(guildId: string): Promise<number> {
      indexer.forgetGuild(guildId);
      const removed = await store.removeGuild(guildId);
      await backfill.forgetGuild(guildId);
      await settings.remove(guildId);
      await reports.forgetGuild(guildId);
      return removed;
    },

    forgetMember(guildId: string, userId: string, byUserId: string): Promise<number> {
      return indexer.forgetAuthor(guildId, userId, byUserId);
    },

    rememberMember(guildId: string, userId: string): Promise<boolean> {
      return indexer.rememberAuthor(guildId, userId);
    },

    async stats(guildId: string): Promise<GuildServiceStats> {
      const guilds = await store.stats();
      return {
        imagesIndexed: guilds.find((guild) => guild.id === guildId)?.images ?? 0,
        backend: embedder.backend,
        queue: queue.stats(),
        lastBackfillAt: await backfill.lastBackfillAt(guildId),
        falsePositivesReported: await reports.falsePositives(guildId),
      };
    },

    close(): Promise<void> {
      closing ??= (async () => {
        log.info({ queue: queue.stats() }, 'shutting down services');
        clearInterval(retryTimer);
        // The job worker stops taking jobs and waits for its running ones, which closing the Backfiller stops.
        await step('stop jobs and backfills', () => Promise.all([jobs.close(), backfill.close(), resign.close()]));
        await step('drain queue', () => queue.drain(config.SHUTDOWN_DRAIN_MS));
        await step('save unfinished images', async () => {
          // Retries still submitting images are refused now (queue closed) and land in the unfinished list.
          await Promise.all([resumed, retrying]);
          await indexer.close();
          const images = indexer.takeUnfinished();
          await saveUnfinished(unfinishedKeyv, images);
          if (images.length > 0) log.warn({ images: images.length }, 'saved images not yet indexed; they are indexed at the next start');
        });
        await step('flush store', () => store.flush());
        if (overrides.store === undefined) await step('close store', () => store.close());
        if (overrides.embedder === undefined) await step('close embedder', () => embedder.close());
        await step('close downloads', () => downloader.close());
        await step('close locks', () => locks.close());
        await step('close keyv', () => Promise.all([settingsKeyv, backfillKeyv, unfinishedKeyv, reportsKeyv, resignKeyv, wavesKeyv, privacyKeyv].map((keyv: Keyv<unknown>) => keyv.disconnect())));
      })();
      return closing;
    },
  };
  return services;
}

/** Shutdown keeps going when one step fails, so the later ones (store flush!) still run. */
async function step(name: string, action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (error) {
    log.error({ err: error, step: name }, 'shutdown step failed');
  }
}
