/**
 * Duplicate-notice moderation without Discord: the notice policy for same-template matches and reported
 * pairs, and the "Not a repost" report store on a real keyv (SQLite in a temp folder).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { planDuplicateNotice } from '../../src/services/notices.ts';
import { KeyvReportStore, REPORTS_NAMESPACE, type PostedNotice } from '../../src/services/reports.ts';
import { DEFAULT_GUILD_SETTINGS } from '../../src/services/settings.ts';
import type { EarlierDuplicate, GuildSettings, IndexOutcome } from '../../src/services/types.ts';
import { createKeyv } from '../../src/store/keyv.ts';
import type { ImageRecord } from '../../src/store/types.ts';

const HOUR = 60 * 60 * 1000;
const NOW = Date.UTC(2026, 0, 10);
let nextId = 1;

function record(overrides: Partial<ImageRecord>): ImageRecord {
  const id = nextId++;
  return {
    guildId: 'g1', channelId: 'c1', messageId: `m${id}`, sourceKey: `a${id}`, authorId: 'alice', createdAt: NOW - 48 * HOUR,
    nsfw: false, kind: 'attachment', label: `image${id}.png`, id, contentHash: `hash${id}`, width: 10, height: 10,
    signature: new Uint8Array(0), ...overrides,
  };
}

function match(original: ImageRecord, kind: EarlierDuplicate['kind'], similarity = 0.9): EarlierDuplicate {
  return { record: original, similarity, cosine: similarity, exact: false, kind };
}

function indexed(image: ImageRecord, duplicates: EarlierDuplicate[]): IndexOutcome {
  return { status: 'indexed', record: image, duplicates, exactDuplicate: false, embedded: true, elapsedMs: 1, timings: { queueMs: 0, downloadMs: 0, embedMs: 1, detectMs: 0, addMs: 0 } };
}

function settingsWith(overrides: Partial<GuildSettings> = {}): GuildSettings {
  return { ...DEFAULT_GUILD_SETTINGS, ...overrides };
}

const newImage = () => record({ messageId: 'new', authorId: 'bob', createdAt: NOW, contentHash: 'new-hash' });
const everyone = () => true;

test('same-template matches: nothing with ignore (the default), a template note with note', async () => {
  assert.equal(DEFAULT_GUILD_SETTINGS.templateMatches, 'ignore');
  const template = record({ messageId: 'template' });
  const outcomes = [indexed(newImage(), [match(template, 'template')])];
  const ignored = await planDuplicateNotice({ outcomes, settings: settingsWith(), audienceCanSee: everyone });
  assert.equal(ignored.action, 'none');
  const noted = await planDuplicateNotice({ outcomes, settings: settingsWith({ templateMatches: 'note' }), audienceCanSee: everyone });
  assert.ok(noted.action === 'reply', 'a reply in the default mode');
  assert.equal(noted.kind, 'template');
  assert.deepEqual(noted.matches.map((entry) => entry.record.messageId), ['template']);
});

test('a real repost wins: the notice is a repost notice listing only reposts', async () => {
  const template = record({ messageId: 'template' });
  const repost = record({ messageId: 'repost' });
  const outcomes = [indexed(newImage(), [match(template, 'template', 0.99), match(repost, 'repost', 0.85)])];
  const notice = await planDuplicateNotice({ outcomes, settings: settingsWith({ templateMatches: 'note' }), audienceCanSee: everyone });
  assert.ok(notice.action !== 'none');
  assert.equal(notice.kind, 'repost');
  assert.deepEqual(notice.matches.map((entry) => entry.record.messageId), ['repost']);
  // The same original matched both ways (two images of one message): the repost verdict is the one kept.
  const both = [indexed(newImage(), [match(repost, 'template', 0.99)]), indexed(record({ messageId: 'new', authorId: 'bob', createdAt: NOW }), [match(repost, 'repost', 0.8)])];
  const merged = await planDuplicateNotice({ outcomes: both, settings: settingsWith({ templateMatches: 'note' }), audienceCanSee: everyone });
  assert.ok(merged.action !== 'none');
  assert.equal(merged.kind, 'repost');
});

test('reported pairs are skipped; the notice carries the pairs it listed', async () => {
  const first = record({ messageId: 'first', contentHash: 'first-hash' });
  const second = record({ messageId: 'second', contentHash: 'second-hash' });
  const outcomes = [indexed(newImage(), [match(first, 'repost', 0.95), match(second, 'repost', 0.9)])];
  const notice = await planDuplicateNotice({
    outcomes,
    settings: settingsWith(),
    audienceCanSee: everyone,
    isSuppressed: (candidate, image) => image.contentHash === 'new-hash' && candidate.record.contentHash === 'first-hash',
  });
  assert.ok(notice.action !== 'none');
  assert.deepEqual(notice.matches.map((entry) => entry.record.messageId), ['second']);
  assert.deepEqual(notice.pairs, [{ imageHash: 'new-hash', originalHash: 'second-hash', originalMessageId: 'second', originalChannelId: 'c1' }]);
  const none = await planDuplicateNotice({ outcomes, settings: settingsWith(), audienceCanSee: everyone, isSuppressed: () => true });
  assert.equal(none.action, 'none');
});

test('report store: a report suppresses its pairs either way round, counts, lists, and undo takes it back', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'dejavu-reports-'));
  const keyv = createKeyv<unknown>({ dataDir }, REPORTS_NAMESPACE);
  try {
    const reports = new KeyvReportStore(keyv);
    const notice: PostedNotice = {
      guildId: '1', channelId: '2', messageId: '3', posterId: '4', noticeChannelId: '2', noticeMessageId: '5', postedAt: NOW,
      pairs: [{ imageHash: 'aa', originalHash: 'bb', originalMessageId: '6', originalChannelId: '2' }],
    };
    await reports.rememberNotice(notice);
    assert.deepEqual(await reports.notice('1', '3'), notice);
    assert.equal(await reports.isSuppressed('1', 'aa', 'bb'), false);
    const report = await reports.report(notice, '4', NOW);
    assert.equal(await reports.isSuppressed('1', 'aa', 'bb'), true);
    assert.equal(await reports.isSuppressed('1', 'bb', 'aa'), true, 'either order');
    assert.equal(await reports.isSuppressed('other-guild', 'aa', 'bb'), false, 'per guild');
    assert.equal(await reports.notice('1', '3'), undefined, 'a reported notice cannot be reported twice');
    assert.equal(await reports.falsePositives('1'), 1);

    // A second report of the same pair owns it: undoing the first keeps the pair suppressed.
    const again = await reports.report({ ...notice, messageId: '7', noticeMessageId: '8' }, '9', NOW + 1);
    assert.deepEqual((await reports.recent('1')).map((entry) => entry.id), [again.id, report.id]);
    assert.equal((await reports.undo('1', report.id, '10'))?.undoneBy, '10');
    assert.equal(await reports.isSuppressed('1', 'aa', 'bb'), true);
    assert.equal(await reports.falsePositives('1'), 1);
    assert.equal(await reports.undo('1', report.id, '10'), undefined, 'an undone report cannot be undone again');
    await reports.undo('1', again.id, '10');
    assert.equal(await reports.isSuppressed('1', 'aa', 'bb'), false);
    assert.equal(await reports.falsePositives('1'), 0);
    assert.ok((await reports.recent('1')).every((entry) => entry.undoneAt !== null));

    await reports.report({ ...notice, messageId: '11', noticeMessageId: '12' }, '4');
    await reports.forgetGuild('1');
    assert.equal(await reports.isSuppressed('1', 'aa', 'bb'), false);
    assert.deepEqual(await reports.recent('1'), []);
  } finally {
    await keyv.disconnect();
    await rm(dataDir, { recursive: true, force: true });
  }
});
