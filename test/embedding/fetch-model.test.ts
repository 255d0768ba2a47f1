import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { findBadModelFiles } from '../../scripts/fetch-model.ts';
import { requireShared, SHARED_DIR } from '../helpers/shared.ts';

const ORIGINAL_MODEL_DIR = join(SHARED_DIR, 'models', 'efficientnet-b0-imagenet-tfjs', 'original-graph-model');

test('the pinned sha256 values match the published model, and a tampered or missing file is reported', async (t) => {
  if (!requireShared(t)) return;
  assert.deepEqual(await findBadModelFiles(ORIGINAL_MODEL_DIR), []);
  const scratch = mkdtempSync(join(tmpdir(), 'dejavu-pin-test-'));
  try {
    for (const name of readdirSync(ORIGINAL_MODEL_DIR)) copyFileSync(join(ORIGINAL_MODEL_DIR, name), join(scratch, name));
    writeFileSync(join(scratch, 'group1-shard6of6.bin'), Buffer.alloc(98716));
    rmSync(join(scratch, 'model.json'));
    assert.deepEqual((await findBadModelFiles(scratch)).sort(), ['group1-shard6of6.bin', 'model.json']);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});
