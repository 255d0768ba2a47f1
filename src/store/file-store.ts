/**
 * The file store, the ImageStore (see ./types.ts) of VECTOR_STORE=hnsw: per-guild vector index files in the
 * data directory (./guild-index.ts) plus full records in keyv.
 *
 * Consistency: an add is journaled (fsync) first, then applied to the in-memory index and written to keyv,
 * then acknowledged. After a crash the guild's journal is replayed on load and every replayed entry is
 * re-applied to keyv (idempotent sets and deletes) before the guild serves anything, so the journal is
 * the source of truth and keyv and the index agree. Snapshots, which empty the journal, run only between
 * operations, when keyv already holds everything they cover.
 *
 * Memory: guild indexes load on first use and the least recently used idle ones are snapshotted and
 * dropped beyond `maxLoadedGuilds`.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Keyv } from 'keyv';
import { EMBEDDING_DIMENSIONS, type ImageEmbedding } from '../embedding/types.ts';
import { StoreError } from '../errors.ts';
import { DEFAULT_INDEX_POLICY, type IndexPolicy } from '../index/select.ts';
import { childLogger } from '../logger.ts';
import { hasPendingJournal, readManifest } from './guild-files.ts';
import { GuildIndex } from './guild-index.ts';
import type { JournalEntry } from './journal.ts';
import { createKeyv, keyvAdapterName, type KeyvAdapterName } from './keyv.ts';
import { checkGuildId, checkNewImages, checkQuery, fromStoredRecord, newImageRecord, toStoredRecord, unitVector, type StoredRecord } from './records.ts';
import type { GuildStats, ImageRecord, ImageSource, ImageStore, NewImage, ScoredRecord, SearchOptions } from './types.ts';

export interface FileStoreOptions {
  dataDir: string;
  /** Empty: SQLite in dataDir. */
  keyvUrl?: string | undefined;
  /**
   * Embedding variant of the vectors this store accepts (Embedder.variant). Undefined opens the store for
   * reading and removal only (e.g. `dejavu stats`): guilds keep their own variant and `add` is refused.
   */
  variant: string | undefined;
  dimensions?: number;
  /** Guild indexes kept in RAM at once (idle ones beyond it are evicted, least recently used first). */
  maxLoadedGuilds?: number;
  /** Snapshot a guild after this many journaled changes (bounds journal size and replay time). */
  snapshotEveryOps?: number;
  /** Snapshot dirty guilds this often; 0 disables the timer (flush/close still snapshot). */
  snapshotIntervalMs?: number;
  indexPolicy?: IndexPolicy;
}

/** keyv namespace of the image records (exported for tests that inspect keyv directly). */
export const IMAGE_RECORDS_NAMESPACE = 'dejavu-images';
const RECORD_BATCH = 500;
const log = childLogger('store');

export async function openFileStore(options: FileStoreOptions): Promise<FileStore> {
  const guildsDir = join(options.dataDir, 'guilds');
  await mkdir(guildsDir, { recursive: true });
  const keyv = createKeyv<StoredRecord>({ dataDir: options.dataDir, keyvUrl: options.keyvUrl }, IMAGE_RECORDS_NAMESPACE);
  return new FileStore(options, guildsDir, keyv);
}

const RETRY = Symbol('retry');

/** The file store; created by openFileStore (which makes its folder first), so only its type is exported. */
export type { FileStore };

class FileStore implements ImageStore {
  readonly metadataStorage: KeyvAdapterName;
  private readonly dimensions: number;
  private readonly maxLoaded: number;
  private readonly snapshotEveryOps: number;
  private readonly policy: IndexPolicy;
  /** Insertion order = recency (a hit moves the guild to the end). */
  private readonly loaded = new Map<string, Promise<GuildIndex>>();
  /** Evictions in progress: a guild is reopened only after its previous instance has closed its files. */
  private readonly closingGuilds = new Map<string, Promise<void>>();
  private readonly timer: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(
    private readonly options: FileStoreOptions,
    private readonly guildsDir: string,
    private readonly keyv: Keyv<StoredRecord>,
  ) {
    this.metadataStorage = keyvAdapterName(options.keyvUrl);
    this.dimensions = options.dimensions ?? EMBEDDING_DIMENSIONS;
    this.maxLoaded = Math.max(1, options.maxLoadedGuilds ?? 64);
    this.snapshotEveryOps = Math.max(1, options.snapshotEveryOps ?? 2000);
    this.policy = options.indexPolicy ?? DEFAULT_INDEX_POLICY;
    const interval = options.snapshotIntervalMs ?? 5 * 60_000;
    if (interval > 0) {
      this.timer = setInterval(() => {
        this.flush().catch((error: unknown) => log.error({ err: error }, 'periodic snapshot failed'));
      }, interval);
      this.timer.unref();
    }
  }

