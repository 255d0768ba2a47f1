/**
 * The files of one guild's index under `<guildsDir>/<guildId>/` (see ./guild-index.ts for the layout and
 * the crash-safety order): reading and checking the manifest, loading the snapshot it names, writing a new
 * snapshot atomically, and removing what no manifest names any more.
 */
import { createReadStream } from 'node:fs';
import { open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { StoreError } from '../errors.ts';
import { ExactVectorIndex } from '../index/exact.ts';
import { HnswVectorIndex } from '../index/hnsw.ts';
import { ReducedHnswVectorIndex } from '../index/reduced-hnsw.ts';
import { REDUCED_INDEX_DEFAULTS, createVectorIndex, type IndexPolicy } from '../index/select.ts';
import type { VectorIndex, VectorIndexKind } from '../index/types.ts';
import { syncPath } from './journal.ts';
import { toRow, type MetadataRow } from './records.ts';
import type { RecordMetadata } from './types.ts';

export const MANIFEST_FILE = 'manifest.json';
export const JOURNAL_FILE = 'journal.log';
const MANIFEST_FORMAT = 1;

export interface GuildManifest {
  format: number;
  guildId: string;
  variant: string;
  dimensions: number;
  /** Last journal seq whose effect is in the snapshot. */
  seq: number;
  nextId: number;
  /** Live records in the snapshot. */
  count: number;
  index: { kind: VectorIndexKind; file: string } | null;
  recordsFile: string | null;
  /**
   * A compaction was asked for (a member was forgotten) and the index file may still hold vectors marked
   * deleted: the next open compacts before serving. Absent in older manifests (false).
   */
  compactPending?: boolean;
}

export async function readManifest(dir: string): Promise<GuildManifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as GuildManifest;
  } catch (error) {
    throw new StoreError('INDEX_CORRUPT', `Guild manifest ${join(dir, MANIFEST_FILE)} is not valid JSON`, { dir }, { cause: error });
  }
}

/** Whether the guild has journal entries not yet in a snapshot (a crash or a kill happened). */
export async function hasPendingJournal(dir: string): Promise<boolean> {
  try {
    return (await stat(join(dir, JOURNAL_FILE))).size > 0;
  } catch {
    return false;
  }
}

/** Writes the manifest of a guild that has no snapshot yet. */
export async function createManifest(dir: string, guildId: string, variant: string, dimensions: number): Promise<GuildManifest> {
  const manifest: GuildManifest = { format: MANIFEST_FORMAT, guildId, variant, dimensions, seq: 0, nextId: 1, count: 0, index: null, recordsFile: null };
  await writeFileAtomic(dir, MANIFEST_FILE, JSON.stringify(manifest));
  return manifest;
}

/**
 * Writes a snapshot: the index and the records to new files (temp name, fsync, rename), then the manifest
 * naming them. Returns that manifest; the caller empties the journal, then removes the stale files.
 */
export async function writeSnapshotFiles(
  dir: string,
  index: VectorIndex,
  records: Iterable<RecordMetadata>,
  state: Omit<GuildManifest, 'index' | 'recordsFile'>,
): Promise<GuildManifest> {
  const seq = state.seq;
  const kind = index.kind;
  // A directory (pca-hnsw) cannot be renamed over a leftover of a crashed snapshot with the same seq, so
  // it gets a unique name; files are replaced atomically by rename.
  const indexFile = kind === 'pca-hnsw' ? `index-${seq}-${Date.now().toString(36)}.${kind}` : `index-${seq}.${kind}`;
  const recordsFile = `records-${seq}.jsonl`;
  await index.save(join(dir, `${indexFile}.tmp`));
  syncPath(join(dir, `${indexFile}.tmp`));
  await rename(join(dir, `${indexFile}.tmp`), join(dir, indexFile));
  await writeRows(join(dir, `${recordsFile}.tmp`), records);
  await rename(join(dir, `${recordsFile}.tmp`), join(dir, recordsFile));
  const manifest: GuildManifest = { ...state, index: { kind, file: indexFile }, recordsFile };
  await writeFileAtomic(dir, MANIFEST_FILE, JSON.stringify(manifest));
  return manifest;
}

