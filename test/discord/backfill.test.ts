/** src/discord/backfill.ts: the progress message of a backfill. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, progressBar, progressText } from '../../src/discord/backfill.ts';
import { translate } from '../../src/discord/i18n.ts';

test('backfill progress text has a bar, counts and an ETA', () => {
  const t = translate('en');
  assert.equal(progressBar(0.5), `\`${'█'.repeat(10)}${'░'.repeat(10)}\``);
  const text = progressText(t, { channelsDone: 1, channelsTotal: 2, messages: 300, images: 120, current: null, startedAt: 0 }, false, 10_000);
  assert.match(text, /50%/);
  assert.match(text, /1\/2/);
  assert.match(text, /300/);
  assert.match(text, /10 s/);
});

test('backfill durations use the reader\'s units: s/min/h in English, 秒/分/時間 in Japanese', () => {
  const en = translate('en');
  const ja = translate('ja');
  assert.equal(formatDuration(en, 42), '42 s');
  assert.equal(formatDuration(en, 200), '3 min 20 s');
  assert.equal(formatDuration(en, 7380), '2 h 3 min');
  assert.equal(formatDuration(ja, 42), '42秒');
  assert.equal(formatDuration(ja, 200), '3分20秒');
  assert.equal(formatDuration(ja, 7380), '2時間3分');
  const text = progressText(ja, { channelsDone: 1, channelsTotal: 4, messages: 300, images: 120, current: null, startedAt: 0 }, false, 600_000);
  assert.match(text, /残り時間：30分0秒/);
  assert.doesNotMatch(text, /\d (s|min|h)\b/);
});
