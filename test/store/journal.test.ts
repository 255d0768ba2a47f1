import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeEntry, Journal, type JournalEntry } from '../../src/store/journal.ts';
import { temporaryDir } from './helpers.ts';

async function expectEntries(path: string, expected: JournalEntry[]): Promise<void> {
  const { journal, entries } = await Journal.open(path);
  await journal.close();
  assert.deepEqual(entries, expected);
}

const entry = (seq: number): JournalEntry => ({ seq, op: 'remove', ids: [seq, seq + 1] });

test('journal: appended entries come back in order after reopening', async (t) => {
  const path = join(temporaryDir(t), 'journal.log');
  const { journal, entries } = await Journal.open(path);
  assert.deepEqual(entries, []);
  await journal.append([entry(1), entry(2)]);
  await journal.append([entry(3)]);
  await journal.close();
  const reopened = await Journal.open(path);
  assert.deepEqual(reopened.entries, [entry(1), entry(2), entry(3)]);
  await reopened.journal.close();
});

test('journal: a torn last line is ignored and cut off; later appends stay readable', async (t) => {
  const path = join(temporaryDir(t), 'journal.log');
  writeFileSync(path, encodeEntry(entry(1)) + encodeEntry(entry(2)).slice(0, 20));
  const { journal, entries } = await Journal.open(path);
  assert.deepEqual(entries, [entry(1)]);
  assert.equal(readFileSync(path, 'utf8'), encodeEntry(entry(1)));
  await journal.append([entry(2)]);
  await journal.close();
  await expectEntries(path, [entry(1), entry(2)]);
});

test('journal: a complete line with a bad checksum ends the replay there', async (t) => {
  const path = join(temporaryDir(t), 'journal.log');
  const corrupted = encodeEntry(entry(2)).replace('[2,3]', '[2,4]');
  writeFileSync(path, encodeEntry(entry(1)) + corrupted);
  appendFileSync(path, encodeEntry(entry(3)));
  const { journal, entries } = await Journal.open(path);
  assert.deepEqual(entries, [entry(1)]);
  await journal.close();
});

test('journal: clear empties it', async (t) => {
  const path = join(temporaryDir(t), 'journal.log');
  const { journal } = await Journal.open(path);
  await journal.append([entry(1)]);
  await journal.clear();
  await journal.append([entry(2)]);
  await journal.close();
  await expectEntries(path, [entry(2)]);
});
