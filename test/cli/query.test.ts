import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { requireShared } from '../helpers/shared.ts';
import { dejavu, makePhotoFolder } from './cli-fixture.ts';

interface Entry {
  query: string;
  results?: Array<{ file: string; score: number; id: number; width: number; height: number }>;
  error?: string;
}

test('dejavu query: near duplicates first, never the query file itself, scores best first', async (t) => {
  if (!requireShared(t)) return;
  const folder = makePhotoFolder();
  try {
    const indexed = await dejavu(['index', folder.photos, '--data', folder.dataDir], folder.root);
    assert.equal((JSON.parse(indexed.stdout) as { indexed: number }).indexed, 6, `indexing failed: ${indexed.stdout} ${indexed.stderr}`);
    const [query, ...sameScene] = folder.group;
    const { stdout } = await dejavu(['query', query ?? '', folder.copy, 'missing.jpg', '--data', folder.dataDir, '-k', '3', '--json'], folder.root);
    const [own, copy, missing] = JSON.parse(stdout) as Entry[];
    assert.equal(own?.query, query);
    const results = own?.results ?? assert.fail(`no results: ${stdout}`);
    assert.equal(results.length, 3);
    assert.ok(results.every((r) => r.file !== query), 'the query file must not be listed');
    // The three other photos of the scene are the top 3 (the real model; corel photos are unrelated).
    assert.deepEqual(results.map((r) => r.file).sort(), [...sameScene].sort(), stdout);
    assert.ok(results.every((r, i) => i === 0 || (results[i - 1]?.score ?? 0) >= r.score));
    // The byte-identical copy was skipped at index time, so querying with it finds the original first.
    assert.equal(copy?.results?.[0]?.file, query);
    assert.ok((copy?.results?.[0]?.score ?? 0) > 0.999);
    assert.match(missing?.error ?? '', /^[A-Z_]+: /);

    const empty = JSON.parse((await dejavu(['query', query ?? '', '--data', folder.dataDir, '--guild', 'nobody', '--json'], folder.root)).stdout) as Entry[];
    assert.deepEqual(empty[0]?.results, []);
  } finally {
    rmSync(folder.root, { recursive: true, force: true });
  }
});
