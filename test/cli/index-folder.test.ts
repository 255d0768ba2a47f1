import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { requireShared } from '../helpers/shared.ts';
import { dejavu, makePhotoFolder } from './cli-fixture.ts';

test('dejavu index: indexes a folder recursively, skips content duplicates, re-runs skip everything', async (t) => {
  if (!requireShared(t)) return;
  const folder = makePhotoFolder();
  try {
    const first = await dejavu(['index', folder.photos, '--data', folder.dataDir], folder.root);
    const counts = JSON.parse(first.stdout) as { indexed: number; skipped: number; failed: number; seconds: number };
    // 6 photos; the byte-identical copy is skipped; broken.jpg fails (reported on stderr); notes.txt ignored.
    assert.deepEqual({ ...counts, seconds: 0 }, { indexed: 6, skipped: 1, failed: 1, seconds: 0 });
    assert.ok(counts.seconds > 0);
    assert.match(first.stderr, /broken\.jpg: IMAGE_/);

    const again = JSON.parse((await dejavu(['index', folder.photos, '--data', folder.dataDir], folder.root)).stdout) as typeof counts;
    assert.deepEqual({ ...again, seconds: 0 }, { indexed: 0, skipped: 7, failed: 1, seconds: 0 });

    const otherGuild = JSON.parse((await dejavu(['index', folder.photos, '--data', folder.dataDir, '--guild', 'g2'], folder.root)).stdout) as typeof counts;
    assert.equal(otherGuild.indexed, 6);
  } finally {
    rmSync(folder.root, { recursive: true, force: true });
  }
});
