/**
 * A guild's record metadata in RAM with its lookup maps (by id, source, content hash, message), so search
 * filters and duplicate lookups run inline without a read from keyv.
 */
import type { RecordMetadata } from './types.ts';

export class GuildRecords {
  private readonly byId = new Map<number, RecordMetadata>();
  private readonly bySource = new Map<string, number>();
  private readonly byHash = new Map<string, number[]>();
  private readonly byMessage = new Map<string, number[]>();

  get size(): number {
    return this.byId.size;
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  get(id: number): RecordMetadata | undefined {
    return this.byId.get(id);
  }

  getBySource(sourceKey: string): RecordMetadata | undefined {
    const id = this.bySource.get(sourceKey);
    return id === undefined ? undefined : this.byId.get(id);
  }

  idsByHash(contentHash: string): number[] {
    return [...(this.byHash.get(contentHash) ?? [])];
  }

  idsByMessage(messageId: string): number[] {
    return [...(this.byMessage.get(messageId) ?? [])];
  }

  idsByChannel(channelId: string): number[] {
    const ids: number[] = [];
    for (const record of this.byId.values()) if (record.channelId === channelId) ids.push(record.id);
    return ids;
  }

  idsByAuthor(authorId: string): number[] {
    const ids: number[] = [];
    for (const record of this.byId.values()) if (record.authorId === authorId) ids.push(record.id);
    return ids;
  }

  ids(): number[] {
    return [...this.byId.keys()];
  }

  values(): IterableIterator<RecordMetadata> {
    return this.byId.values();
  }

  add(record: RecordMetadata): void {
    this.byId.set(record.id, record);
    this.bySource.set(record.sourceKey, record.id);
    push(this.byHash, record.contentHash, record.id);
    if (record.messageId !== '') push(this.byMessage, record.messageId, record.id);
  }

  remove(record: RecordMetadata): void {
    this.byId.delete(record.id);
    if (this.bySource.get(record.sourceKey) === record.id) this.bySource.delete(record.sourceKey);
    pull(this.byHash, record.contentHash, record.id);
    pull(this.byMessage, record.messageId, record.id);
  }
}

function push(map: Map<string, number[]>, key: string, id: number): void {
  const ids = map.get(key);
  if (ids === undefined) map.set(key, [id]);
  else if (!ids.includes(id)) ids.push(id);
}

function pull(map: Map<string, number[]>, key: string, id: number): void {
  const ids = map.get(key);
  if (ids === undefined) return;
  const rest = ids.filter((other) => other !== id);
  if (rest.length === 0) map.delete(key);
  else map.set(key, rest);
}
