/**
 * `dejavu query <files…> [--data <dataDir>] [--guild <id>] [-k N] [--json]`: the indexed images most similar
 * to each file, best first, through the bot's own search (findSimilarImages: query expansion, one result per
 * set of byte-identical copies, scores = cosine to the file), excluding the query's own path. With --json,
 * stdout is an array of `{"query","results":[{"file","score","id","width","height"}]}` or `{"query","error"}`,
 * one entry per file in the order given.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getConfig } from '../../config.ts';
import { describeError, StoreError } from '../../errors.ts';
import type { ImageEmbedding } from '../../embedding/types.ts';
import { findSimilarImages, MAX_RESULT_DEPTH } from '../../services/similarity.ts';
import { openConfiguredStore } from '../../store/open.ts';
import { createCliEmbedder, DEFAULT_CLI_GUILD, pathOf, writeStdout } from '../common.ts';
import type { CliCommand } from '../types.ts';

const HELP = `usage: dejavu query <files…> [--data <dataDir>] [--guild <id>] [-k N] [--json]

Finds the indexed images most similar to each file (never the file itself).
  --data    data directory (default: DATA_DIR)
  --guild   guild id to search (default: local)
  -k        results per file (default 10, at most ${MAX_RESULT_DEPTH}: the bot's deepest result)
  --json    machine-readable output on stdout`;

interface Result {
  file: string;
  score: number;
  id: number;
  width: number;
  height: number;
}

function isEmbedding(value: unknown): value is ImageEmbedding {
  return typeof value === 'object' && value !== null && 'vector' in value && value.vector instanceof Float32Array;
}

type Entry = { query: string; results: Result[] } | { query: string; error: string };

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
    if (!Number.isInteger(k) || k < 1 || k > MAX_RESULT_DEPTH) {
      throw new StoreError('INVALID_INPUT', `-k must be an integer from 1 to ${MAX_RESULT_DEPTH}, the bot's deepest result (got ${values.k})`);
    }
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
          entries.push({ query: label, error: describeError(embedding) });
          continue;
        }
        // The bot's search as an owner sees it in an NSFW channel: every indexed image, except the file itself.
        const page = await findSimilarImages(
          { store, embedder },
          { guildId, query: { vector: embedding.vector }, k, canView: () => true, nsfwAllowed: true, excludeSourceKeys: [file] },
        );
        entries.push({
          query: label,
          results: page.matches.map(({ record, score }) => ({ file: pathOf(record), score: Number(score.toFixed(6)), id: record.id, width: record.width, height: record.height })),
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
        'error' in entry ? [`${entry.query}\terror\t${entry.error}`] : [entry.query, ...entry.results.map((r) => `  ${r.score.toFixed(4)}\t${r.file}`)],
      );
      await writeStdout(`${lines.join('\n')}\n`);
    }
    return entries.every((entry) => 'error' in entry) ? 1 : 0;
  },
};
