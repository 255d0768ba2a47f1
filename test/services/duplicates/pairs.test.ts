/**
 * `dejavu dupes`' pair finder over a real store: edited copies of one photo come out as pairs (each pair once),
 * another photo of the same building and unrelated photos do not.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { findDuplicatePairs } from '../../../src/cli/commands/dupes.ts';
import { createEmbedder, defaultEmbedderOptions } from '../../../src/embedding/index.ts';
import { DEFAULT_DUPLICATE_SETTINGS } from '../../../src/services/duplicates/index.ts';
import { openFileStore } from '../../../src/store/file-store.ts';
import { oxfordImage, readOxfordGroups, requireShared, SHARED_MODEL_DIR } from '../../helpers/shared.ts';

test('every reported pair is a true duplicate, and each comes once', async (t) => {
  if (!requireShared(t)) return;
  const { groups, distractors } = readOxfordGroups();
  const group = groups[1]!;
  // img_0406 / img_0506: two photos of the Radcliffe Camera from nearly the same spot (sources.json).
  const files = [...group, 'img_0406.jpg', 'img_0506.jpg', ...distractors.slice(0, 2)];
  const dataDir = await mkdtemp(join(tmpdir(), 'dejavu-dupes-'));
  const embedder = await createEmbedder(defaultEmbedderOptions({ modelDir: SHARED_MODEL_DIR, workers: 0 }));
  const store = await openFileStore({ dataDir, variant: embedder.variant, snapshotIntervalMs: 0 });
  try {
    for (const [index, file] of files.entries()) {
      const bytes = oxfordImage(file);
      const embedding = await embedder.embed(bytes);
      const source = { guildId: '1', channelId: '', messageId: '', sourceKey: file, authorId: '', createdAt: index, nsfw: false, kind: 'file' as const, label: file };
      await store.add(source, createHash('sha256').update(bytes).digest('hex'), embedding);
    }
    const pairs = await findDuplicatePairs(store, '1', DEFAULT_DUPLICATE_SETTINGS.threshold);
    const keys = pairs.map((pair) => [pair.a, pair.b].sort().join('+'));
    assert.equal(new Set(keys).size, keys.length, 'a pair was reported twice');
    for (const pair of pairs) {
      assert.ok(group.includes(pair.a) && group.includes(pair.b), `false duplicate ${pair.a} ~ ${pair.b}`);
      assert.ok(pair.score >= DEFAULT_DUPLICATE_SETTINGS.threshold && pair.score <= 1);
    }
    // The original is linked to each of its 3 edited copies.
    for (const copy of group.slice(1)) assert.ok(keys.includes([group[0]!, copy].sort().join('+')), `missed ${group[0]} ~ ${copy}`);
    // Nothing leaks from another guild.
    assert.deepEqual(await findDuplicatePairs(store, '2', DEFAULT_DUPLICATE_SETTINGS.threshold), []);
  } finally {
    await store.close();
    await embedder.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
