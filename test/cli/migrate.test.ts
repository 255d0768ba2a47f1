/**
 * `dejavu migrate` through the real CLI: hnsw → hnsw between two data directories (always), and
 * hnsw → postgres → hnsw round trips against the PostgreSQL in TEST_POSTGRES_URL (skipped visibly without it;
 * each run uses its own schema, dropped afterwards).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { command } from '../../src/cli/commands/migrate.ts';
import { openFileStore } from '../../src/store/file-store.ts';
import type { ImageRecord, ImageStore } from '../../src/store/types.ts';
import { embeddingOf, randomUnitVector, seededRandom, sha256, sourceOf } from '../store/helpers.ts';
import { requireServer } from '../helpers/servers.ts';

const execFileAsync = promisify(execFile);
const BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'dejavu.js');
const VARIANT = 'test-migrate-variant/v1';
const OTHER_VARIANT = 'older-model/v0';
const POSTGRES_URL = process.env.TEST_POSTGRES_URL;
const runId = `${process.pid}_${Date.now()}`;

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function scratch(): string {
  const root = mkdtempSync(join(tmpdir(), 'dejavu-cli-migrate-'));
  roots.push(root);
  return root;
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function migrate(args: string[], cwd: string, env: Record<string, string> = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [BIN, 'migrate', ...args], {
      cwd,
      env: { ...process.env, EMBEDDER_URL: '', KEYV_URL: '', LOG_LEVEL: 'warn', DATABASE_URL: '', ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

interface Summary {
  guilds: Array<{ id: string; images: number; copied: number; skipped: number; failed: number; error?: string }>;
  copied: number;
  skipped: number;
  failed: number;
}

function summary(result: CliResult): Summary {
  assert.ok(result.stdout.trim().length > 0, `stdout has the summary (stderr: ${result.stderr})`);
  return JSON.parse(result.stdout) as Summary;
}

/** A file store with `counts[guild]` images per guild (seeded random vectors), closed again. */
async function buildHnswStore(dataDir: string, counts: Record<string, number>, variant = VARIANT, seed = 1): Promise<void> {
  const store = await openFileStore({ dataDir, variant, snapshotIntervalMs: 0 });
  const random = seededRandom(seed);
  for (const [guildId, count] of Object.entries(counts)) {
    for (let n = 0; n < count; n++) {
      await store.add(sourceOf(guildId, n, { sourceKey: `${guildId}-a${n}` }), sha256(`${guildId}:${n}:${seed}`), embeddingOf(randomUnitVector(random, 1280), n));
    }
  }
  await store.close();
}

interface Snapshot {
  record: Omit<ImageRecord, 'id'>;
  vector: Float32Array;
}

/** Every record of a guild with its vector, keyed by sourceKey (ids differ between stores by design). */
async function snapshotGuild(store: ImageStore, guildId: string): Promise<Map<string, Snapshot>> {
  const found = new Map<string, Snapshot>();
  for await (const record of store.listRecords(guildId)) {
    const vector = await store.getVector(guildId, record.id);
    assert.ok(vector, `vector of ${record.sourceKey}`);
    const { id: _id, ...rest } = record;
    found.set(record.sourceKey, { record: rest, vector });
  }
  return found;
}

async function snapshotHnsw(dataDir: string, guildIds: string[], variant = VARIANT): Promise<Map<string, Map<string, Snapshot>>> {
  const store = await openFileStore({ dataDir, variant, snapshotIntervalMs: 0 });
  try {
    const all = new Map<string, Map<string, Snapshot>>();
    for (const guildId of guildIds) all.set(guildId, await snapshotGuild(store, guildId));
    return all;
  } finally {
    await store.close();
  }
}

function assertSameContent(actual: Map<string, Map<string, Snapshot>>, expected: Map<string, Map<string, Snapshot>>, tolerance: number): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [guildId, records] of expected) {
    const copy = actual.get(guildId)!;
    assert.equal(copy.size, records.size, `guild ${guildId} has every image`);
    for (const [sourceKey, original] of records) {
      const migrated = copy.get(sourceKey);
      assert.ok(migrated, `${guildId}/${sourceKey} migrated`);
      assert.deepEqual(migrated.record, original.record);
      let worst = 0;
      for (let i = 0; i < original.vector.length; i++) worst = Math.max(worst, Math.abs(original.vector[i]! - migrated.vector[i]!));
      assert.ok(worst <= tolerance, `${guildId}/${sourceKey}: vector differs by ${worst} (tolerance ${tolerance})`);
    }
  }
}