  async add(source: ImageSource, contentHash: string, embedding: ImageEmbedding): Promise<ImageRecord> {
    const [record] = await this.addMany([{ source, contentHash, embedding }]);
    return record!;
  }

  async addMany(images: readonly NewImage[]): Promise<ImageRecord[]> {
    const guildId = checkNewImages(images, this.dimensions, this.options.variant)?.guildId;
    if (guildId === undefined) return [];
    // Before the guild is touched: a zero vector is refused without creating the guild.
    const vectors = images.map((image) => unitVector(image.embedding.vector));
    return this.withGuild(guildId, async (guild) => {
      const results: ImageRecord[] = [];
      const fresh: Array<{ record: ImageRecord; vector: Float32Array }> = [];
      const inThisCall = new Map<string, ImageRecord>();
      for (const [n, { source, contentHash, embedding }] of images.entries()) {
        const earlier = inThisCall.get(source.sourceKey) ?? (await this.existingRecord(guild, source.sourceKey));
        const record = earlier ?? newImageRecord(source, guild.allocateId(), contentHash, embedding);
        if (earlier === undefined) fresh.push({ record, vector: vectors[n]! });
        inThisCall.set(source.sourceKey, record);
        results.push(record);
      }
      if (fresh.length === 0) return results;
      await guild.addMany(fresh);
      try {
        await this.keyv.setMany(fresh.map(({ record }) => ({ key: recordKey(guildId, record.id), value: toStoredRecord(record) })));
      } catch (error) {
        // Not acknowledged, so none may stay: journal their removal (best effort) and report the failure.
        await guild.remove(fresh.map(({ record }) => record.id)).catch(() => undefined);
        throw new StoreError('STORE_FAILED', `Writing record metadata failed: ${String(error)}`, { guildId, images: fresh.length }, { cause: error });
      }
      if (guild.pendingOps >= this.snapshotEveryOps) await guild.snapshot();
      return results;
    });
  }

  /** The stored record of a source already in the guild, if any. Call inside the guild's `exclusive`. */
  private async existingRecord(guild: GuildIndex, sourceKey: string): Promise<ImageRecord | undefined> {
    const existing = guild.getBySource(sourceKey);
    if (existing === undefined) return undefined;
    const stored = await this.keyv.get(recordKey(guild.guildId, existing.id));
    if (stored !== undefined) return fromStoredRecord(stored);
    // Only after a failed keyv write whose rollback failed too: drop the half-written record, add anew.
    log.warn({ guildId: guild.guildId, id: existing.id }, 'record missing from keyv; re-adding it');
    await guild.remove([existing.id]);
    return undefined;
  }

  async getBySource(guildId: string, sourceKey: string): Promise<ImageRecord | undefined> {
    if (!(await this.exists(guildId))) return undefined;
    const id = await this.withGuild(guildId, (guild) => guild.getBySource(sourceKey)?.id);
    if (id === undefined) return undefined;
    return (await this.readRecords(guildId, [id]))[0];
  }

  async findByHash(guildId: string, contentHash: string): Promise<ImageRecord[]> {
    if (!(await this.exists(guildId))) return [];
    const ids = await this.withGuild(guildId, (guild) => guild.idsByHash(contentHash));
    return this.readRecords(guildId, ids);
  }

  async findSimilar(guildId: string, vector: Float32Array, options: SearchOptions): Promise<ScoredRecord[]> {
    checkQuery(guildId, vector, this.dimensions);
    const k = Math.floor(options.k);
    if (!(k > 0)) return [];
    if (!(await this.exists(guildId))) return [];
    const query = unitVector(vector);
    const hits = await this.withGuild(guildId, (guild) => guild.search(query, k, options.filter));
    const records = await this.keyv.getMany(hits.map((hit) => recordKey(guildId, hit.id)));
    const results: ScoredRecord[] = [];
    hits.forEach((hit, i) => {
      const stored = records[i];
      // A record removed between the search and this read is simply left out.
      if (stored !== undefined && stored !== null) results.push({ record: fromStoredRecord(stored), score: hit.score });
    });
    return results;
  }

