import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { GuildIndex, type GuildIndexOptions } from '../../src/store/guild-index.ts';
import type { ImageRecord } from '../../src/store/types.ts';
import { embeddingOf, randomUnitVector, seededRandom, sha256, sourceOf, temporaryDir } from './helpers.ts';

const D = 32;
const options = (overrides: Partial<GuildIndexOptions> = {}): GuildIndexOptions => ({
  guildId: 'g1',
  variant: 'test-variant',
  dimensions: D,
  policy: { exactMaxSize: 20, hnsw: { m: 8, efConstruction: 50, efSearch: 32 } },
  ...overrides,
});

function recordFor(guild: GuildIndex, n: number): ImageRecord {
  const source = sourceOf('g1', n);
  const embedding = embeddingOf(new Float32Array(D), n);
  return { ...source, id: guild.allocateId(), contentHash: sha256(`bytes-${n}`), width: embedding.width, height: embedding.height, signature: embedding.signature };
}

test('guild index: journal replay restores adds and removes made after the last snapshot', async (t) => {
  const dir = join(temporaryDir(t), 'g1');
  const random = seededRandom(1);
  const vectors = new Map<number, Float32Array>();
  const { guild } = await GuildIndex.open(dir, options());
  for (let n = 0; n < 30; n++) {
    const record = recordFor(guild, n);
    const vector = randomUnitVector(random, D);
    vectors.set(record.id, vector);
    await guild.add(record, vector);
    if (n === 9) await guild.snapshot();
  }
  await guild.remove([3, 15]);
  // No close(): simulate a crash by reopening from the files as they are.
  const { guild: reopened, replayed } = await GuildIndex.open(dir, options());
  assert.equal(replayed.length, 21); // adds 11..30 and one removal after the snapshot at seq 10
  assert.equal(reopened.size, 28);
  assert.equal(reopened.indexKind, 'hnsw'); // 30 > exactMaxSize
  assert.equal(reopened.get(3), undefined);
  assert.equal(reopened.getBySource('a5')?.id, 6);
  assert.deepEqual(reopened.idsByHash(sha256('bytes-7')), [8]);
  assert.equal(reopened.search(vectors.get(20) ?? assert.fail(), 1)[0]?.id, 20);
  assert.equal(reopened.allocateId(), 31);
  await reopened.close();
  await guild.close();
});

test('guild index: snapshot is atomic and leaves only the manifest, current files and an empty journal', async (t) => {
  const dir = join(temporaryDir(t), 'g1');
  const { guild } = await GuildIndex.open(dir, options());
  const random = seededRandom(2);
  for (let n = 0; n < 5; n++) await guild.add(recordFor(guild, n), randomUnitVector(random, D));
  await guild.exclusive(() => guild.close());
  const files = readdirSync(dir).sort();
  assert.deepEqual(files, ['index-5.exact', 'journal.log', 'manifest.json', 'records-5.jsonl']);
  assert.equal(readFileSync(join(dir, 'journal.log'), 'utf8'), '');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { variant: string; dimensions: number; count: number };
  assert.deepEqual([manifest.variant, manifest.dimensions, manifest.count], ['test-variant', D, 5]);
  const { guild: reopened, replayed } = await GuildIndex.open(dir, options());
  assert.equal(replayed.length, 0);
  assert.equal(reopened.size, 5);
  await reopened.close();
});

test('guild index: opening with another embedding variant fails with INDEX_VARIANT_MISMATCH', async (t) => {
  const dir = join(temporaryDir(t), 'g1');
  const { guild } = await GuildIndex.open(dir, options());
  await guild.close();
  await assert.rejects(GuildIndex.open(dir, options({ variant: 'other-model' })), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'INDEX_VARIANT_MISMATCH');
    assert.match(error.message, /test-variant.*other-model/);
    return true;
  });
  await assert.rejects(GuildIndex.open(dir, options({ dimensions: 64 })), { code: 'INDEX_VARIANT_MISMATCH' });
});

test('guild index: compaction at snapshot time drops deleted HNSW nodes and falls back to exact when small', async (t) => {
  const dir = join(temporaryDir(t), 'g1');
  const { guild } = await GuildIndex.open(dir, options());
  const random = seededRandom(3);
  for (let n = 0; n < 40; n++) await guild.add(recordFor(guild, n), randomUnitVector(random, D));
  assert.equal(guild.indexKind, 'hnsw');
  await guild.remove(Array.from({ length: 30 }, (_, i) => i + 1));
  await guild.snapshot();
  assert.equal(guild.indexKind, 'exact');
  assert.equal(guild.size, 10);
  await guild.close();
});

test('guild index: rejects guild ids that could escape the data directory', async (t) => {
  const dir = temporaryDir(t);
  await assert.rejects(GuildIndex.open(join(dir, 'x'), options({ guildId: '../evil' })), { code: 'INVALID_INPUT' });
});
