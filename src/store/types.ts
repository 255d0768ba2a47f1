/** Metadata and vector storage contract shared by the CLI, the services and the bot. */
import type { ImageEmbedding } from '../embedding/types.ts';

export type SourceKind = 'attachment' | 'embed' | 'file';

/** Where an image came from. For the CLI, `sourceKey` is the file path and channel/message are empty. */
export interface ImageSource {
  guildId: string;
  channelId: string;
  messageId: string;
  /** Attachment id, or `embed:<n>` for the n-th embed of the message, or the file path for the CLI. */
  sourceKey: string;
  authorId: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** Whether the channel was age-restricted when the image was indexed. */
  nsfw: boolean;
  kind: SourceKind;
  /** Free text shown to users/CLI: file name or path. */
  label: string;
}

/** An image to add: where it came from, its bytes' sha256 and its embedding. */
export interface NewImage {
  source: ImageSource;
  contentHash: string;
  embedding: ImageEmbedding;
}

export interface ImageRecord extends ImageSource {
  /** Numeric label of the vector in the guild's index; unique within the guild. */
  id: number;
  /** sha256 of the original bytes, hex. */
  contentHash: string;
  width: number;
  height: number;
  /** Duplicate-verification signature (see ImageEmbedding.signature). */
  signature: Uint8Array;
}

/**
 * An image record without its signature: what a search filter sees. Loaded guilds keep this much of every
 * record in RAM so filters run synchronously inside the vector search; signatures (1 KB each) stay in keyv
 * and come back with the results.
 */
export type RecordMetadata = Omit<ImageRecord, 'signature'>;

export interface ScoredRecord {
  record: ImageRecord;
  /** Cosine similarity in [-1, 1]. */
  score: number;
}

export interface SearchOptions {
  k: number;
  /** Only records for which this returns true are returned (permissions, NSFW, excluding the query). */
  filter?: (record: RecordMetadata) => boolean;
}

export interface GuildStats {
  id: string;
  images: number;
}

/**
 * One store for all guilds; every call names its guild and nothing crosses guilds.
 * A promise that resolves means the change is durable (survives SIGKILL).
 */
export interface ImageStore {
  /** Adds an image; idempotent on (guildId, sourceKey): adding the same source again returns the existing record. */
  add(source: ImageSource, contentHash: string, embedding: ImageEmbedding): Promise<ImageRecord>;
  /**
   * Adds images of one guild with one durable write for all of them (bulk indexing: one fsync or one
   * transaction instead of one per image). Each image behaves as in `add`, a sourceKey repeated in the list
   * included; the records come back in the order given. All or nothing: when it rejects, none was added.
   */
  addMany(images: readonly NewImage[]): Promise<ImageRecord[]>;
  getBySource(guildId: string, sourceKey: string): Promise<ImageRecord | undefined>;
  /** Records whose bytes were identical (exact duplicates, no vector work). */
  findByHash(guildId: string, contentHash: string): Promise<ImageRecord[]>;
  /** Best first. */
  findSimilar(guildId: string, vector: Float32Array, options: SearchOptions): Promise<ScoredRecord[]>;
  /** The stored vector of a record (for "similar to this indexed image"). */
  getVector(guildId: string, id: number): Promise<Float32Array | undefined>;
  /** Every record of a guild (order unspecified), read in chunks; for `dejavu dupes` and re-checks. */
  listRecords(guildId: string): AsyncIterable<ImageRecord>;
  removeMessage(guildId: string, messageId: string): Promise<number>;
  removeChannel(guildId: string, channelId: string): Promise<number>;
  removeGuild(guildId: string): Promise<number>;
  /**
   * Removes every image a member posted in the guild (they asked to be forgotten) and returns how many.
   * Forgetting is meant to be real: when it resolves, no stored form of those vectors is left — the file
   * store has compacted the guild's index and rewritten its snapshot, which also empties its journal;
   * PostgreSQL has deleted the rows (and their reduced points).
   */
  removeAuthor(guildId: string, authorId: string): Promise<number>;
  stats(): Promise<GuildStats[]>;
  /** Writes snapshots of dirty indexes. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