  async getVector(guildId: string, id: number): Promise<Float32Array | undefined> {
    if (!(await this.exists(guildId))) return undefined;
    return this.withGuild(guildId, (guild) => guild.getVector(id));
  }

  async *listRecords(guildId: string): AsyncIterable<ImageRecord> {
    if (!(await this.exists(guildId))) return;
    const ids = await this.withGuild(guildId, (guild) => guild.ids());
    for (let start = 0; start < ids.length; start += RECORD_BATCH) {
      yield* await this.readRecords(guildId, ids.slice(start, start + RECORD_BATCH));
    }
  }

  async removeMessage(guildId: string, messageId: string): Promise<number> {
    return this.removeWhere(guildId, (guild) => guild.idsByMessage(messageId));
  }

  async removeChannel(guildId: string, channelId: string): Promise<number> {
    return this.removeWhere(guildId, (guild) => guild.idsByChannel(channelId));
  }

  async removeAuthor(guildId: string, authorId: string): Promise<number> {
    if (!(await this.exists(guildId))) return 0;
    const { removed, guild } = await this.withGuild(guildId, async (guild) => {
      const ids = guild.idsByAuthor(authorId);
      const removed = await guild.remove(ids);
      await deleteMany(this.keyv, ids.map((id) => recordKey(guildId, id)));
      // Also with nothing removed now when an earlier compaction was interrupted: this one finishes it.
      if (removed > 0 || guild.compactPending) await guild.compact();
      return { removed, guild };
    });
    // A large guild compacts in the background; the vectors are in no file once it has written its snapshot.
    await guild.rebuilt();
    log.info({ guildId, removed }, 'removed the images of a member and compacted the index');
    return removed;
  }

  async removeGuild(guildId: string): Promise<number> {
    checkGuildId(guildId);
    if (!(await this.exists(guildId))) return 0;
    return this.withGuild(guildId, async (guild) => {
      const ids = guild.ids();
      this.loaded.delete(guildId);
      // The directory goes first (atomic rename): a crash after it leaves only unreachable keyv records.
      await guild.destroy();
      await deleteMany(this.keyv, ids.map((id) => recordKey(guildId, id)));
      return ids.length;
    });
  }

  async stats(): Promise<GuildStats[]> {
    const stats: GuildStats[] = [];
    for (const guildId of await this.guildIds()) {
      const dir = join(this.guildsDir, guildId);
      if (this.loaded.has(guildId) || (await hasPendingJournal(dir))) {
        stats.push({ id: guildId, images: await this.withGuild(guildId, (guild) => guild.size) });
      } else {
        stats.push({ id: guildId, images: (await readManifest(dir))?.count ?? 0 });
      }
    }
    return stats.sort((a, b) => a.id.localeCompare(b.id));
  }

