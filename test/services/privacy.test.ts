/**
 * Member privacy in the indexing pipeline with real parts (real embedder, real store, local CDN): images of
 * a member being downloaded or embedded while they are forgotten are never left in the index, and the
 * opt-out holds across a restart until they are remembered.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FORGOTTEN } from '../../src/services/indexing.ts';
import type { IndexOutcome } from '../../src/services/types.ts';
import { hasShared, readOxfordGroups, requireShared } from '../helpers/shared.ts';
import { imageRef, removeDir, startCdn, startServices, type LocalCdn, type TestServices } from './helpers.ts';

let cdn: LocalCdn;
let setup: TestServices;

before(async () => {
  if (!hasShared()) return;
  cdn = await startCdn();
  setup = await startServices();
});

after(async () => {
  if (setup !== undefined) {
    await setup.services.close();
    await removeDir(setup.dataDir);
  }
  await cdn?.close();
});

async function imagesOf(guildId: string, authorId: string): Promise<number> {
  let count = 0;
  for await (const record of setup.services.store.listRecords(guildId)) if (record.authorId === authorId) count += 1;
  return count;
}

test('images in flight while their author is forgotten are refused or removed, never kept', async (t) => {
  if (!requireShared(t)) return;
  const { services } = setup;
  const guildId = '500';
  const photos = readOxfordGroups().distractors.slice(0, 8);
  const kept = await services.indexer.index(imageRef(`${cdn.base}/oxford/${photos[0]}`, { guildId, authorId: 'bob' }));
  assert.equal(kept.status, 'indexed');
  // Submitted, then forgotten at once: they are past the first check, downloading or embedding.
  const inFlight = photos.slice(1).map((photo) => services.indexer.index(imageRef(`${cdn.base}/oxford/${photo}`, { guildId, authorId: 'alice' })));
  const removed = await services.forgetMember(guildId, 'alice', 'alice');
  const outcomes: IndexOutcome[] = await Promise.all(inFlight);
  const refused = outcomes.filter((outcome) => outcome.status === 'skipped' && outcome.reason === FORGOTTEN).length;
  const indexedBefore = outcomes.filter((outcome) => outcome.status === 'indexed').length;
  assert.equal(refused + indexedBefore, outcomes.length, JSON.stringify(outcomes.map((outcome) => outcome.status)));
  assert.ok(refused > 0, 'some were refused under the guild lock');
  assert.equal(removed, indexedBefore, 'those added before the forgetting were removed by it');
  assert.equal(await imagesOf(guildId, 'alice'), 0);
  assert.equal(await imagesOf(guildId, 'bob'), 1);
});

test('the opt-out survives a restart and ends with remember', async (t) => {
  if (!requireShared(t)) return;
  const guildId = '501';
  const photos = readOxfordGroups().distractors.slice(8, 11);
  assert.equal(await setup.services.forgetMember(guildId, 'carol', 'owner'), 0);
  await setup.services.close();
  setup = await startServices(setup.dataDir);
  const refused = await setup.services.indexer.index(imageRef(`${cdn.base}/oxford/${photos[0]}`, { guildId, authorId: 'carol' }));
  assert.deepEqual(refused.status === 'skipped' ? refused.reason : refused.status, FORGOTTEN);
  // Another guild is not affected: the opt-out is per server.
  assert.equal((await setup.services.indexer.index(imageRef(`${cdn.base}/oxford/${photos[1]}`, { guildId: '502', authorId: 'carol' }))).status, 'indexed');
  assert.equal(await setup.services.rememberMember(guildId, 'carol'), true);
  assert.equal(await setup.services.rememberMember(guildId, 'carol'), false);
  assert.equal((await setup.services.indexer.index(imageRef(`${cdn.base}/oxford/${photos[2]}`, { guildId, authorId: 'carol' }))).status, 'indexed');
});
