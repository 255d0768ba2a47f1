/**
 * Append-only journal of a guild's changes since its last snapshot. One line per entry:
 * `<crc32 hex> <json>\n`. An entry is acknowledged only after its line is fsync'd. On open, lines are read
 * until the first one that is incomplete or fails its checksum (a write torn by a crash, never acknowledged)
 * and the file is cut back to the last good line so new entries never follow garbage.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { open, readFile, truncate, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import type { StoredRecord } from './records.ts';

export type JournalEntry =
  | { seq: number; op: 'add'; record: StoredRecord; vector: string }
  | { seq: number; op: 'remove'; ids: number[] };

export function encodeEntry(entry: JournalEntry): string {
  const json = JSON.stringify(entry);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

/** Parses journal text; returns the good entries and the byte length of the good prefix. */
export function decodeJournal(text: string): { entries: JournalEntry[]; goodBytes: number } {
  const entries: JournalEntry[] = [];
  let position = 0;
  let goodBytes = 0;
  while (position < text.length) {
    const end = text.indexOf('\n', position);
    if (end < 0) break; // no newline: torn last line
    const line = text.slice(position, end);
    const json = line.slice(9);
    if (line[8] !== ' ' || crc32(json).toString(16).padStart(8, '0') !== line.slice(0, 8)) break;
    entries.push(JSON.parse(json) as JournalEntry);
    position = end + 1;
    goodBytes += Buffer.byteLength(line, 'utf8') + 1;
  }
  return { entries, goodBytes };
}

export class Journal {
  private constructor(
    readonly path: string,
    private file: FileHandle,
  ) {}

  /** Opens (creating if needed) and returns the good entries; a torn tail is cut off. */
  static async open(path: string): Promise<{ journal: Journal; entries: JournalEntry[] }> {
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const { entries, goodBytes } = decodeJournal(text);
    if (goodBytes < Buffer.byteLength(text, 'utf8')) {
      await truncate(path, goodBytes);
      syncPath(path);
    }
    const file = await open(path, 'a');
    return { journal: new Journal(path, file), entries };
  }

  /** Appends entries and returns once they are on disk. */
  async append(entries: readonly JournalEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.file.write(entries.map(encodeEntry).join(''));
    await this.file.datasync();
  }

  /** Empties the journal (its entries are in a durable snapshot now). */
  async clear(): Promise<void> {
    await this.file.truncate(0);
    await this.file.sync();
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}

export function syncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
