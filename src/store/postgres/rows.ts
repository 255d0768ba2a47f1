/**
 * Conversions between ImageRecord and `images` rows, the `guilds` row, and pgvector's text form of a vector.
 * Column lists live here so every query selects the same shape.
 */
import { StoreError } from '../../errors.ts';
import type { ImageRecord, RecordMetadata, SourceKind } from '../types.ts';

/** A guild's row in `guilds`: its variant, size and reduced-search state (GUILD_COLUMNS selects it). */
export interface GuildRow {
  variant: string;
  dimensions: number;
  images: number;
  projection_id: number | null;
  reduced_ready: boolean;
}

export const GUILD_COLUMNS = 'variant, dimensions, images, projection_id, reduced_ready';

/** Every metadata column, in ImageRecord order (no signature, no embedding). */
export const METADATA_COLUMNS =
  'guild_id, id, channel_id, message_id, source_key, author_id, created_at, nsfw, kind, label, content_hash, width, height';

export interface MetadataRow {
  guild_id: string;
  id: number;
  channel_id: string;
  message_id: string;
  source_key: string;
  author_id: string;
  /** bigint: node-postgres returns it as a string. */
  created_at: string;
  nsfw: boolean;
  kind: SourceKind;
  label: string;
  content_hash: string;
  width: number;
  height: number;
}

export interface RecordRow extends MetadataRow {
  signature: Buffer;
}

export function metadataFromRow(row: MetadataRow): RecordMetadata {
  return {
    guildId: row.guild_id,
    channelId: row.channel_id,
    messageId: row.message_id,
    sourceKey: row.source_key,
    authorId: row.author_id,
    createdAt: Number(row.created_at),
    nsfw: row.nsfw,
    kind: row.kind,
    label: row.label,
    id: row.id,
    contentHash: row.content_hash,
    width: row.width,
    height: row.height,
  };
}

export function recordFromRow(row: RecordRow): ImageRecord {
  return { ...metadataFromRow(row), signature: new Uint8Array(row.signature) };
}

/** Parameters $2…$15 of the insert, after guild_id ($1). */
export function recordParameters(record: ImageRecord, embedding: string): unknown[] {
  return [
    record.guildId,
    record.id,
    record.channelId,
    record.messageId,
    record.sourceKey,
    record.authorId,
    record.createdAt,
    record.nsfw,
    record.kind,
    record.label,
    record.contentHash,
    record.width,
    record.height,
    Buffer.from(record.signature.buffer, record.signature.byteOffset, record.signature.byteLength),
    embedding,
  ];
}

/** pgvector's input syntax, `[0.1,0.2,…]`; the value is cast to the column type in SQL. */
export function vectorLiteral(vector: Float32Array): string {
  return `[${Array.prototype.join.call(vector, ',')}]`;
}

/** Parses `embedding::text` (vector or halfvec) back into floats. */
export function parseVector(text: string, dimensions: number): Float32Array {
  const values = JSON.parse(text) as unknown;
  if (!Array.isArray(values) || values.length !== dimensions) {
    throw new StoreError('INDEX_CORRUPT', `Stored vector has ${Array.isArray(values) ? values.length : 0} dimensions, expected ${dimensions}`, { dimensions });
  }
  return Float32Array.from(values as number[]);
}
