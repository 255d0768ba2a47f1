/**
 * `dejavu query <files…> [--data <dataDir>] [--guild <id>] [-k N] [--json]`: the indexed images most similar
 * to each file, best first. Uses ImageStore.findSimilar (the bot's search path too), excluding the query's
 * own path. With --json, stdout is an array of `{"file","results":[{"path","score","id","width","height"}]}`
 * or `{"file","error"}`, one entry per file in the order given.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getConfig } from '../../config.ts';
import { describeError, StoreError } from '../../errors.ts';
import type { ImageEmbedding } from '../../embedding/types.ts';
import { openConfiguredStore } from '../../store/open.ts';
import { createCliEmbedder, writeStdout } from '../common.ts';
import type { CliCommand } from '../types.ts';
import { DEFAULT_CLI_GUILD } from './index.ts';

const HELP = `usage: dejavu query <files…> [--data <dataDir>] [--guild <id>] [-k N] [--json]

Finds the indexed images most similar to each file (never the file itself).
  --data    data directory (default: DATA_DIR)
  --guild   guild id to search (default: local)
  -k        results per file (default 10, at most 1000)
  --json    machine-readable output on stdout`;

interface Result {
  path: string;
  score: number;
  id: number;
  width: number;
  height: number;
}

function isEmbedding(value: unknown): value is ImageEmbedding {
  return typeof value === 'object' && value !== null && 'vector' in value && value.vector instanceof Float32Array;
}

type Entry = { file: string; results: Result[] } | { file: string; error: string };

export const command: CliCommand = {
  name: 'query',
  summary: 'find the indexed images most similar to image files',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        data: { type: 'string' },
        guild: { type: 'string', default: DEFAULT_CLI_GUILD },
        k: { type: 'string', short: 'k', default: '10' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help === true || positionals.length === 0) {
      console.error(HELP);
      return values.help === true ? 0 : 2;
    }
    const k = Number(values.k);
    if (!Number.isInteger(k) || k < 1 || k > 1000) throw new StoreError('INVALID_INPUT', `-k must be an integer from 1 to 1000 (got ${values.k})`);
    const config = getConfig();
    const guildId = values.guild ?? DEFAULT_CLI_GUILD;
    const files = positionals.map((file) => resolve(file));
    const embedder = await createCliEmbedder(files.length);
    const store = await openConfiguredStore(config, embedder.variant, { dataDir: resolve(values.data ?? config.dataDir), snapshotIntervalMs: 0 });
    const entries: Entry[] = [];
    try {
      const images = await Promise.all(files.map((file) => readFile(file).then((bytes) => new Uint8Array(bytes), (error: unknown) => error)));
      const readable = images.flatMap((image, i) => (image instanceof Uint8Array ? [{ i, image }] : []));
      const embeddings = await embedder.embedMany(readable.map(({ image }) => image));
      const outcome = new Map<number, unknown>(images.map((image, i) => [i, image]));
      readable.forEach(({ i }, j) => outcome.set(i, embeddings[j]));
      for (const [i, file] of files.entries()) {
        const embedding = outcome.get(i);
        const label = positionals[i] ?? file;
        if (!isEmbedding(embedding)) {
          entries.push({ file: label, error: describeError(embedding) });
          continue;
        }
        // The query's own file is never a result of itself.
        const similar = await store.findSimilar(guildId, embedding.vector, { k, filter: (record) => record.sourceKey !== file });
        entries.push({
          file: label,
          results: similar.map(({ record, score }) => ({ path: record.label, score: Number(score.toFixed(6)), id: record.id, width: record.width, height: record.height })),
        });
      }
    } finally {
      await store.close();
      await embedder.close();
    }
    if (values.json) {
      await writeStdout(`${JSON.stringify(entries)}\n`);
    } else {
      const lines = entries.flatMap((entry) =>
        'error' in entry ? [`${entry.file}\terror\t${entry.error}`] : [entry.file, ...entry.results.map((r) => `  ${r.score.toFixed(4)}\t${r.path}`)],
      );
      await writeStdout(`${lines.join('\n')}\n`);
    }
    return entries.every((entry) => 'error' in entry) ? 1 : 0;
  },
};
