/**
 * `dejavu embed <files…> [--json]`: embeds image files. With --json, stdout is a JSON array with one entry per
 * file, in the order given: `{"file", "vector": [1280 numbers]}` or `{"file", "error": "CODE: message"}`.
 * A failing file never stops the others; the exit code is 0 once every file has an entry.
 */
import { readFile, stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { getConfig } from '../../config.ts';
import { describeError, ImageError, DejavuError } from '../../errors.ts';
import type { Embedder } from '../../embedding/index.ts';
import { createCliEmbedder, Progress, writeStdout } from '../common.ts';
import type { CliCommand } from '../types.ts';

const HELP = `usage: dejavu embed <files…> [--json]

Embeds each image file into a 1280-d EfficientNet-B0 vector (L2-normalised).
  --json   print a JSON array of {"file", "vector"} or {"file", "error"} on stdout`;

type Entry = { file: string; vector: number[] } | { file: string; error: string };

/** Files in flight at once; bounded so thousands of files never sit in memory together. */
const CHUNK = 64;

async function embedFile(embedder: Embedder, file: string, maxBytes: number): Promise<Entry> {
  try {
    const info = await stat(file).catch((error: unknown) => {
      throw new DejavuError('NOT_FOUND', `cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
    });
    if (!info.isFile()) throw new DejavuError('INVALID_INPUT', `${file} is not a file`);
    if (info.size > maxBytes) throw new ImageError('IMAGE_TOO_LARGE', `the file is ${info.size} bytes, more than the limit of ${maxBytes}`);
    const { vector } = await embedder.embed(await readFile(file));
    return { file, vector: Array.from(vector) };
  } catch (error) {
    return { file, error: describeError(error) };
  }
}

export const command: CliCommand = {
  name: 'embed',
  summary: 'embed image files into 1280-d vectors (--json for machine-readable output)',
  async run(argv) {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } } });
    if (values.help === true) {
      console.error(HELP);
      return 0;
    }
    if (positionals.length === 0) {
      console.error(HELP);
      return 2;
    }
    const config = getConfig();
    const embedder = await createCliEmbedder(positionals.length);
    const progress = new Progress(positionals.length, 'embedding');
    let failed = 0;
    try {
      if (values.json) await writeStdout('[');
      for (let start = 0; start < positionals.length; start += CHUNK) {
        const chunk = positionals.slice(start, start + CHUNK);
        const entries = await Promise.all(
          chunk.map((file) =>
            embedFile(embedder, file, config.MAX_IMAGE_BYTES).finally(() => progress.tick()),
          ),
        );
        failed += entries.filter((entry) => 'error' in entry).length;
        if (values.json) {
          const text = entries.map((entry) => JSON.stringify(entry)).join(',\n');
          await writeStdout(`${start === 0 ? '' : ',\n'}${text}`);
        } else {
          await writeStdout(entries.map((entry) => ('error' in entry ? `${entry.file}\terror\t${entry.error}` : `${entry.file}\tok\t${entry.vector.length}-d`)).join('\n') + '\n');
        }
      }
      if (values.json) await writeStdout(']\n');
    } finally {
      progress.finish();
      await embedder.close();
    }
    console.error(`embedded ${positionals.length - failed} of ${positionals.length} file(s) with ${embedder.backend}${failed > 0 ? `; ${failed} failed` : ''}`);
    return 0;
  },
};
