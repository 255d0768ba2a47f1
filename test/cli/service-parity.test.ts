/**
 * `dejavu query` and `dejavu dupes` answer as the bot does: images indexed through the bot's pipeline
 * (local CDN, real model, real store) are searched by the CLI and by the bot's findSimilar, and the pairs the
 * CLI lists are exactly the duplicates the indexer reported as each image arrived.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { oxfordImage, readOxfordGroups, requireShared } from '../helpers/shared.ts';
import { imageRef, removeDir, startCdn, startServices } from '../services/helpers.ts';
import { dejavu } from './cli-fixture.ts';

interface QueryEntry {
  query: string;
  results: Array<{ file: string; score: number }>;
}

const GUILD = '100';
/** The backend the services of test/services/helpers.ts use: the same vectors on both sides. */
const SAME_BACKEND = { EMBEDDING_BACKEND: 'wasm' };

test('dejavu query and dupes give the bot’s ranking and the bot’s duplicate decisions', async (t) => {
  if (!requireShared(t)) return;
  const { groups, distractors } = readOxfordGroups();
  const group = groups[1]!;
  // Edited copies of one photo, two photos of one building from nearly the same spot, unrelated photos, and a
  // byte-identical copy posted later under another name.
  const names = [...group, 'img_0406.jpg', 'img_0506.jpg', ...distractors.slice(0, 3)];
  const cdn = await startCdn({ 'copy-of-first.jpg': oxfordImage(group[0]!) });
  const setup = await startServices();
  const root = mkdtempSync(join(tmpdir(), 'dejavu-cli-parity-'));
  let closed = false;
  try {
    const reported = new Set<string>();
    const urls = [...names.map((name) => `${cdn.base}/oxford/${name}`), `${cdn.base}/bytes/copy-of-first.jpg`];
    for (const url of urls) {
      const outcome = await setup.services.indexer.index(imageRef(url, { guildId: GUILD }));
      assert.equal(outcome.status, 'indexed', JSON.stringify(outcome));
      if (outcome.status !== 'indexed') continue;
      for (const match of outcome.duplicates) reported.add(`${[outcome.record.label, match.record.label].sort().join(' ~ ')} ${match.similarity.toFixed(4)}`);
    }
    assert.ok(reported.size >= 4, `the pipeline found the edited copies and the identical copy: ${[...reported].join(', ')}`);

    // The bot's search for two photos: the bytes of an indexed one, and an unrelated photo never indexed.
    const queryNames = [group[0]!, distractors[3]!];
    const botAnswers: Array<Array<{ file: string; score: number }>> = [];
    for (const name of queryNames) {
      const page = await setup.services.findSimilar({ guildId: GUILD, query: { bytes: oxfordImage(name) }, k: 6, canView: () => true, nsfwAllowed: true });
      botAnswers.push(page.matches.map(({ record, score }) => ({ file: record.label, score })));
    }
    await setup.services.close();
    closed = true;

    const files = queryNames.map((name) => {
      const path = join(root, name);
      writeFileSync(path, oxfordImage(name));
      return path;
    });
    const query = JSON.parse((await dejavu(['query', ...files, '--data', setup.dataDir, '--guild', GUILD, '-k', '6', '--json'], root, SAME_BACKEND)).stdout) as QueryEntry[];
    assert.deepEqual(query.map((entry) => entry.query), files);
    for (const [i, entry] of query.entries()) {
      const bot = botAnswers[i]!;
      assert.deepEqual(entry.results.map((result) => result.file), bot.map((match) => match.file), `ranking for ${queryNames[i]}`);
      for (const [j, result] of entry.results.entries()) assert.ok(Math.abs(result.score - bot[j]!.score) < 1e-5);
    }
    // Byte-identical copies are one result: the original's bytes find either the original or its copy, not both.
    const first = query[0]!.results.map((result) => result.file);
    assert.equal(first.filter((file) => file === group[0] || file === 'copy-of-first.jpg').length, 1, first.join(', '));

    const pairs = JSON.parse((await dejavu(['dupes', '--data', setup.dataDir, '--guild', GUILD, '--json'], root, SAME_BACKEND)).stdout) as Array<{ a: string; b: string; score: number }>;
    const listed = new Set(pairs.map((pair) => `${[pair.a, pair.b].sort().join(' ~ ')} ${pair.score.toFixed(4)}`));
    assert.deepEqual([...listed].sort(), [...reported].sort());

    // -k stops where the bot's paging stops.
    await assert.rejects(dejavu(['query', files[0]!, '--data', setup.dataDir, '-k', '201', '--json'], root), /-k must be an integer from 1 to 200/);
  } finally {
    if (!closed) await setup.services.close();
    await cdn.close();
    await removeDir(setup.dataDir);
    await removeDir(root);
  }
});
