/**
 * The indexing pipeline: one image reference in, one IndexOutcome out, never an exception.
 *
 *   skip checks → queue → already indexed? → download (media-proxy rendition when large) → sha256
 *   → exact-hash shortcut (reuse the stored vector and signature) or embed
 *   → [per-guild lock] author forgotten? → duplicate candidates from the store → detector → add to the store [unlock]
 *
 * Animated GIF/WebP and videos (mp4, webm, mov; keyframes through ffmpeg) become up to three frame records
 * of the message (src/services/media.ts), each searched and added like an image; their duplicates are merged.
 *
 * Searching and adding under one per-guild lock means two copies posted at the same moment still see
 * each other (the second is checked against the first), while the expensive part (download, embedding)
 * runs concurrently. Deleted messages leave tombstones so an image whose message is deleted while it
 * waits or is being embedded is never added (or is removed right after). Forgetting a member runs under
 * the same lock, so an image of theirs in flight is either added before (and removed with the rest) or
 * refused after.
 */
import { createHash } from 'node:crypto';
import { DejavuError, type ErrorCode } from '../errors.ts';
import { isCurrentSignature } from '../embedding/signature.ts';
import type { Embedder, ImageEmbedding } from '../embedding/types.ts';
import { childLogger, type Logger } from '../logger.ts';
import type { ImageRecord, ImageSource, ImageStore, ScoredRecord } from '../store/types.ts';
import { animatedFrames, MAX_FRAMES, pageCount } from '../embedding/frames.ts';
import type { VideoFrameExtractor, VideoLimits } from '../embedding/video.ts';
import { redact, renditionUrl, type DownloadResult, type MediaDownload } from './download.ts';
import { frameBase, frameContentHash, frameSourceKey, isVideoType, mayBeAnimated, type MediaKind } from './media.ts';
import type { MemberPrivacy } from './privacy.ts';
import type { WorkQueue } from './queue.ts';
import type { EarlierDuplicate, GuildSettingsService, ImageReference, Indexer, IndexOptions, IndexOutcome } from './types.ts';

/** The duplicate decision, as the indexer needs it (adapter over src/services/duplicates, see detector.ts). */
export interface DuplicateDetector {
  /** How many nearest neighbours to fetch, and the cosine below which none is even considered. */
  readonly shortlist: { k: number; minCosine: number };
  /**
   * Decides which shortlisted candidates are duplicates of the new image, best first.
   * `threshold`: the guild's setting (detector score in [0, 1]); null = the detector's default.
   */
  detect(query: ImageEmbedding, candidates: readonly ScoredRecord[], threshold: number | null): Promise<EarlierDuplicate[]>;
}

export type DownloadFunction = (url: string, signal?: AbortSignal, media?: MediaDownload) => Promise<DownloadResult>;

/** Videos and animations: where keyframes come from, and the caps. */
export interface MediaOptions {
  /** ffmpeg keyframe extraction; null: videos are skipped (logged). */
  video: VideoFrameExtractor | null;
  /** Declared or downloaded video sizes above this are refused. */
  maxVideoBytes: number;
  /** Duration, frame, pixel and time caps for videos. */
  videoLimits: VideoLimits;
  /** Frames taken from an animation (1–3). */
  maxFrames: number;
  /** Pixel cap of one animation frame. */
  maxPixels: number;
}

export interface ImageIndexerOptions {
  store: ImageStore;
  embedder: Embedder;
  queue: WorkQueue;
  download: DownloadFunction;
  settings: GuildSettingsService;
  detector: DuplicateDetector;
  /** Declared sizes above this are refused without downloading (the download enforces it too). */
  maxImageBytes: number;
  /** Longer side asked from the media proxy for large images. Default 512 (the model sees 224). */
  renditionMaxSide?: number;
  /** Tombstones of deleted messages/channels/guilds kept (bounded memory). Default 10 000. */
  maxTombstones?: number;
  /** How long a tombstone lasts. Default 15 minutes. */
  tombstoneTtlMs?: number;
  /** Images refused by a full or closing queue kept for a later retry (bounded memory). Default 20 000. */
  maxUnfinished?: number;
  /** GIF/WebP frames and videos; without it animations are indexed by their first frame and videos skipped. */
  media?: MediaOptions;
  /** Members who asked to be forgotten: their images are never indexed. Default: nobody is. */
  privacy?: MemberPrivacy;
  logger?: Logger;
}