test('hnsw → hnsw: every guild copied with records, vectors and signatures; searchable in the target', async () => {
  const root = scratch();
  const source = join(root, 'source');
  const target = join(root, 'target');
  await buildHnswStore(source, { '111': 40, '222': 7 });

  const result = await migrate(['--from', 'hnsw', '--to', 'hnsw', '--data', source, '--to-data', target, '--variant', VARIANT], root);
  assert.equal(result.code, 0, result.stderr);
  const done = summary(result);
  assert.deepEqual(
    done.guilds.map(({ id, images, copied, skipped, failed }) => ({ id, images, copied, skipped, failed })),
    [
      { id: '111', images: 40, copied: 40, skipped: 0, failed: 0 },
      { id: '222', images: 7, copied: 7, skipped: 0, failed: 0 },
    ],
  );
  assert.match(result.stderr, /guild 111: 40\/40 \(40 copied, 0 already there, 0 failed\)/);
  assertSameContent(await snapshotHnsw(target, ['111', '222']), await snapshotHnsw(source, ['111', '222']), 1e-6);

  // The target answers searches: each source vector finds its own image first.
  const originals = await snapshotHnsw(source, ['222']);
  const store = await openFileStore({ dataDir: target, variant: VARIANT, snapshotIntervalMs: 0 });
  try {
    for (const [sourceKey, { vector }] of originals.get('222')!) {
      const [best] = await store.findSimilar('222', vector, { k: 1 });
      assert.equal(best?.record.sourceKey, sourceKey);
      assert.ok(best.score > 0.9999);
    }
  } finally {
    await store.close();
  }
});

test('hnsw → hnsw is resumable: a second run copies only what is missing', async () => {
  const root = scratch();
  const source = join(root, 'source');
  const target = join(root, 'target');
  await buildHnswStore(source, { '111': 12, '222': 5 });
  const base = ['--from', 'hnsw', '--to', 'hnsw', '--data', source, '--to-data', target, '--variant', VARIANT];

  // As if an earlier run stopped after guild 222.
  const partial = await migrate([...base, '--guild', '222'], root);
  assert.equal(partial.code, 0, partial.stderr);
  assert.deepEqual([summary(partial).copied, summary(partial).guilds.length], [5, 1]);

  const rest = await migrate(base, root);
  assert.equal(rest.code, 0, rest.stderr);
  assert.deepEqual([summary(rest).copied, summary(rest).skipped, summary(rest).failed], [12, 5, 0]);

  // New images in the source since: only they are copied.
  const store = await openFileStore({ dataDir: source, variant: VARIANT, snapshotIntervalMs: 0 });
  await store.add(sourceOf('111', 99, { sourceKey: '111-late' }), sha256('late'), embeddingOf(randomUnitVector(seededRandom(9), 1280)));
  await store.close();
  const again = await migrate(base, root);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual([summary(again).copied, summary(again).skipped], [1, 17]);
  assertSameContent(await snapshotHnsw(target, ['111', '222']), await snapshotHnsw(source, ['111', '222']), 1e-6);
});

test('a guild of another embedding variant is not copied, with a clear error and the --variant to use', async () => {
  const root = scratch();
  const source = join(root, 'source');
  const target = join(root, 'target');
  await buildHnswStore(source, { '111': 3 });
  await buildHnswStore(source, { '333': 4 }, OTHER_VARIANT, 2);

  const result = await migrate(['--from', 'hnsw', '--to', 'hnsw', '--data', source, '--to-data', target, '--variant', VARIANT], root);
  assert.equal(result.code, 1);
  const done = summary(result);
  assert.equal(done.guilds.find((guild) => guild.id === '111')?.copied, 3);
  const mismatch = done.guilds.find((guild) => guild.id === '333');
  assert.equal(mismatch?.copied, 0);
  assert.match(mismatch?.error ?? '', /^INDEX_VARIANT_MISMATCH: .*older-model\/v0.*--variant 'older-model\/v0' --guild 333/);
  assert.match(result.stderr, /1 guild\(s\) not migrated: 333/);

  // The hint works: that guild moves with its own variant.
  const fixed = await migrate(['--from', 'hnsw', '--to', 'hnsw', '--data', source, '--to-data', target, '--variant', OTHER_VARIANT, '--guild', '333'], root);
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.equal(summary(fixed).copied, 4);
  assertSameContent(await snapshotHnsw(target, ['333'], OTHER_VARIANT), await snapshotHnsw(source, ['333'], OTHER_VARIANT), 1e-6);
  // The target side too: a guild the target already holds with another variant is refused, never mixed.
  const mixedSource = join(root, 'mixed-source');
  const mixedTarget = join(root, 'mixed-target');
  await buildHnswStore(mixedSource, { '444': 2 });
  await buildHnswStore(mixedTarget, { '444': 1 }, OTHER_VARIANT, 3);
  const refused = await migrate(['--from', 'hnsw', '--to', 'hnsw', '--data', mixedSource, '--to-data', mixedTarget, '--variant', VARIANT], root);
  assert.equal(refused.code, 1);
  assert.match(summary(refused).guilds[0]?.error ?? '', /^INDEX_VARIANT_MISMATCH \(target\): Guild 444 was indexed with embedding variant "older-model\/v0".*remove guild 444 from the target/);
  assert.equal((await snapshotHnsw(mixedTarget, ['444'], OTHER_VARIANT)).get('444')?.size, 1);
});

