/**
 * Cost of the duplicate decision alone: every image of each evaluation set is the query once, against the
 * shortlist the bot would verify (its 8 nearest neighbours by embedding cosine among the rest of the set).
 * Prints CPU ms per decision (one thread; the detail JPEG decodes run on libuv's pool and count too), with
 * decoded signatures kept across decisions as the bot keeps them (`stream`) and with none kept (`cold`),
 * measured in one interleaved loop.
 *
 *   npm run bench:decision -- [--sets text-heavy-dev,oxford-neardup-dev,corel-wang-dev] [--queries 1000]
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getConfig } from '../src/config.ts';
import { embedderOptionsFromConfig } from '../src/embedding/index.ts';
import { DEFAULT_PREPROCESS } from '../src/embedding/preprocess.ts';
import { loadDataset } from '../src/evaluation/dataset.ts';
import { asRecord, embedDataset } from '../src/evaluation/harness.ts';
import { rankByScore } from '../src/evaluation/metrics.ts';
import { evalEmbedder } from '../src/evaluation/methods.ts';
import { detectDuplicates, DUPLICATE_SHORTLIST, PreparedSignatures } from '../src/services/duplicates/index.ts';
import type { ImageRecord, ScoredRecord } from '../src/store/types.ts';
import { SHARED_DIR } from '../test/helpers/shared.ts';

const { values } = parseArgs({
  options: { sets: { type: 'string', default: 'text-heavy-dev,oxford-neardup-dev,corel-wang-dev' }, queries: { type: 'string', default: '1000' } },
});
const maxQueries = Number(values.queries);

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let index = 0; index < a.length; index += 1) sum += (a[index] as number) * (b[index] as number);
  return sum;
}

const cpuMs = (start: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};

const config = getConfig();
const embedder = await evalEmbedder(embedderOptionsFromConfig(config), DEFAULT_PREPROCESS);
const rows: string[] = [];
try {
  for (const name of values.sets.split(',')) {
    const directory = join(SHARED_DIR, 'datasets', name);
    if (!existsSync(directory)) {
      console.warn(`skipped ${name}: no ${directory}`);
      continue;
    }
    const dataset = loadDataset(directory);
    const set = await embedDataset(embedder, dataset, join(config.dataDir, 'eval-cache'));
    const records = set.signatures.map((signature, id) => asRecord(id, signature));
    const queries = Math.min(maxQueries, records.length);
    const stream = new PreparedSignatures();
    let streamMs = 0;
    let coldMs = 0;
    let verified = 0;
    for (let query = 0; query < queries; query += 1) {
      const vector = set.vectors[query] as Float32Array;
      const scores = Float64Array.from(set.vectors, (other) => dot(vector, other));
      // The query's own file (and byte-identical copies, which the bot finds by hash) is not a candidate.
      const others = records.map((_, j) => j).filter((j) => j !== query && (scores[j] as number) < 0.99999);
      const shortlist: ScoredRecord[] = rankByScore(scores, others).slice(0, DUPLICATE_SHORTLIST.k).map((j) => ({ record: records[j] as ImageRecord, score: scores[j] as number }));
      verified += shortlist.filter((candidate) => candidate.score >= DUPLICATE_SHORTLIST.minScore).length;
      const input = { vector, signature: set.signatures[query] as Uint8Array };
      // Alternate which runs first, so that neither always finds the caches of the machine warm.
      for (const mode of query % 2 === 0 ? (['stream', 'cold'] as const) : (['cold', 'stream'] as const)) {
        const started = process.cpuUsage();
        await detectDuplicates(input, shortlist, {}, mode === 'stream' ? stream : new PreparedSignatures());
        if (mode === 'stream') streamMs += cpuMs(started);
        else coldMs += cpuMs(started);
      }
    }
    rows.push(`| ${name} | ${queries} | ${(verified / queries).toFixed(1)} | ${(streamMs / queries).toFixed(1)} | ${(coldMs / queries).toFixed(1)} |`);
  }
} finally {
  await embedder.close();
}
console.log(`\nload average ${loadavg().map((load) => load.toFixed(1)).join(' ')}\n`);
console.log('| set | queries | candidates verified per query | stream: CPU ms/decision | cold: CPU ms/decision |');
console.log('|---|---|---|---|---|');
for (const row of rows) console.log(row);
