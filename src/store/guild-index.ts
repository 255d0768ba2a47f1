/**
 * One guild's vectors and record metadata, durable on disk under `<guildsDir>/<guildId>/`:
 *
 *   manifest.json         variant, dimensions, index kind, snapshot files, last journal seq included
 *   index-<seq>.{exact,hnsw,pca-hnsw}, records-<seq>.jsonl   the snapshot named by the manifest
 *                         (pca-hnsw is a directory: graph + full vectors, see src/index/reduced-hnsw.ts)
 *   journal.log           entries after that snapshot (see ./journal.ts)
 *
 * A snapshot is written to new files (temp name, fsync, rename), then the manifest is replaced the same
 * way and the directory fsync'd; only then are the journal emptied and old files deleted. A crash at any
 * point leaves a manifest naming complete files plus a journal whose entries with seq ≤ manifest.seq are
 * skipped on replay. The metadata (everything but signatures) stays in RAM so search filters run inline.
 *
 * This module keeps the guild's state consistent (journal, index, swaps); the files themselves are read and
 * written by ./guild-files.ts, the in-RAM metadata with its lookup maps is ./guild-records.ts, and when and
 * how the index is rebuilt is ./guild-rebuild.ts.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from '../errors.ts';
import { preferredKind, rebuildIndex, type IndexPolicy } from '../index/select.ts';
import { childLogger } from '../logger.ts';
import type { VectorIndex, VectorIndexKind } from '../index/types.ts';
import { checkManifest, createManifest, JOURNAL_FILE, loadIndex, readManifest, readRows, removeStaleFiles, writeSnapshotFiles, type GuildManifest } from './guild-files.ts';
import { BackgroundRebuild, needsRebuild, rebuildsInBackground } from './guild-rebuild.ts';
import { GuildRecords } from './guild-records.ts';
import { Journal, syncPath, type JournalEntry } from './journal.ts';
import { checkGuildId, decodeVector, encodeVector, fromRow, metadataOf, toStoredRecord } from './records.ts';
import type { ImageRecord, RecordMetadata } from './types.ts';

const log = childLogger('guild-index');

export interface GuildIndexOptions {
  guildId: string;
  /** Embedding variant of the vectors; undefined: read-only use, accept the variant the guild was built with. */
  variant: string | undefined;
  dimensions: number;
  policy: IndexPolicy;
  /** Compact when marked-deleted vectors exceed this fraction of the stored ones (HNSW). */
  compactDeletedFraction?: number;
  /** Rebuilds of indexes above this many vectors run in the background (default BACKGROUND_REBUILD_MIN_SIZE). */
  backgroundRebuildMinSize?: number;
  /** Longest stretch a background rebuild holds the event loop (default 15 ms; 0 = one vector at a time). */
  rebuildSliceMs?: number;
}

export class GuildIndex {
  private readonly records = new GuildRecords();
  private seq: number;
  private nextId: number;
  private opsSinceSnapshot = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private isClosed = false;
  private rebuild: BackgroundRebuild | undefined;
  /** See GuildManifest.compactPending; cleared when a rebuilt index (only live vectors) replaces the current one. */
  private compactRequested: boolean;

  private constructor(
    readonly dir: string,
    readonly options: GuildIndexOptions,
    private manifest: GuildManifest,
    private index: VectorIndex,
    private readonly journal: Journal,
  ) {
    this.seq = manifest.seq;
    this.nextId = manifest.nextId;
    this.compactRequested = manifest.compactPending === true;
  }

  /**
   * Loads the snapshot and replays the journal. Returns the replayed entries: the caller brings its other
   * stores (keyv) up to date with them before serving requests.
   */
  static async open(dir: string, options: GuildIndexOptions): Promise<{ guild: GuildIndex; replayed: JournalEntry[] }> {
    checkGuildId(options.guildId);
    await mkdir(dir, { recursive: true });
    let manifest = await readManifest(dir);
    if (manifest === undefined) {
      if (options.variant === undefined) {
        throw new StoreError('INVALID_INPUT', `Cannot create guild index ${options.guildId} without an embedding variant`, { guildId: options.guildId });
      }
      manifest = await createManifest(dir, options.guildId, options.variant, options.dimensions);
    }
    checkManifest(dir, manifest, options.guildId, options.variant, options.dimensions);
    const rows = manifest.recordsFile === null ? [] : await readRows(join(dir, manifest.recordsFile));
    const index = await loadIndex(dir, manifest, options.dimensions, options.policy, rows.map((row) => row[0]));
    const { journal, entries } = await Journal.open(join(dir, JOURNAL_FILE));
    const guild = new GuildIndex(dir, options, manifest, index, journal);
    for (const row of rows) guild.records.add(fromRow(options.guildId, row));
    const replayed = entries.filter((entry) => entry.seq > manifest.seq);
    for (const entry of replayed) guild.apply(entry);
    guild.opsSinceSnapshot = replayed.length;
    return { guild, replayed };
  }

