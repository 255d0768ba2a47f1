import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jumpLink, planDuplicateNotice } from '../../src/services/notices.ts';
import { DEFAULT_GUILD_SETTINGS } from '../../src/services/settings.ts';
import type { EarlierDuplicate, GuildSettings, IndexOutcome } from '../../src/services/types.ts';
import type { ImageRecord } from '../../src/store/types.ts';

const HOUR = 60 * 60 * 1000;
const NOW = Date.UTC(2026, 0, 10);
let nextId = 1;

function record(overrides: Partial<ImageRecord>): ImageRecord {
  const id = nextId++;
  return {
    guildId: 'g1', channelId: 'c1', messageId: `m${id}`, sourceKey: `a${id}`, authorId: 'alice', createdAt: NOW - 48 * HOUR,
    nsfw: false, kind: 'attachment', label: `image${id}.png`, id, contentHash: 'f'.repeat(64), width: 10, height: 10,
    signature: new Uint8Array(0), ...overrides,
  };
}

function match(original: ImageRecord, similarity: number, exact = false): EarlierDuplicate {
  return { record: original, similarity, cosine: similarity, exact, kind: 'repost' };
}

const newImage = (overrides: Partial<ImageRecord> = {}) => record({ messageId: 'new', authorId: 'bob', createdAt: NOW, ...overrides });

function indexed(recordOfImage: ImageRecord, duplicates: EarlierDuplicate[]): IndexOutcome {
  return { status: 'indexed', record: recordOfImage, duplicates, exactDuplicate: false, embedded: true, elapsedMs: 1, timings: { queueMs: 0, downloadMs: 0, embedMs: 1, detectMs: 0, addMs: 0 } };
}

function settingsWith(overrides: Partial<GuildSettings> = {}): GuildSettings {
  return { ...DEFAULT_GUILD_SETTINGS, ...overrides };
}

const everyone = () => true;

test('notice policy table', async (t) => {
  const original = record({ messageId: 'orig', authorId: 'alice' });
  const cases: Array<{ name: string; outcomes: IndexOutcome[]; settings?: Partial<GuildSettings>; canSee?: (m: EarlierDuplicate) => boolean; expect: string | string[] }> = [
    { name: 'a duplicate by another author → reply', outcomes: [indexed(newImage(), [match(original, 0.9)])], expect: ['orig'] },
    { name: 'no duplicates → none', outcomes: [indexed(newImage(), [])], expect: 'none' },
    { name: 'mode off → none', outcomes: [indexed(newImage(), [match(original, 0.9)])], settings: { noticeMode: 'off' }, expect: 'none' },
    { name: 'log mode without a channel → none', outcomes: [indexed(newImage(), [match(original, 0.9)])], settings: { noticeMode: 'log' }, expect: 'none' },
    {
      name: 'same message never counts',
      outcomes: [indexed(newImage({ messageId: 'new' }), [match(record({ messageId: 'new', authorId: 'carol' }), 0.99)])],
      expect: 'none',
    },
    {
      name: 'same author within the leeway → none',
      outcomes: [indexed(newImage({ authorId: 'alice' }), [match(record({ authorId: 'alice', createdAt: NOW - HOUR }), 0.95)])],
      expect: 'none',
    },
    {
      name: 'same author after the leeway → notice',
      outcomes: [indexed(newImage({ authorId: 'alice' }), [match(record({ messageId: 'old', authorId: 'alice', createdAt: NOW - 25 * HOUR }), 0.95)])],
      expect: ['old'],
    },
    {
      name: 'below the guild threshold → none',
      outcomes: [indexed(newImage(), [match(original, 0.8)])],
      settings: { duplicateThreshold: 0.85 },
      expect: 'none',
    },
    {
      name: 'audience cannot see the original → none',
      outcomes: [indexed(newImage(), [match(original, 0.9)])],
      canSee: () => false,
      expect: 'none',
    },
    {
      name: 'hidden originals are skipped, visible ones kept',
      outcomes: [indexed(newImage(), [match(record({ messageId: 'secret', channelId: 'private' }), 0.99), match(original, 0.9)])],
      canSee: (m) => m.record.channelId !== 'private',
      expect: ['orig'],
    },
    {
      name: 'several images of one message → one notice, best match per original message',
      outcomes: [
        indexed(newImage({ sourceKey: 'n1' }), [match(original, 0.8), match(record({ messageId: 'other' }), 0.7)]),
        indexed(newImage({ sourceKey: 'n2' }), [match({ ...original, sourceKey: 'a-other', id: 999 }, 0.95)]),
        { status: 'failed', source: newImage(), code: 'IMAGE_CORRUPT', error: undefined as never },
      ],
      expect: ['orig', 'other'],
    },
    {
      name: 'an exact copy ranks first',
      outcomes: [indexed(newImage(), [match(record({ messageId: 'near' }), 0.97), match(record({ messageId: 'exact' }), 0.96, true)])],
      expect: ['exact', 'near'],
    },
  ];
  for (const example of cases) {
    await t.test(example.name, async () => {
      const notice = await planDuplicateNotice({ outcomes: example.outcomes, settings: settingsWith(example.settings), audienceCanSee: example.canSee ?? everyone });
      if (example.expect === 'none') {
        assert.equal(notice.action, 'none', JSON.stringify(notice));
      } else {
        assert.ok(notice.action !== 'none', JSON.stringify(notice));
        assert.equal(notice.action, example.settings?.noticeMode ?? 'reply');
        assert.deepEqual(notice.matches.map((m) => m.record.messageId), example.expect);
        assert.equal(notice.message.messageId, 'new');
      }
    });
  }
  const merged = await planDuplicateNotice({ outcomes: cases[10]!.outcomes, settings: settingsWith(), audienceCanSee: everyone });
  assert.ok(merged.action !== 'none');
  assert.equal(merged.matches[0]!.similarity, 0.95, 'the best of the message images is the one listed');
});

test('log mode names its channel; at most five matches', async () => {
  const many = Array.from({ length: 8 }, (_, index) => match(record({ messageId: `o${index}` }), 0.9 - index / 100));
  const notice = await planDuplicateNotice({
    outcomes: [indexed(newImage(), many)],
    settings: settingsWith({ noticeMode: 'log', logChannelId: '42' }),
    audienceCanSee: async () => true,
  });
  assert.equal(notice.action, 'log');
  assert.ok(notice.action === 'log');
  assert.equal(notice.logChannelId, '42');
  assert.deepEqual(notice.matches.map((m) => m.record.messageId), ['o0', 'o1', 'o2', 'o3', 'o4']);
});

test('jump links', () => {
  assert.equal(jumpLink({ guildId: '1', channelId: '2', messageId: '3' }), 'https://discord.com/channels/1/2/3');
});
