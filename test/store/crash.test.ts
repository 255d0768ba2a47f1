/**
 * Crash safety: a child indexes and prints each acknowledged change; we SIGKILL it at a random moment,
 * restart it, and check that every acknowledged add is present exactly once (unless an acknowledged
 * removal took it), and that the vector index, the in-memory metadata and keyv agree. 20 trials.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { createKeyv } from '../../src/store/keyv.ts';
import { IMAGE_RECORDS_NAMESPACE, openFileStore, recordKey } from '../../src/store/file-store.ts';
import { seededRandom, temporaryDir } from './helpers.ts';
import { CRASH_GUILD, crashStoreOptions } from './fixtures/crash-options.ts';

const TRIALS = 20;
const CHILD = join(import.meta.dirname, 'fixtures', 'crash-child.ts');

interface Acknowledged {
  added: Map<number, number>; // n → record id
  deleted: Set<number>;
  /** Removals started but not acknowledged when the child died: either outcome is correct. */
  maybeDeleted: Set<number>;
  highest: number;
}

/** Runs the child until `killAfterMs` after it is ready, then SIGKILLs it; collects what it acknowledged. */
function runAndKill(dataDir: string, first: number, seed: number, killAfterMs: number, acknowledged: Acknowledged): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, String(first), String(seed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'silent' },
    });
    let buffered = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? ''; // a partial line was not acknowledged yet
      for (const line of lines) {
        const [kind, n, id] = line.split(' ');
        if (kind === 'READY') timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        if (kind === 'ACK') {
          acknowledged.added.set(Number(n), Number(id));
          acknowledged.deleted.delete(Number(n));
          acknowledged.maybeDeleted.delete(Number(n));
        }
        if (kind === 'REMOVING') acknowledged.maybeDeleted.add(Number(n));
        if (kind === 'DEL') {
          acknowledged.deleted.add(Number(n));
          acknowledged.maybeDeleted.delete(Number(n));
        }
        if (n !== undefined) acknowledged.highest = Math.max(acknowledged.highest, Number(n));
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`child exited with ${code ?? signal}: ${stderr}`));
    });
  });
}

test(`crash safety: ${TRIALS} SIGKILLs while indexing lose and duplicate nothing`, { timeout: 120_000 }, async () => {
  const dataDir = temporaryDir();
  const random = seededRandom(2024);
  const acknowledged: Acknowledged = { added: new Map(), deleted: new Set(), maybeDeleted: new Set(), highest: -1 };
  let totalAcks = 0;
  for (let trial = 0; trial < TRIALS; trial++) {
    // Restart a little before the last change so the child also re-adds acknowledged sources (idempotency).
    const first = Math.max(0, acknowledged.highest - 2);
    const before = acknowledged.added.size;
    await runAndKill(dataDir, first, trial + 1, 50 + Math.floor(random() * 400), acknowledged);
    totalAcks += acknowledged.added.size - before;

    const store = await openFileStore(crashStoreOptions(dataDir));
    const keyv = createKeyv<unknown>({ dataDir }, IMAGE_RECORDS_NAMESPACE);
    try {
      const bySource = new Map<string, number>();
      const ids = new Set<number>();
      for await (const record of store.listRecords(CRASH_GUILD)) {
        bySource.set(record.sourceKey, (bySource.get(record.sourceKey) ?? 0) + 1);
        assert.ok(!ids.has(record.id), `record id ${record.id} listed twice`);
        ids.add(record.id);
        const vector = await store.getVector(CRASH_GUILD, record.id);
        assert.ok(vector !== undefined, `trial ${trial}: record ${record.sourceKey} has no vector in the index`);
        const best = await store.findSimilar(CRASH_GUILD, vector, { k: 1 });
        assert.equal(best[0]?.record.id, record.id, `trial ${trial}: the index does not find ${record.sourceKey}`);
      }
      for (const [n, id] of acknowledged.added) {
        const count = bySource.get(`s${n}`) ?? 0;
        if (acknowledged.maybeDeleted.has(n)) {
          assert.ok(count <= 1, `trial ${trial}: s${n} present ${count} times`);
        } else if (acknowledged.deleted.has(n)) {
          assert.equal(count, 0, `trial ${trial}: s${n} was removed (acknowledged) but is back`);
          assert.equal(await keyv.get(recordKey(CRASH_GUILD, id)), undefined, `trial ${trial}: keyv still holds removed s${n}`);
        } else {
          assert.equal(count, 1, `trial ${trial}: acknowledged s${n} is present ${count} times`);
          assert.equal((await store.getBySource(CRASH_GUILD, `s${n}`))?.id, id, `trial ${trial}: s${n} changed id`);
        }
      }
      for (const [sourceKey, count] of bySource) assert.equal(count, 1, `trial ${trial}: ${sourceKey} present ${count} times`);
      const stats = await store.stats();
      assert.deepEqual(stats, [{ id: CRASH_GUILD, images: ids.size }], `trial ${trial}: index size and keyv records disagree`);
    } finally {
      await keyv.disconnect();
      await store.close();
    }
  }
  assert.ok(totalAcks >= TRIALS, `too few acknowledged adds (${totalAcks}) for the test to mean anything`);
  console.log(`crash test: ${TRIALS} kills, ${acknowledged.added.size} acknowledged adds, ${acknowledged.deleted.size} acknowledged removals`);
});
