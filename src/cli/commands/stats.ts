/**
 * `dejavu stats [--data <dataDir>] [--json]`: images per guild and where their records live.
 * stdout (--json): `{"guilds":[{"id","images"}],"backend":"sqlite|redis|postgres"}`: the key stays `backend`
 * because scripts read this output.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getConfig } from '../../config.ts';
import { openConfiguredStore } from '../../store/open.ts';
import { writeStdout } from '../common.ts';
import type { CliCommand } from '../types.ts';

const HELP = `usage: dejavu stats [--data <dataDir>] [--json]

Prints the number of indexed images per guild and where their records live (sqlite, redis or postgres).
  --data    data directory (default: DATA_DIR)
  --json    machine-readable output on stdout`;

export const command: CliCommand = {
  name: 'stats',
  summary: 'indexed images per guild and where their records live',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { data: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help === true || positionals.length > 0) {
      console.error(HELP);
      return values.help === true ? 0 : 2;
    }
    const config = getConfig();
    // No embedder needed: opened without a variant, the store reads guilds as they were built.
    const store = await openConfiguredStore(config, undefined, { dataDir: resolve(values.data ?? config.dataDir), snapshotIntervalMs: 0 });
    try {
      const guilds = await store.stats();
      if (values.json) await writeStdout(`${JSON.stringify({ guilds, backend: store.metadataStorage })}\n`);
      else await writeStdout(`${guilds.map((guild) => `${guild.id}\t${guild.images}`).join('\n')}${guilds.length > 0 ? '\n' : ''}backend\t${store.metadataStorage}\n`);
    } finally {
      await store.close();
    }
    return 0;
  },
};
