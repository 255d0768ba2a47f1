/**
 * `dejavu eval <datasetDir> [--method m]… [--json] [--no-cache]`: measures retrieval and duplicate-decision
 * quality on a dataset with a groups.json (see src/evaluation). Embeddings are cached per
 * (variant, dataset) under DATA_DIR/eval-cache unless --no-cache.
 */
import { parseArgs } from 'node:util';
import { DejavuError } from '../../errors.ts';
import { evaluateDirectory } from '../../evaluation/directory.ts';
import { resultsTable } from '../../evaluation/harness.ts';
import { METHOD_NAMES, type MethodName } from '../../evaluation/methods.ts';
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
