/**
 * `dejavu eval <datasetDir> [--method m]… [--json] [--no-cache]`: measures retrieval and duplicate-decision
 * quality on a dataset with a groups.json (see src/services/evaluation). Embeddings are cached per
 * (variant, dataset) under DATA_DIR/eval-cache unless --no-cache.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getConfig } from '../../config.ts';
import { DejavuError } from '../../errors.ts';
import { embedderOptionsFromConfig } from '../../embedding/index.ts';
import { loadDataset } from '../../services/evaluation/dataset.ts';
import { evaluate, resultsTable, type EvalResult } from '../../services/evaluation/harness.ts';
import { evalMethod, METHOD_NAMES, type MethodName } from '../../services/evaluation/methods.ts';
import { writeStdout } from '../common.ts';
import type { CliCommand } from '../types.ts';

const HELP = `usage: dejavu eval <datasetDir> [--method ${METHOD_NAMES.join('|')}]… [--json] [--no-cache]

Evaluates ranking (mAP, recall@1 or precision@10) and, on near-duplicate sets, the duplicate decision
(recall at pair precision ≥ 0.99, and at the shipped default). Default: every method.
  --method    one method (repeatable)
  --json      machine-readable output on stdout
  --no-cache  embed every image again instead of reading DATA_DIR/eval-cache`;

function isMethodName(value: string): value is MethodName {
  return (METHOD_NAMES as readonly string[]).includes(value);
}

/** Evaluates the named methods on one dataset folder. */
export async function evaluateDirectory(directory: string, methods: readonly MethodName[], useCache: boolean): Promise<EvalResult[]> {
  const config = getConfig();
  const dataset = loadDataset(directory);
  const cacheDir = useCache ? join(config.dataDir, 'eval-cache') : undefined;
  const results: EvalResult[] = [];
  for (const name of methods) {
    console.error(`eval: ${dataset.name}: ${name}…`);
    results.push(await evaluate(evalMethod(name, embedderOptionsFromConfig(config), cacheDir), dataset));
  }
  return results;
}

export const command: CliCommand = {
  name: 'eval',
  summary: 'measure retrieval and duplicate-detection quality on a labelled dataset',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        method: { type: 'string', multiple: true },
        json: { type: 'boolean', default: false },
        'no-cache': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help === true) {
      console.error(HELP);
      return 0;
    }
    const [directory] = positionals;
    if (directory === undefined || positionals.length > 1) {
      console.error(HELP);
      return 2;
    }
    const requested = values.method ?? [...METHOD_NAMES];
    const unknown = requested.filter((name) => !isMethodName(name));
    if (unknown.length > 0) throw new DejavuError('INVALID_INPUT', `unknown method(s): ${unknown.join(', ')} (known: ${METHOD_NAMES.join(', ')})`);
    const results = await evaluateDirectory(directory, requested.filter(isMethodName), values['no-cache'] !== true);
    await writeStdout(values.json ? `${JSON.stringify(results, null, 2)}\n` : `${resultsTable(results)}\n`);
    return 0;
  },
};