  get guildId(): string {
    return this.options.guildId;
  }

  get size(): number {
    return this.records.size;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get indexKind(): VectorIndexKind {
    return this.index.kind;
  }

  /** A compaction was asked for and has not yet written its snapshot (e.g. the process stopped meanwhile). */
  get compactPending(): boolean {
    return this.compactRequested;
  }

  /** Changes not yet in a snapshot. */
  get pendingOps(): number {
    return this.opsSinceSnapshot;
  }

  get busy(): boolean {
    return this.waiting > 0;
  }

  private waiting = 0;

  /** Runs `task` after every earlier task of this guild: adds, removals, snapshots never interleave. */
  exclusive<T>(task: () => Promise<T> | T): Promise<T> {
    this.waiting++;
    const run = this.queue.then(task);
    this.queue = run.then(
      () => this.waiting--,
      () => this.waiting--,
    );
    return run;
  }

  getBySource(sourceKey: string): RecordMetadata | undefined {
    return this.records.getBySource(sourceKey);
  }

  get(id: number): RecordMetadata | undefined {
    return this.records.get(id);
  }

  idsByHash(contentHash: string): number[] {
    return this.records.idsByHash(contentHash);
  }

  idsByMessage(messageId: string): number[] {
    return this.records.idsByMessage(messageId);
  }

  idsByChannel(channelId: string): number[] {
    return this.records.idsByChannel(channelId);
  }

  idsByAuthor(authorId: string): number[] {
    return this.records.idsByAuthor(authorId);
  }

  ids(): number[] {
    return this.records.ids();
  }

  allocateId(): number {
    return this.nextId++;
  }

  /** Journals (durably) and applies an add. The record's id must come from `allocateId`. */
  async add(record: ImageRecord, vector: Float32Array): Promise<void> {
    await this.addMany([{ record, vector }]);
  }

  /** Group commit: one journal write and one fsync for all the adds. */
  async addMany(items: ReadonlyArray<{ record: ImageRecord; vector: Float32Array }>): Promise<void> {
    this.assertOpen();
    const entries: JournalEntry[] = items.map(({ record, vector }, i) => ({
      seq: this.seq + 1 + i,
      op: 'add',
      record: toStoredRecord(record),
      vector: encodeVector(vector),
    }));
    await this.journal.append(entries);
    for (const entry of entries) this.apply(entry);
    this.opsSinceSnapshot += entries.length;
  }

  /** Journals and applies a removal; returns how many of `ids` existed. */
  async remove(ids: readonly number[]): Promise<number> {
    this.assertOpen();
    const present = ids.filter((id) => this.records.has(id));
    if (present.length === 0) return 0;
    const entry: JournalEntry = { seq: this.seq + 1, op: 'remove', ids: present };
    await this.journal.append([entry]);
    this.seq = entry.seq;
    this.apply(entry);
    this.opsSinceSnapshot++;
    return present.length;
  }

  /** Best first; the filter sees record metadata. */
  search(vector: Float32Array, k: number, filter?: (record: RecordMetadata) => boolean): Array<{ id: number; score: number }> {
    this.assertOpen();
    const labelFilter =
      filter === undefined
        ? undefined
        : (label: number): boolean => {
            const record = this.records.get(label);
            return record !== undefined && filter(record);
          };
    return this.index.search(vector, k, labelFilter).map((hit) => ({ id: hit.label, score: hit.score }));
  }

  getVector(id: number): Float32Array | undefined {
    return this.index.getVector(id);
  }

  get rebuilding(): boolean {
    return this.rebuild !== undefined;
  }

  /** Settles when the background rebuild running now (if any) has been swapped in or cancelled. */
  async rebuilt(): Promise<void> {
    await this.rebuild?.done;
  }

  /**
   * Writes a snapshot (switching index kind or compacting first when the size calls for it) and empties
   * the journal. A large rebuild starts in the background instead, and snapshots wait for it (the journal
   * keeps every change durable meanwhile): the rebuild reads the current index's snapshot file. Call
   * inside `exclusive`.
   */
  async snapshot(): Promise<void> {
    this.assertOpen();
    if (this.rebuild !== undefined) return;
    if (needsRebuild(this.index, this.options.policy, this.options.compactDeletedFraction)) {
      if (rebuildsInBackground(this.index, this.options.backgroundRebuildMinSize)) {
        this.startRebuild();
        return;
      }
      this.replaceIndex(rebuildIndex(this.index, this.options.policy));
    }
    await this.writeSnapshot();
  }

  /**
   * A snapshot after which no removed vector is left in any file: the index is rebuilt from its live
   * vectors first when it still holds removed ones (HNSW only marks them deleted), and the journal — which
   * holds the vector of every add since the last snapshot — is emptied by the snapshot. A large index is
   * rebuilt in the background like any other (see snapshot); `rebuilt()` settles once its snapshot is
   * written. Call inside `exclusive`.
   */
  async compact(): Promise<void> {
    this.assertOpen();
    // A rebuild already running would replay the removals onto its result as deletion marks: start over.
    this.cancelRebuild();
    if (this.index.deletedCount > 0 || preferredKind(this.index.size, this.options.policy) !== this.index.kind) {
      // Written into every snapshot until the rebuilt index is in place, so a stop in between resumes it.
      this.compactRequested = true;
      if (rebuildsInBackground(this.index, this.options.backgroundRebuildMinSize)) {
        this.startRebuild();
        return;
      }
      this.replaceIndex(rebuildIndex(this.index, this.options.policy));
    }
    await this.writeSnapshot();
  }

  private async writeSnapshot(): Promise<void> {
    const manifest = await writeSnapshotFiles(this.dir, this.index, this.records.values(), {
      ...this.manifest,
      seq: this.seq,
      nextId: this.nextId,
      count: this.records.size,
      compactPending: this.compactRequested,
    });
    this.manifest = manifest;
    await this.journal.clear();
    this.opsSinceSnapshot = 0;
    await removeStaleFiles(this.dir, manifest);
  }

  /** Snapshots if anything changed, then releases files and memory. Call inside `exclusive`. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.cancelRebuild(); // the next load starts it again
    if (this.opsSinceSnapshot > 0) await this.writeSnapshot();
    await this.journal.close();
    this.index.close?.();
    this.isClosed = true;
  }

  /** Closes without a snapshot and deletes the guild's directory (its journal included). */
  async destroy(): Promise<void> {
    this.cancelRebuild();
    if (!this.isClosed) await this.journal.close();
    this.index.close?.();
    this.isClosed = true;
    const trash = `${this.dir}.deleted-${process.pid}-${Date.now()}`;
    await rename(this.dir, trash);
    syncPath(join(this.dir, '..'));
    await rm(trash, { recursive: true, force: true });
  }

  private apply(entry: JournalEntry): void {
    if (entry.op === 'add') {
      const metadata = metadataOf(entry.record);
      if (this.records.has(metadata.id)) return; // replay of an entry already in the snapshot
      this.maybeGrowIntoHnsw();
      const vector = decodeVector(entry.vector, this.options.dimensions);
      this.index.add(metadata.id, vector);
      this.rebuild?.recordAdd(metadata.id, vector);
      this.records.add(metadata);
      this.nextId = Math.max(this.nextId, metadata.id + 1);
    } else {
      for (const id of entry.ids) {
        const record = this.records.get(id);
        if (record === undefined) continue;
        this.index.remove(id);
        this.rebuild?.recordRemove(id);
        this.records.remove(record);
      }
    }
    this.seq = Math.max(this.seq, entry.seq);
  }

  /** Switches from the exact scan to HNSW as soon as the guild outgrows it. */
  private maybeGrowIntoHnsw(): void {
    if (this.index.kind === 'exact' && preferredKind(this.index.size + 1, this.options.policy) !== 'exact') {
      // The full-dimension graph: the PCA one is fitted at a snapshot, once the guild is large.
      const { reduced: _reduced, ...fullGraphPolicy } = this.options.policy;
      this.replaceIndex(rebuildIndex(this.index, { ...fullGraphPolicy, exactSearchMaxImages: -1 }));
    }
  }

  /**
   * Starts a background rebuild (./guild-rebuild.ts); the built index is swapped in under the guild's lock,
   * with the changes made meanwhile replayed onto it, and a snapshot is written.
   */
  private startRebuild(): void {
    const rebuild: BackgroundRebuild = new BackgroundRebuild(
      this.index,
      this.options.policy,
      this.options.rebuildSliceMs,
      this.guildId,
      (target) => this.exclusive(() => this.swapInRebuilt(rebuild, target)),
      () => {
        if (this.rebuild === rebuild) this.rebuild = undefined;
      },
    );
    this.rebuild = rebuild;
  }

  private async swapInRebuilt(rebuild: BackgroundRebuild, target: VectorIndex): Promise<void> {
    if (rebuild.isCancelled || this.isClosed) {
      target.close?.();
      return;
    }
    rebuild.replayOnto(target);
    this.rebuild = undefined;
    this.replaceIndex(target);
    log.info({ guildId: this.guildId, kind: target.kind, size: target.size, seconds: Math.round((performance.now() - rebuild.startedAt) / 1000) }, 'index rebuild done');
    await this.writeSnapshot();
  }

  private cancelRebuild(): void {
    this.rebuild?.cancel();
    this.rebuild = undefined;
  }

  /** Every replacement is built from the live vectors alone (rebuild, compaction, growth into HNSW). */
  private replaceIndex(index: VectorIndex): void {
    const old = this.index;
    this.index = index;
    this.compactRequested = false;
    old.close?.();
  }

  private assertOpen(): void {
    if (this.isClosed) throw new StoreError('STORE_FAILED', `Guild index ${this.guildId} is closed`, { guildId: this.guildId });
  }
}