/** MIME types never indexed: videos other than mp4/webm/mov, SVG (scriptable, not a photo), anything not an image. */
export function unsupportedContentType(contentType: string | undefined): boolean {
  if (contentType === undefined || contentType === '') return false; // unknown: the download checks it
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (isVideoType(type)) return false;
  return !type.startsWith('image/') || type === 'image/svg+xml';
}

/** One frame (or the whole still image) on its way into the store. */
interface Part {
  frame: number;
  source: ImageSource;
  contentHash: string;
  /** Earlier records of other messages with the same content hash. */
  sameBytes: ImageRecord[];
  embedding?: ImageEmbedding;
  /** Encoded bytes to embed when no stored vector can be reused. */
  bytes?: Uint8Array;
}

/**
 * Whether two images came in one post: the same message, or for images without a message (files indexed by
 * the CLI) the same file.
 */
export function isSamePost(record: ImageSource, image: ImageSource): boolean {
  if (record.guildId !== image.guildId) return false;
  // Frames of one animation or video are one post (src/services/media.ts).
  return record.messageId === '' && image.messageId === '' ? frameBase(record.sourceKey) === frameBase(image.sourceKey) : record.messageId === image.messageId;
}

/**
 * A duplicate is an EARLIER image of the same guild from another post: a backfill, which walks history
 * newest first, must not call the original a duplicate of its own later repost.
 */
export function isEarlierCandidate(record: ImageSource, image: ImageSource): boolean {
  return record.guildId === image.guildId && !isSamePost(record, image) && record.createdAt <= image.createdAt;
}

/** What the duplicate decision reads: the store, the detector, and which images are being deleted. */
export interface DuplicateSearch {
  store: ImageStore;
  detector: DuplicateDetector;
  /** Images whose message, channel or guild is being deleted never count (the indexer's tombstones). */
  isDeleted?: (source: ImageSource) => boolean;
  logger?: Logger;
}

/** Stored images with these exact bytes from other posts (the hash shortcut's candidates). */
export async function sameBytesAs(store: ImageStore, source: ImageSource, contentHash: string): Promise<ImageRecord[]> {
  return (await store.findByHash(source.guildId, contentHash)).filter((record) => !isSamePost(record, source));
}

/**
 * The bot's duplicate decision for one image: earlier images of other posts whose bytes are identical
 * (`sameBytes`, from sameBytesAs), then the detector's verdict on the nearest earlier images. The bot
 * calls it for every new image; `dejavu dupes` calls it for every indexed one.
 */
export async function findDuplicates(
  search: DuplicateSearch,
  source: ImageSource,
  embedding: ImageEmbedding,
  sameBytes: readonly ImageRecord[],
  threshold: number | null,
): Promise<EarlierDuplicate[]> {
  const { detector, store } = search;
  const isDeleted = search.isDeleted ?? (() => false);
  const neighbours = await store.findSimilar(source.guildId, embedding.vector, {
    // Exact copies are reported without verification, so they must not use up the shortlist.
    k: detector.shortlist.k + Math.min(sameBytes.length, 50),
    filter: (record) => isEarlierCandidate(record, source) && !isDeleted(record),
  });
  const exactIds = new Set(sameBytes.map((record) => record.id));
  const shortlist = neighbours
    .filter((candidate) => candidate.score >= detector.shortlist.minCosine && !exactIds.has(candidate.record.id))
    .slice(0, detector.shortlist.k);
  let detected: EarlierDuplicate[] = [];
  try {
    if (shortlist.length > 0) detected = await detector.detect(embedding, shortlist, threshold);
  } catch (error) {
    // A detector failure costs a notice, never the image: it is still indexed.
    (search.logger ?? childLogger('indexing')).error({ err: error, guildId: source.guildId, messageId: source.messageId, sourceKey: source.sourceKey }, 'duplicate detection failed');
  }
  // Identical bytes are duplicates whatever the detector says (and need no verification).
  const exact: EarlierDuplicate[] = sameBytes
    .filter((record) => isEarlierCandidate(record, source) && !isDeleted(record))
    .map((record) => ({ record, similarity: 1, cosine: 1, exact: true, kind: 'repost' }));
  return [...exact, ...detected];
}