/** Refuses a manifest of another format, or of vectors another embedder made (variant `undefined`: any). */
export function checkManifest(dir: string, manifest: GuildManifest, guildId: string, expectedVariant: string | undefined, dimensions: number): void {
  if (manifest.format !== MANIFEST_FORMAT) {
    throw new StoreError('INDEX_CORRUPT', `Guild index ${dir} has manifest format ${manifest.format}, expected ${MANIFEST_FORMAT}`, { dir });
  }
  const variant = expectedVariant ?? manifest.variant;
  if (manifest.variant !== variant || manifest.dimensions !== dimensions) {
    throw new StoreError(
      'INDEX_VARIANT_MISMATCH',
      `Guild ${guildId} was indexed with embedding variant "${manifest.variant}" (${manifest.dimensions}-d) but the embedder produces ` +
        `"${variant}" (${dimensions}-d); vectors of different variants cannot be compared. Re-index the guild ` +
        `(delete ${dir}) or configure the original embedder.`,
      { guildId, indexVariant: manifest.variant, embedderVariant: variant, indexDimensions: manifest.dimensions, embedderDimensions: dimensions },
    );
  }
}

/** The index the manifest names (a new empty one when it names none), with `liveLabels` its live vectors. */
export async function loadIndex(dir: string, manifest: GuildManifest, dimensions: number, policy: IndexPolicy, liveLabels: number[]): Promise<VectorIndex> {
  if (manifest.index === null) return createVectorIndex(dimensions, policy);
  const path = join(dir, manifest.index.file);
  switch (manifest.index.kind) {
    case 'exact':
      return ExactVectorIndex.load(path, dimensions);
    case 'hnsw':
      return HnswVectorIndex.load(path, dimensions, liveLabels, policy.hnsw);
    case 'pca-hnsw':
      return ReducedHnswVectorIndex.load(path, dimensions, liveLabels, { ...(policy.reduced ?? REDUCED_INDEX_DEFAULTS).parameters });
  }
}

/** The records file of a snapshot: one JSON row per record. */
export async function readRows(path: string): Promise<MetadataRow[]> {
  const rows: MetadataRow[] = [];
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) if (line !== '') rows.push(JSON.parse(line) as MetadataRow);
  return rows;
}

async function writeRows(path: string, records: Iterable<RecordMetadata>): Promise<void> {
  const file = await open(path, 'w');
  try {
    let chunk: string[] = [];
    for (const record of records) {
      chunk.push(JSON.stringify(toRow(record)));
      if (chunk.length === 10_000) {
        await file.write(`${chunk.join('\n')}\n`);
        chunk = [];
      }
    }
    if (chunk.length > 0) await file.write(`${chunk.join('\n')}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** temp file + fsync + rename + fsync of the directory. */
export async function writeFileAtomic(dir: string, name: string, content: string): Promise<void> {
  const temporary = join(dir, `${name}.tmp`);
  const file = await open(temporary, 'w');
  try {
    await file.write(content);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, join(dir, name));
  syncPath(dir);
}

/** Deletes every file of the guild's directory that the manifest does not name (older snapshots, temp files). */
export async function removeStaleFiles(dir: string, manifest: GuildManifest): Promise<void> {
  const keep = new Set([MANIFEST_FILE, JOURNAL_FILE]);
  if (manifest.index !== null) keep.add(manifest.index.file);
  if (manifest.recordsFile !== null) keep.add(manifest.recordsFile);
  for (const name of await readdir(dir)) {
    if (!keep.has(name)) await rm(join(dir, name), { recursive: true, force: true }); // pca-hnsw snapshots are directories
  }
}
