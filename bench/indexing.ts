/**
 * Indexing pipeline latency without Discord: images from ../shared/datasets/oxford-neardup-dev served by a
 * local CDN, submitted at a fixed rate to the real services (in-process embedder, real store in a temp
 * DATA_DIR). Prints per-stage p50/p99 and end-to-end latency.
 *
 *   npm run bench:indexing -- [--images 60] [--rate 5]
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OXFORD_DIR } from '../test/helpers/shared.ts';
import type { IndexOutcome } from '../src/services/types.ts';
import { imageRef, removeDir, startCdn, startServices } from '../test/services/helpers.ts';

const { values } = parseArgs({ options: { images: { type: 'string', default: '60' }, rate: { type: 'string', default: '5' } } });
const count = Number(values.images);
const rate = Number(values.rate);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const names = readdirSync(join(OXFORD_DIR, 'images')).filter((name) => name.endsWith('.jpg')).sort().slice(0, count);
const cdn = await startCdn();
const setup = await startServices(undefined, { EMBEDDING_WORKERS: process.env.EMBEDDING_WORKERS ?? '2', INDEX_CONCURRENCY: '16' });
try {
  // Warm-up (model compile, first guild open) outside the measurement.
  await setup.services.indexer.index(imageRef(`${cdn.base}/oxford/${names[0]!}`, { guildId: '9' }));
  const started = performance.now();
  const pending: Array<Promise<IndexOutcome>> = [];
  for (const [index, name] of names.entries()) {
    const due = started + (index * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(setup.services.indexer.index(imageRef(`${cdn.base}/oxford/${name}`, { guildId: '1' })));
  }
  const outcomes = await Promise.all(pending);
  const wall = (performance.now() - started) / 1000;
  const done = outcomes.flatMap((outcome) => (outcome.status === 'indexed' ? [outcome] : []));
  const column = (pick: (outcome: (typeof done)[number]) => number) => done.map(pick).sort((a, b) => a - b);
  const rows: Array<[string, number[]]> = [
    ['queue wait', column((o) => o.timings.queueMs)],
    ['download', column((o) => o.timings.downloadMs)],
    ['hash lookup + embed', column((o) => o.timings.embedMs)],
    ['duplicate detection', column((o) => o.timings.detectMs)],
    ['store add', column((o) => o.timings.addMs)],
    ['end to end', column((o) => o.elapsedMs)],
  ];
  console.log(`indexing pipeline: ${done.length}/${outcomes.length} indexed at ${rate} img/s offered, ${(outcomes.length / wall).toFixed(2)} img/s achieved, backend ${setup.services.embedder.backend}`);
  console.log('| stage | p50 ms | p99 ms |');
  console.log('|---|---|---|');
  for (const [label, sorted] of rows) console.log(`| ${label} | ${percentile(sorted, 50)} | ${percentile(sorted, 99)} |`);
  console.log(`duplicates found: ${done.filter((o) => o.duplicates.length > 0).length}; RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
} finally {
  await setup.services.close();
  await cdn.close();
  await removeDir(setup.dataDir);
}