/** Skip reason of images whose author asked to be forgotten. */
export const FORGOTTEN = 'member opted out';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Recently deleted messages, channels and guilds. Entries expire (default 15 min: longer than any queued
 * work waits) so a guild the bot rejoins is indexed again; the count is bounded, oldest forgotten first.
 */
class Tombstones {
  private readonly expiry = new Map<string, number>();
  constructor(private readonly max: number, private readonly ttlMs: number) {}
  add(key: string): void {
    this.expiry.delete(key);
    this.expiry.set(key, Date.now() + this.ttlMs);
    if (this.expiry.size > this.max) this.expiry.delete(this.expiry.keys().next().value!);
  }
  has(key: string): boolean {
    const until = this.expiry.get(key);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.expiry.delete(key);
    return false;
  }
}

export class ImageIndexer implements Indexer {
  private readonly log: Logger;
  private readonly tombstones: Tombstones;
  /** The same image submitted twice (MESSAGE_CREATE then MESSAGE_UPDATE) shares one run. */
  private readonly inFlight = new Map<string, Promise<IndexOutcome>>();
  /** Tail of each guild's search-then-add chain. */
  private readonly guildLocks = new Map<string, Promise<unknown>>();
  /** Images the queue refused (full, or shut down first): retried later, saved at shutdown. */
  private readonly unfinished = new Map<string, ImageReference>();
  private closed = false;
  private warnedNoFfmpeg = false;

  constructor(private readonly options: ImageIndexerOptions) {
    this.log = options.logger ?? childLogger('indexing');
    this.tombstones = new Tombstones(options.maxTombstones ?? 10_000, options.tombstoneTtlMs ?? 15 * 60_000);
  }

