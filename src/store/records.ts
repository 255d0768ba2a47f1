/** Record (de)serialisation for keyv, the journal and snapshots (signatures and vectors travel as base64), and the checks and builders both stores share. */
import { StoreError } from '../errors.ts';
import type { ImageEmbedding } from '../embedding/types.ts';
import type { ImageRecord, ImageSource, NewImage, RecordMetadata, SourceKind } from './types.ts';

export interface StoredRecord extends RecordMetadata {
  /** base64 of ImageRecord.signature. */
  signature: string;
}

export function toStoredRecord(record: ImageRecord): StoredRecord {
  return { ...record, signature: Buffer.from(record.signature.buffer, record.signature.byteOffset, record.signature.byteLength).toString('base64') };
}

export function fromStoredRecord(stored: StoredRecord): ImageRecord {
  return { ...stored, signature: new Uint8Array(Buffer.from(stored.signature, 'base64')) };
}

/** The record a store writes for a new image (both stores allocate `id` their own way). */
export function newImageRecord(source: ImageSource, id: number, contentHash: string, embedding: ImageEmbedding): ImageRecord {
  return {
    guildId: source.guildId,
    channelId: source.channelId,
    messageId: source.messageId,
    sourceKey: source.sourceKey,
    authorId: source.authorId,
    createdAt: source.createdAt,
    nsfw: source.nsfw,
    kind: source.kind,
    label: source.label,
    id,
    contentHash,
    width: embedding.width,
    height: embedding.height,
    signature: embedding.signature,
  };
}

const GUILD_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function checkGuildId(guildId: string): void {
  if (!GUILD_ID.test(guildId)) {
    throw new StoreError('INVALID_INPUT', `Guild id must be 1-64 letters, digits, '-' or '_' (got ${JSON.stringify(guildId)})`, { guildId });
  }
}

/** Refuses an add that no store may accept: bad guild id, empty source key, malformed hash, wrong dimensions. */
export function checkNewImage(source: ImageSource, contentHash: string, vector: Float32Array, dimensions: number): void {
  checkGuildId(source.guildId);
  const context = { guildId: source.guildId, sourceKey: source.sourceKey };
  if (source.sourceKey === '') throw new StoreError('INVALID_INPUT', 'Image source has an empty sourceKey', context);
  if (!/^[0-9a-f]{64}$/.test(contentHash)) throw new StoreError('INVALID_INPUT', 'Content hash must be a lowercase hex sha256', context);
  if (vector.length !== dimensions) {
    throw new StoreError('INVALID_INPUT', `Embedding has ${vector.length} dimensions, the store expects ${dimensions}`, context);
  }
}

/**
 * Checks a batch for `addMany` (both stores): every image as in checkNewImage, all of one guild, and a store
 * opened with a variant. Returns the guild and the variant, or undefined for an empty batch.
 */
export function checkNewImages(images: readonly NewImage[], dimensions: number, variant: string | undefined): { guildId: string; variant: string } | undefined {
  const guildId = images[0]?.source.guildId;
  if (guildId === undefined) return undefined;
  for (const image of images) {
    checkNewImage(image.source, image.contentHash, image.embedding.vector, dimensions);
    if (image.source.guildId !== guildId) {
      throw new StoreError('INVALID_INPUT', 'addMany takes images of one guild per call', { guildId, otherGuildId: image.source.guildId });
    }
  }
  if (variant === undefined) {
    throw new StoreError('INVALID_INPUT', 'This image store was opened without an embedding variant and cannot add images', { guildId });
  }
  return { guildId, variant };
}

/** Refuses a search vector of the wrong length (both stores). */
export function checkQuery(guildId: string, vector: Float32Array, dimensions: number): void {
  if (vector.length !== dimensions) throw new StoreError('INVALID_INPUT', `Query has ${vector.length} dimensions, the store expects ${dimensions}`, { guildId });
}

/** The source fields of a record (what `add` takes; a target store allocates its own id). */
export function imageSourceOf(record: RecordMetadata): ImageSource {
  return {
    guildId: record.guildId,
    channelId: record.channelId,
    messageId: record.messageId,
    sourceKey: record.sourceKey,
    authorId: record.authorId,
    createdAt: record.createdAt,
    nsfw: record.nsfw,
    kind: record.kind,
    label: record.label,
  };
}

export function metadataOf(record: ImageRecord | StoredRecord): RecordMetadata {
  return { ...imageSourceOf(record), id: record.id, contentHash: record.contentHash, width: record.width, height: record.height };
}

/** Snapshot row: positional to keep million-record snapshots small; guildId is implied by the file. */
export type MetadataRow = [number, string, string, string, string, number, 0 | 1, SourceKind, string, string, number, number];

export function toRow(m: RecordMetadata): MetadataRow {
  return [m.id, m.channelId, m.messageId, m.sourceKey, m.authorId, m.createdAt, m.nsfw ? 1 : 0, m.kind, m.label, m.contentHash, m.width, m.height];
}

export function fromRow(guildId: string, row: MetadataRow): RecordMetadata {
  const [id, channelId, messageId, sourceKey, authorId, createdAt, nsfw, kind, label, contentHash, width, height] = row;
  return { guildId, id, channelId, messageId, sourceKey, authorId, createdAt, nsfw: nsfw === 1, kind, label, contentHash, width, height };
}

export function encodeVector(vector: Float32Array): string {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64');
}

export function decodeVector(base64: string, dimensions: number): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length !== dimensions * 4) {
    throw new StoreError('INDEX_CORRUPT', `Stored vector has ${bytes.length / 4} dimensions, expected ${dimensions}`, { dimensions });
  }
  const vector = new Float32Array(dimensions);
  new Uint8Array(vector.buffer).set(bytes);
  return vector;
}

/** Scales to unit length (the index works in inner-product space); rejects zero or non-finite vectors. */
export function unitVector(vector: Float32Array): Float32Array {
  let norm = 0;
  for (let i = 0; i < vector.length; i++) norm += (vector[i] ?? 0) * (vector[i] ?? 0);
  norm = Math.sqrt(norm);
  if (!Number.isFinite(norm) || norm === 0) {
    throw new StoreError('INVALID_INPUT', 'Embedding vector is zero or not finite', { length: vector.length });
  }
  if (Math.abs(norm - 1) < 1e-6) return vector;
  const unit = new Float32Array(vector.length);
  for (let i = 0; i < vector.length; i++) unit[i] = (vector[i] ?? 0) / norm;
  return unit;
}
