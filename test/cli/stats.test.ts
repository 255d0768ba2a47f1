import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openFileStore } from '../../src/store/file-store.ts';
import { embeddingOf, randomUnitVector, seededRandom, sha256, sourceOf } from '../store/helpers.ts';
import { dejavu } from './cli-fixture.ts';

test('dejavu stats --json: images per guild and the backend, without loading a model', async () => {
  const root = mkdtempSync(join(tmpdir(), 'dejavu-cli-stats-'));
  try {
    const dataDir = join(root, 'data');
    const store = await openFileStore({ dataDir, variant: 'any-variant', snapshotIntervalMs: 0 });
    const random = seededRandom(1);
    for (let n = 0; n < 3; n++) await store.add(sourceOf('123', n), sha256(`a${n}`), embeddingOf(randomUnitVector(random, 1280)));
    await store.add(sourceOf('456', 0), sha256('b'), embeddingOf(randomUnitVector(random, 1280)));
    // No close(): the last adds are only in the journals, as after a crash; stats must still count them.
    await store.flush();
    await store.add(sourceOf('456', 1), sha256('c'), embeddingOf(randomUnitVector(random, 1280)));

    const { stdout } = await dejavu(['stats', '--data', dataDir, '--json'], root);
    assert.deepEqual(JSON.parse(stdout), { guilds: [{ id: '123', images: 3 }, { id: '456', images: 2 }], backend: 'sqlite' });
    await store.close();

    const empty = await dejavu(['stats', '--data', join(root, 'empty'), '--json'], root);
    assert.deepEqual(JSON.parse(empty.stdout), { guilds: [], backend: 'sqlite' });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
