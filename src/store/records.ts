/** Record (de)serialisation for keyv, the journal and snapshots. Signatures and vectors travel as base64. */
import { StoreError } from '../errors.ts';
import type { ImageRecord, RecordMetadata, SourceKind } from './types.ts';

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

export function metadataOf(record: ImageRecord | StoredRecord): RecordMetadata {
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
    id: record.id,
    contentHash: record.contentHash,
    width: record.width,
    height: record.height,
  };
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