test('refuses bad invocations with a clear message', async () => {
  const root = scratch();
  const source = join(root, 'source');
  await buildHnswStore(source, { '111': 1 });
  // Argument checks in-process (they fail before any store opens); the CLI's exit codes through the binary.
  await assert.rejects(command.run(['--from', 'hnsw', '--to', 'hnsw', '--data', source, '--to-data', source]), /source and target are the same data directory/);
  await assert.rejects(command.run(['--from', 'hnsw', '--to', 'hnsw', '--data', source]), /needs --to-data/);
  await assert.rejects(command.run(['--from', 'hnsw', '--to', 'faiss', '--data', source]), { code: 'INVALID_INPUT', message: /--to must be hnsw or postgres/ });
  await assert.rejects(command.run(['--from', 'hnsw', '--to', 'hnsw', '--data', source, '--to-data', join(root, 't'), '--concurrency', '0']), /--concurrency must be an integer/);
  const noDatabase = await migrate(['--from', 'hnsw', '--to', 'postgres', '--data', source, '--variant', VARIANT], root);
  assert.equal(noDatabase.code, 1);
  assert.match(noDatabase.stderr, /INVALID_INPUT: the postgres store needs a database \(--database-url or DATABASE_URL\)/);
  // Two file stores sharing one KEYV_URL would overwrite each other's records: refused unless --keyv-url '' says SQLite.
  const hnswPair = ['--from', 'hnsw', '--to', 'hnsw', '--data', source, '--to-data', join(root, 'target'), '--variant', VARIANT];
  const sharedKeyv = await migrate(hnswPair, root, { KEYV_URL: 'redis://127.0.0.1:1' });
  assert.equal(sharedKeyv.code, 1);
  assert.match(sharedKeyv.stderr, /unset KEYV_URL or pass --keyv-url ''/);
  const sqlite = await migrate([...hnswPair, '--keyv-url', ''], root, { KEYV_URL: 'redis://127.0.0.1:1' });
  assert.equal(sqlite.code, 0, sqlite.stderr);
  assert.equal(summary(sqlite).copied, 1);
  const usage = await migrate([], root);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /usage: dejavu migrate --from hnsw\|postgres --to hnsw\|postgres/);
});


async function dropSchema(schema: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

for (const vectorType of ['vector', 'halfvec'] as const) {
  test(`hnsw → postgres (${vectorType}) → hnsw round trip keeps every record; re-running skips`, async (t) => {
    if (requireServer(t, 'TEST_POSTGRES_URL') === undefined) return;
    const root = scratch();
    const source = join(root, 'source');
    const back = join(root, 'back');
    const schema = `dejavu_migrate_${vectorType}_${runId}`.toLowerCase();
    t.after(() => dropSchema(schema));
    await buildHnswStore(source, { '111': 25, '222': 6 });
    const postgres = ['--database-url', POSTGRES_URL!, '--schema', schema, '--variant', VARIANT];

    const there = await migrate(['--from', 'hnsw', '--to', 'postgres', '--data', source, '--vector-type', vectorType, ...postgres], root);
    assert.equal(there.code, 0, there.stderr);
    assert.deepEqual([summary(there).copied, summary(there).skipped, summary(there).failed], [31, 0, 0]);
    const rerun = await migrate(['--from', 'hnsw', '--to', 'postgres', '--data', source, ...postgres], root);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.deepEqual([summary(rerun).copied, summary(rerun).skipped], [0, 31]);

    const home = await migrate(['--from', 'postgres', '--to', 'hnsw', '--data', back, ...postgres], root);
    assert.equal(home.code, 0, home.stderr);
    assert.deepEqual(
      summary(home).guilds.map(({ id, copied }) => ({ id, copied })),
      [
        { id: '111', copied: 25 },
        { id: '222', copied: 6 },
      ],
    );
    // halfvec stores 16-bit floats: components of a unit 1280-d vector (|x| < 0.1) round within ~5e-5.
    assertSameContent(await snapshotHnsw(back, ['111', '222']), await snapshotHnsw(source, ['111', '222']), vectorType === 'vector' ? 1e-6 : 1e-4);
  });
}