  async flush(): Promise<void> {
    for (const pending of [...this.loaded.values()]) {
      const guild = await pending;
      await guild.exclusive(async () => {
        if (!guild.closed && guild.pendingOps > 0) await guild.snapshot();
      });
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    const guilds = [...this.loaded.values()];
    this.loaded.clear();
    for (const pending of guilds) {
      const guild = await pending.catch(() => undefined);
      if (guild !== undefined) await guild.exclusive(() => guild.close());
    }
    await this.keyv.disconnect();
  }

  /** Guild indexes currently in RAM. */
  loadedGuilds(): string[] {
    return [...this.loaded.keys()];
  }

  /** Runs `task` with the guild loaded and locked; retries if the guild was evicted meanwhile. */
  private async withGuild<T>(guildId: string, task: (guild: GuildIndex) => Promise<T> | T): Promise<T> {
    for (;;) {
      const guild = await this.load(guildId);
      const result = await guild.exclusive(async () => (guild.closed ? RETRY : task(guild)));
      if (result !== RETRY) return result as T;
    }
  }

  private async load(guildId: string): Promise<GuildIndex> {
    if (this.closing) throw new StoreError('STORE_FAILED', 'The image store is closed', { guildId });
    checkGuildId(guildId);
    let pending = this.loaded.get(guildId);
    if (pending !== undefined) {
      this.loaded.delete(guildId);
      this.loaded.set(guildId, pending);
      return pending;
    }
    pending = this.openGuild(guildId);
    this.loaded.set(guildId, pending);
    pending.then(
      () => this.evictIdle(),
      () => this.loaded.delete(guildId),
    );
    return pending;
  }

  private async openGuild(guildId: string): Promise<GuildIndex> {
    await this.closingGuilds.get(guildId);
    const { guild, replayed } = await GuildIndex.open(join(this.guildsDir, guildId), {
      guildId,
      variant: this.options.variant,
      dimensions: this.dimensions,
      policy: this.policy,
    });
    if (replayed.length > 0) {
      log.info({ guildId, entries: replayed.length }, 'replaying journal into keyv');
      await this.replayIntoKeyv(guildId, replayed);
    }
    if (guild.compactPending) {
      // A member's forgetting was interrupted before the compacted index was written: finish it first.
      log.info({ guildId }, 'finishing an interrupted compaction');
      await guild.exclusive(() => guild.compact());
    }
    return guild;
  }

  /** Makes keyv agree with journal entries that may not have reached it before a crash. */
  private async replayIntoKeyv(guildId: string, entries: JournalEntry[]): Promise<void> {
    const removed = new Set<number>();
    for (const entry of entries) if (entry.op === 'remove') for (const id of entry.ids) removed.add(id);
    for (const entry of entries) {
      if (entry.op === 'add' && !removed.has(entry.record.id)) await this.keyv.set(recordKey(guildId, entry.record.id), entry.record);
    }
    await deleteMany(this.keyv, [...removed].map((id) => recordKey(guildId, id)));
  }

  /** Drops least recently used idle guilds beyond the limit (snapshotting them first). */
  private evictIdle(): void {
    let excess = this.loaded.size - this.maxLoaded;
    for (const [guildId, pending] of this.loaded) {
      if (excess <= 0) return;
      excess--;
      void pending.then(async (guild) => {
        if (guild.busy || this.loaded.get(guildId) !== pending) return;
        this.loaded.delete(guildId);
        const closing = guild.exclusive(() => guild.close()).catch((error: unknown) => log.error({ err: error, guildId }, 'evicting guild index failed'));
        this.closingGuilds.set(guildId, closing);
        await closing;
        if (this.closingGuilds.get(guildId) === closing) this.closingGuilds.delete(guildId);
      }).catch((error: unknown) => log.error({ err: error, guildId }, 'evicting guild index failed'));
    }
  }

  private async removeWhere(guildId: string, select: (guild: GuildIndex) => number[]): Promise<number> {
    if (!(await this.exists(guildId))) return 0;
    return this.withGuild(guildId, async (guild) => {
      const ids = select(guild);
      const removed = await guild.remove(ids);
      await deleteMany(this.keyv, ids.map((id) => recordKey(guildId, id)));
      if (guild.pendingOps >= this.snapshotEveryOps) await guild.snapshot();
      return removed;
    });
  }

  private async readRecords(guildId: string, ids: number[]): Promise<ImageRecord[]> {
    if (ids.length === 0) return [];
    const stored = await this.keyv.getMany(ids.map((id) => recordKey(guildId, id)));
    return stored.filter((record): record is StoredRecord => record !== undefined && record !== null).map(fromStoredRecord);
  }

  /** Whether the guild has an index (so reads of unknown guilds do not create directories). */
  private async exists(guildId: string): Promise<boolean> {
    checkGuildId(guildId);
    return this.loaded.has(guildId) || (await readManifest(join(this.guildsDir, guildId))) !== undefined;
  }

  private async guildIds(): Promise<string[]> {
    const names = await readdir(this.guildsDir);
    return names.filter((name) => !name.includes('.deleted-') && /^[A-Za-z0-9_-]{1,64}$/.test(name));
  }
}

export function recordKey(guildId: string, id: number): string {
  return `rec:${guildId}:${id}`;
}

async function deleteMany(keyv: Keyv<StoredRecord>, keys: string[]): Promise<void> {
  for (let start = 0; start < keys.length; start += RECORD_BATCH) await keyv.deleteMany(keys.slice(start, start + RECORD_BATCH));
}