  index(image: ImageReference, options: IndexOptions = {}): Promise<IndexOutcome> {
    if (this.closed) {
      this.rememberUnfinished(image);
      return Promise.resolve(this.failed(image.source, new DejavuError('QUEUE_FULL', 'Indexing has shut down', { sourceKey: image.source.sourceKey })));
    }
    const key = `${image.source.guildId}\u0000${image.source.sourceKey}`;
    const running = this.inFlight.get(key);
    if (running !== undefined) return running;
    const outcome = this.indexOnce(image, options).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, outcome);
    return outcome;
  }

  indexMessage(images: readonly ImageReference[], options: IndexOptions = {}): Promise<IndexOutcome[]> {
    return Promise.all(images.map((image) => this.index(image, options)));
  }

  /** Queued and running work for this message is dropped; call before store.removeMessage. */
  forgetMessage(guildId: string, messageId: string): void {
    this.tombstones.add(`m:${guildId}:${messageId}`);
  }

  forgetChannel(guildId: string, channelId: string): void {
    this.tombstones.add(`c:${guildId}:${channelId}`);
  }

  forgetGuild(guildId: string): void {
    this.tombstones.add(`g:${guildId}`);
  }

  /**
   * Forgets a member in a guild: records the opt-out, then removes every image of theirs (the store's
   * files are compacted, see ImageStore.removeAuthor). Runs under the guild's lock, so an image of theirs
   * being indexed right now is either removed with the rest or refused. Resolves with the images removed.
   */
  async forgetAuthor(guildId: string, authorId: string, byUserId: string): Promise<number> {
    const privacy = this.requirePrivacy(guildId);
    const removed = await this.withGuildLock(guildId, async () => {
      await privacy.forget(guildId, authorId, byUserId);
      return this.options.store.removeAuthor(guildId, authorId);
    });
    this.log.info({ guildId, authorId, byUserId, removed }, 'member forgotten: images removed, new posts not indexed');
    return removed;
  }

  /** Ends a member's opt-out: their new posts are indexed again. Resolves whether they were forgotten. */
  async rememberAuthor(guildId: string, authorId: string): Promise<boolean> {
    const privacy = this.requirePrivacy(guildId);
    const was = await this.withGuildLock(guildId, () => privacy.remember(guildId, authorId));
    this.log.info({ guildId, authorId, wasForgotten: was }, 'member remembered: new posts are indexed again');
    return was;
  }

  /** Whether the image's author asked to be forgotten in its guild. */
  async isForgotten(source: Pick<ImageSource, 'guildId' | 'authorId'>): Promise<boolean> {
    return (await this.options.privacy?.optOut(source.guildId, source.authorId)) !== undefined;
  }

  private requirePrivacy(guildId: string): MemberPrivacy {
    if (this.options.privacy === undefined) throw new DejavuError('CONFIG_INVALID', 'This indexer has no member-privacy list', { guildId });
    return this.options.privacy;
  }

  /**
   * Shutdown, after the queue was drained: refuses new images (kept as unfinished) and waits until every
   * image already submitted has its outcome, so takeUnfinished() afterwards really has everything.
   */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /** Images refused by the queue so far (removed from the indexer's memory): to save at shutdown. */
  takeUnfinished(): ImageReference[] {
    const images = [...this.unfinished.values()];
    this.unfinished.clear();
    return images;
  }

  get unfinishedCount(): number {
    return this.unfinished.size;
  }

  /**
   * Indexes images the queue refused earlier (or saved by the previous process), a few at a time with
   * backfill priority. Images refused again are kept for the next retry. Resolves with how many got an
   * outcome other than a refusal.
   */
  async retryUnfinished(extra: readonly ImageReference[] = [], concurrency = 4): Promise<number> {
    const images = [...extra, ...this.takeUnfinished()];
    if (images.length === 0) return 0;
    this.log.info({ images: images.length }, 'retrying images the queue refused earlier');
    let next = 0;
    let done = 0;
    const worker = async (): Promise<void> => {
      while (next < images.length) {
        const outcome = await this.index(images[next++]!, { priority: 'backfill' });
        if (!(outcome.status === 'failed' && isRetryLater(outcome.code))) done += 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, images.length) }, worker));
    return done;
  }

  /** Whether the image's message, channel or guild was deleted recently (its work is dropped). */
  isDeleted(source: ImageSource): boolean {
    return (
      this.tombstones.has(`m:${source.guildId}:${source.messageId}`) ||
      this.tombstones.has(`c:${source.guildId}:${source.channelId}`) ||
      this.tombstones.has(`g:${source.guildId}`)
    );
  }

  private async indexOnce(image: ImageReference, options: IndexOptions): Promise<IndexOutcome> {
    const started = performance.now();
    const { source } = image;
    try {
      const settings = await this.options.settings.get(source.guildId);
      if (settings.ignoredChannelIds.includes(source.channelId)) return this.skipped(source, 'ignored channel');
      if (await this.isForgotten(source)) return this.skipped(source, FORGOTTEN);
      if (unsupportedContentType(image.contentType)) return this.skipped(source, `unsupported type ${image.contentType}`);
      const video = isVideoType(image.contentType);
      if (video) {
        const media = this.options.media;
        if (!media?.video || !(await media.video.available())) return this.skipVideo(source);
        if (image.size !== undefined && image.size > media.maxVideoBytes) {
          return this.failed(source, new DejavuError('IMAGE_TOO_LARGE', `Video is ${image.size} bytes, the limit is ${media.maxVideoBytes}`, { size: image.size }));
        }
      } else if (image.size !== undefined && image.size > this.options.maxImageBytes && this.downloadUrl(image) === (image.proxyUrl ?? image.url)) {
        // A large original is fine when a downscaled rendition will be fetched instead (the cap still applies to it).
        return this.failed(source, new DejavuError('IMAGE_TOO_LARGE', `Image is ${image.size} bytes, the limit is ${this.options.maxImageBytes}`, { size: image.size }));
      }
      if (this.isDeleted(source)) return { status: 'deleted', source };
      const accepted = await this.options.queue.enqueue(() => this.process(image, settings.duplicateThreshold, started), {
        priority: options.priority ?? 'live',
        context: { guildId: source.guildId, channelId: source.channelId, messageId: source.messageId, sourceKey: source.sourceKey },
      });
      return await accepted.result;
    } catch (error) {
      if (error instanceof DejavuError && isRetryLater(error.code)) this.rememberUnfinished(image);
      return this.failed(source, error);
    }
  }

  private rememberUnfinished(image: ImageReference): void {
    const max = this.options.maxUnfinished ?? 20_000;
    if (this.unfinished.size >= max) {
      this.log.error({ guildId: image.source.guildId, messageId: image.source.messageId, sourceKey: image.source.sourceKey }, 'unfinished-image list is full: image dropped');
      return;
    }
    this.unfinished.set(`${image.source.guildId}\u0000${image.source.sourceKey}`, image);
  }

  private async process(image: ImageReference, threshold: number | null, started: number): Promise<IndexOutcome> {
    const { source } = image;
    const { store } = this.options;
    const timings = { queueMs: performance.now() - started, downloadMs: 0, embedMs: 0, detectMs: 0, addMs: 0 };
    let mark = performance.now();
    const lap = (): number => {
      const now = performance.now();
      const elapsed = now - mark;
      mark = now;
      return Math.round(elapsed);
    };
    if (this.isDeleted(source)) return { status: 'deleted', source };
    const existing = await store.getBySource(source.guildId, source.sourceKey);
    if (existing !== undefined) return { status: 'already-indexed', record: existing };

    const download = await this.download(image);
    timings.downloadMs = lap();
    const contentHash = sha256Hex(download.bytes);
    const { parts, media } = await this.partsOf(image, download.bytes, contentHash, download.contentType);
    const exactDuplicate = parts.every((part) => part.embedding !== undefined);
    await Promise.all(
      parts.map(async (part) => {
        part.embedding ??= await this.options.embedder.embed(part.bytes!);
      }),
    );
    timings.embedMs = lap();
    if (this.isDeleted(source)) return { status: 'deleted', source };

    const added = await this.withGuildLock(source.guildId, async () => {
      lap(); // time spent waiting for the lock counts as neither
      // Checked again under the lock: the member may have been forgotten while this image was embedded.
      if (await this.isForgotten(source)) return undefined;
      const found: EarlierDuplicate[] = [];
      const search = { store, detector: this.options.detector, isDeleted: (record: ImageSource) => this.isDeleted(record), logger: this.log };
      for (const part of parts) found.push(...(await findDuplicates(search, part.source, part.embedding!, part.sameBytes, threshold)));
      timings.detectMs = lap();
      // Frame 0 last: once the attachment's own key is stored, every frame is (see the already-indexed check).
      const stored: ImageRecord[] = [];
      for (const part of [...parts].reverse()) stored.unshift(await store.add(part.source, part.contentHash, part.embedding!));
      timings.addMs = lap();
      return { records: stored, duplicates: mergeDuplicates(found) };
    });
    if (added === undefined) return this.skipped(source, FORGOTTEN);
    const { records, duplicates } = added;
    const record = records[0]!;
    if (await this.isForgotten(source)) {
      // Forgotten by another process (its lock is not ours) while this image was added: take it out again.
      await store.removeMessage(source.guildId, source.messageId);
      return this.skipped(source, FORGOTTEN);
    }
    if (this.isDeleted(source)) {
      // Deleted while we were adding: take it out again so nothing deleted is ever shown.
      await store.removeMessage(source.guildId, source.messageId);
      return { status: 'deleted', source };
    }
    const elapsedMs = Math.round(performance.now() - started);
    timings.queueMs = Math.round(timings.queueMs);
    this.log.debug({ guildId: source.guildId, messageId: source.messageId, sourceKey: source.sourceKey, exactDuplicate, duplicates: duplicates.length, elapsedMs, ...timings }, 'indexed image');
    return {
      status: 'indexed',
      record,
      duplicates,
      exactDuplicate,
      embedded: !exactDuplicate,
      elapsedMs,
      timings,
      media,
      ...(records.length > 1 ? { frames: records.slice(1) } : {}),
    };
  }

  /**
   * What to store for a file: one part for a still image, up to three frames for an animation or a video.
   * An identical earlier file lends its stored vectors to every frame (frame hashes derive from the file's),
   * so an identical repost needs neither ffmpeg, nor frame decoding, nor the embedder.
   */
  private async partsOf(image: ImageReference, bytes: Uint8Array, contentHash: string, downloadedType: string): Promise<{ parts: Part[]; media: MediaKind }> {
    const { source } = image;
    const options = this.options.media;
    const video = isVideoType(image.contentType) || isVideoType(downloadedType);
    const animatable = options !== undefined && !video && (mayBeAnimated(image.contentType) || mayBeAnimated(downloadedType));
    const candidates = await this.reusableFrames(source, contentHash);
    const stored = candidates.filter((part) => part.embedding !== undefined);
    if (candidates[0]?.embedding !== undefined) {
      // Identical bytes were indexed before: as many frames as that file had.
      const kind: MediaKind = video ? 'video' : animatable && (await pageCount(bytes)) > 1 ? 'animated' : 'image';
      return { parts: stored, media: kind };
    }
    if (video) {
      if (!options?.video) throw new DejavuError('BACKEND_UNAVAILABLE', 'ffmpeg is not available', { sourceKey: source.sourceKey });
      const frames = await options.video.extract(bytes, options.videoLimits);
      return { parts: frames.map((frame, index) => ({ ...candidates[index]!, bytes: frame.bytes })), media: 'video' };
    }
    const frames = animatable ? await animatedFrames(bytes, { maxPixels: options.maxPixels, maxFrames: options.maxFrames }) : null;
    if (frames === null) return { parts: [{ ...candidates[0]!, bytes }], media: 'image' };
    // Frame 0 is the file itself: the decoder takes an animation's first page, as it does for any GIF.
    return { parts: frames.map((frame, index) => ({ ...candidates[index]!, bytes: index === 0 ? bytes : frame.bytes })), media: 'animated' };
  }

  /** The parts of a file with their sources and hashes, and stored vectors where identical earlier files have them. */
  private async reusableFrames(source: ImageSource, contentHash: string): Promise<Part[]> {
    const { store } = this.options;
    const parts: Part[] = [];
    for (let frame = 0; frame < MAX_FRAMES; frame += 1) {
      const hash = frameContentHash(contentHash, frame);
      const partSource = { ...source, sourceKey: frameSourceKey(source.sourceKey, frame) };
      const sameBytes = await sameBytesAs(store, partSource, hash);
      const part: Part = { frame, source: partSource, contentHash: hash, sameBytes };
      for (const record of sameBytes) {
        // A record signed by an older format would pass its stale signature on: embed afresh instead.
        if (!isCurrentSignature(record.signature)) continue;
        const vector = await store.getVector(source.guildId, record.id);
        if (vector !== undefined) {
          part.embedding = { vector, signature: record.signature, width: record.width, height: record.height };
          break;
        }
      }
      parts.push(part);
      // Still images have no frame records: stop at the first frame that no earlier file has.
      if (frame === 0 && sameBytes.length === 0) {
        for (let next = 1; next < MAX_FRAMES; next += 1) {
          parts.push({ frame: next, source: { ...source, sourceKey: frameSourceKey(source.sourceKey, next) }, contentHash: frameContentHash(contentHash, next), sameBytes: [] });
        }
        break;
      }
    }
    return parts;
  }

  // --- Re-signing (src/services/resign.ts): fresh embeddings for stored images, swapped in per message ---

  /**
   * Downloads and embeds an image again through the work queue (so live images still go first), without
   * touching the store: the re-signature job swaps the result in with replaceMessage once every image of
   * the message has one.
   */
  async reembed(image: ImageReference, priority: IndexOptions['priority'] = 'backfill'): Promise<{ contentHash: string; embedding: ImageEmbedding }> {
    const accepted = await this.options.queue.enqueue(
      async () => {
        const download = await this.download(image);
        return { contentHash: sha256Hex(download.bytes), embedding: await this.options.embedder.embed(download.bytes) };
      },
      { priority, context: { guildId: image.source.guildId, channelId: image.source.channelId, messageId: image.source.messageId, sourceKey: image.source.sourceKey } },
    );
    return accepted.result;
  }

  /**
   * Replaces every record of a message by the given ones, under the guild's lock (a live duplicate search
   * never sees the message half-replaced). Nothing happens when the message was deleted meanwhile.
   */
  async replaceMessage(guildId: string, messageId: string, images: ReadonlyArray<{ source: ImageSource; contentHash: string; embedding: ImageEmbedding }>): Promise<ImageRecord[]> {
    return this.withGuildLock(guildId, async () => {
      if (images.some((image) => this.isDeleted(image.source))) return [];
      await this.options.store.removeMessage(guildId, messageId);
      const records: ImageRecord[] = [];
      for (const image of images) records.push(await this.options.store.add(image.source, image.contentHash, image.embedding));
      return records;
    });
  }

  // --- end re-signing ---

  /** The media proxy's downscaled rendition when the image is large; the original URL if that fails. */
  private downloadUrl(image: ImageReference): string {
    // Videos as they are; animations too while under the cap (a rendition would keep only the first frame).
    const whole = isVideoType(image.contentType) || (this.options.media !== undefined && mayBeAnimated(image.contentType) && (image.size ?? 0) <= this.options.maxImageBytes);
    if (whole) return image.proxyUrl ?? image.url;
    return image.proxyUrl !== undefined ? renditionUrl(image.proxyUrl, image.width, image.height, this.options.renditionMaxSide ?? 512) : image.url;
  }

  private async download(image: ImageReference): Promise<DownloadResult> {
    const preferred = this.downloadUrl(image);
    const media = this.options.media;
    if (isVideoType(image.contentType) && media !== undefined) {
      const video: MediaDownload = { video: true, maxBytes: media.maxVideoBytes };
      try {
        return await this.options.download(preferred, undefined, video);
      } catch (error) {
        if (!(error instanceof DejavuError && error.code === 'DOWNLOAD_FAILED' && preferred !== image.url)) throw error;
        return this.options.download(image.url, undefined, video);
      }
    }
    try {
      return await this.options.download(preferred);
    } catch (error) {
      const originalTooLarge = image.size !== undefined && image.size > this.options.maxImageBytes;
      const retryable = error instanceof DejavuError && error.code === 'DOWNLOAD_FAILED' && preferred !== image.url && !originalTooLarge;
      if (!retryable) throw error;
      this.log.info({ url: redact(preferred), code: error.code }, 'proxy rendition failed; trying the original URL');
      return this.options.download(image.url);
    }
  }

  private async withGuildLock<T>(guildId: string, task: () => Promise<T>): Promise<T> {
    const previous = this.guildLocks.get(guildId) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    this.guildLocks.set(guildId, tail);
    void tail.then(() => {
      if (this.guildLocks.get(guildId) === tail) this.guildLocks.delete(guildId);
    });
    return run;
  }

  /** Without ffmpeg videos are skipped: said once at warn level (how to fix it), then per video at debug. */
  private skipVideo(source: ImageSource): IndexOutcome {
    if (!this.warnedNoFfmpeg) {
      this.warnedNoFfmpeg = true;
      this.log.warn({ guildId: source.guildId }, 'videos are not indexed: ffmpeg was not found (install the ffmpeg package, or set FFMPEG_PATH)');
    }
    return this.skipped(source, 'video skipped: no ffmpeg');
  }

  private skipped(source: ImageSource, reason: string): IndexOutcome {
    this.log.debug({ guildId: source.guildId, messageId: source.messageId, sourceKey: source.sourceKey, reason }, 'image skipped');
    return { status: 'skipped', source, reason };
  }

  private failed(source: ImageSource, error: unknown): IndexOutcome {
    const typed = asDejavuError(error);
    this.log.warn(
      { guildId: source.guildId, channelId: source.channelId, messageId: source.messageId, sourceKey: source.sourceKey, code: typed.code, err: typed.message },
      'image not indexed',
    );
    return { status: 'failed', source, code: typed.code, error: typed };
  }
}

/** Duplicates found through several frames: one entry per earlier record, exact copies first, then by similarity. */
export function mergeDuplicates(matches: readonly EarlierDuplicate[]): EarlierDuplicate[] {
  const best = new Map<number, EarlierDuplicate>();
  for (const match of matches) {
    const current = best.get(match.record.id);
    if (current === undefined || (match.exact && !current.exact) || (match.exact === current.exact && match.similarity > current.similarity)) best.set(match.record.id, match);
  }
  return [...best.values()].sort((a, b) => Number(b.exact) - Number(a.exact) || b.similarity - a.similarity);
}

function asDejavuError(error: unknown): DejavuError {
  if (error instanceof DejavuError) return error;
  const code: ErrorCode = 'STORE_FAILED';
  return new DejavuError(code, error instanceof Error ? error.message : String(error), {}, { cause: error });
}

/**
 * Failures that say nothing about the image: the queue was full or no embedder host was up. Such images are
 * kept as unfinished and indexed again later (and across a restart) instead of being lost.
 */
function isRetryLater(code: string | undefined): boolean {
  return code === 'QUEUE_FULL' || code === 'EMBEDDER_UNAVAILABLE';
}
