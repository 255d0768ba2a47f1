/**
 * `npm run eval [sharedDir] [--cost-only]`: every dataset under ../shared/datasets (or the given folder's datasets/), every
 * method, one quality table — dHash, the plain recipe, the variants, the shipped default — then a cost table
 * measured in one interleaved loop (ms/img of each ranking row above comes from the embedding pass, which a
 * busy machine skews; the cost table is the one to compare).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { getConfig } from '../src/config.ts';
import { embedderOptionsFromConfig } from '../src/embedding/index.ts';
import { DEFAULT_PREPROCESS } from '../src/embedding/preprocess.ts';
import { evaluateDirectory } from '../src/evaluation/directory.ts';
import { loadDataset } from '../src/evaluation/dataset.ts';
import { costTable, embedDataset, measureCost, resultsTable, type EvalResult } from '../src/evaluation/harness.ts';
import { evalEmbedder, METHOD_NAMES, PLAIN_PREPROCESS } from '../src/evaluation/methods.ts';

/** Images timed for the cost table (the first ones of the near-duplicate set: originals with their copies). */
const COST_SAMPLE = 80;

const args = process.argv.slice(2);
/** `--cost-only`: skip the quality table (minutes of embedding and pair scoring) and print only the cost tables. */
const costOnly = args.includes('--cost-only');
const sharedDir = resolve(args.find((arg) => !arg.startsWith('--')) ?? join(import.meta.dirname, '..', '..', 'shared'));
const datasetsDir = join(sharedDir, 'datasets');
if (!existsSync(datasetsDir)) {
  console.error(`no datasets at ${datasetsDir} (pass the shared folder as the first argument)`);
  process.exit(2);
}
const results: EvalResult[] = [];
const directories = readdirSync(datasetsDir).sort().map((name) => join(datasetsDir, name)).filter((directory) => existsSync(join(directory, 'groups.json')));
if (!costOnly) {
  for (const directory of directories) results.push(...(await evaluateDirectory(directory, METHOD_NAMES, true)));
  console.log(resultsTable(results));
}

const config = getConfig();
const options = embedderOptionsFromConfig(config);
const nearDuplicateSets = directories.map((directory) => loadDataset(directory)).filter((dataset) => dataset.kind === 'near-duplicate');
// The cost table is measured on photos and, where the set is there, on screenshots and memes.
for (const nearDuplicates of nearDuplicateSets) {
  const plain = await evalEmbedder(options, PLAIN_PREPROCESS);
  const shipped = await evalEmbedder(options, DEFAULT_PREPROCESS);
  try {
    const index = await embedDataset(shipped, nearDuplicates, join(config.dataDir, 'eval-cache'));
    const sample = nearDuplicates.files.slice(0, COST_SAMPLE);
    const rows = await measureCost(sample, plain, shipped, index);
    console.log(`\n${costTable(rows, `${sample.length} images of ${nearDuplicates.name}, one thread`)}`);
  } finally {
    await plain.close();
    await shipped.close();
  }
}
