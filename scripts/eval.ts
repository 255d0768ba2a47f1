/**
 * `npm run eval`: every dataset under ../shared/datasets (or DEJAVU_SHARED_DIR/datasets), every method, one
 * table: dHash, the plain recipe, the variants, and the shipped detector, with time per image.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { evaluateDirectory } from '../src/cli/commands/eval.ts';
import { resultsTable, type EvalResult } from '../src/services/evaluation/harness.ts';
import { METHOD_NAMES } from '../src/services/evaluation/methods.ts';

const sharedDir = resolve(process.argv[2] ?? join(import.meta.dirname, '..', '..', 'shared'));
const datasetsDir = join(sharedDir, 'datasets');
if (!existsSync(datasetsDir)) {
  console.error(`no datasets at ${datasetsDir} (pass the shared folder as the first argument)`);
  process.exit(2);
}
const results: EvalResult[] = [];
for (const name of readdirSync(datasetsDir).sort()) {
  if (!existsSync(join(datasetsDir, name, 'groups.json'))) continue;
  results.push(...(await evaluateDirectory(join(datasetsDir, name), METHOD_NAMES, true)));
}
console.log(resultsTable(results));
