/**
 * `dejavu index <dir> [--data <dataDir>] [--guild <id>]`: indexes every image under <dir> (recursively)
 * into the guild's index. Re-running skips files already indexed (same absolute path = sourceKey) and
 * files whose bytes are already indexed under another path (same sha256). Progress on stderr; stdout is
 * `{"indexed","skipped","failed","seconds"}`.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getConfig } from '../../config.ts';
import type { ImageEmbedding } from '../../embedding/types.ts';
import { describeError, type DejavuError } from '../../errors.ts';
import type { ImageSource, ImageStore, NewImage } from '../../store/types.ts';
import { createCliEmbedder, DEFAULT_CLI_GUILD, Progress, writeStdout } from '../common.ts';
import type { CliCommand } from '../types.ts';

const HELP = `usage: dejavu index <dir> [--data <dataDir>] [--guild <id>]

Indexes every image under <dir> (recursively). Already indexed files are skipped.
  --data    data directory (default: DATA_DIR)
  --guild   guild id to index into (default: local)`;

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.avif', '.tif', '.tiff', '.bmp']);

/** Files embedded at once: enough to keep every worker busy, bounded so memory stays flat. */
const CHUNK = 64;

export async function listImages(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await listImages(path)));
    else if (IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase()) && (entry.isFile() || (entry.isSymbolicLink() && (await isFile(path))))) found.push(path);
  }
  return found.sort();
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((info) => info.isFile(), () => false);
}

interface Candidate {
  path: string;
  bytes: Uint8Array;
  hash: string;
  createdAt: number;
}

/** Reads a file unless it is already indexed by path or by content. */
async function candidate(store: ImageStore, guildId: string, path: string, seenHashes: Set<string>, maxBytes: number): Promise<Candidate | 'skip'> {
  if ((await store.getBySource(guildId, path)) !== undefined) return 'skip';
  const info = await stat(path);
  if (info.size > maxBytes) throw new Error(`IMAGE_TOO_LARGE: ${path} is ${info.size} bytes, more than ${maxBytes}`);
  const bytes = new Uint8Array(await readFile(path));
  const hash = createHash('sha256').update(bytes).digest('hex');
  if (seenHashes.has(hash) || (await store.findByHash(guildId, hash)).length > 0) return 'skip';
  seenHashes.add(hash);
  return { path, bytes, hash, createdAt: Math.round(info.mtimeMs) };
}

function fileSource(guildId: string, item: Candidate): ImageSource {
  return { guildId, channelId: '', messageId: '', sourceKey: item.path, authorId: '', createdAt: item.createdAt, nsfw: false, kind: 'file', label: item.path };
}

export const command: CliCommand = {
  name: 'index',
  summary: 'index every image under a directory (skips files already indexed)',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { data: { type: 'string' }, guild: { type: 'string', default: DEFAULT_CLI_GUILD }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help === true || positionals.length !== 1) {
      console.error(HELP);
      return values.help === true ? 0 : 2;
    }
    const started = performance.now();
    const config = getConfig();
    const guildId = values.guild ?? DEFAULT_CLI_GUILD;
    const files = (await listImages(resolve(positionals[0] ?? '.'))).map((file) => resolve(file));
    // The store's modules load while the embedding workers start (each takes a few hundred milliseconds).
    const [embedder, { openConfiguredStore }] = await Promise.all([createCliEmbedder(files.length), import('../../store/open.ts')]);
    const store = await openConfiguredStore(config, embedder.variant, { dataDir: resolve(values.data ?? config.dataDir), snapshotIntervalMs: 0 });
    const progress = new Progress(files.length, 'indexing');
    const counts = { indexed: 0, skipped: 0, failed: 0 };
    const seenHashes = new Set<string>();
    const fail = (path: string, error: unknown): void => {
      counts.failed++;
      console.error(`${path}: ${describeError(error)}`);
    };
    try {
      /** Reads one chunk (skipping what is indexed) and starts embedding it. */
      const prepareChunk = async (start: number): Promise<{ chunk: Candidate[]; embedded: Promise<Array<ImageEmbedding | DejavuError>> }> => {
        const chunk: Candidate[] = [];
        for (const path of files.slice(start, start + CHUNK)) {
          try {
            const found = await candidate(store, guildId, path, seenHashes, config.MAX_IMAGE_BYTES);
            if (found === 'skip') {
              counts.skipped++;
              progress.tick();
            } else chunk.push(found);
          } catch (error) {
            fail(path, error);
            progress.tick();
          }
        }
        return { chunk, embedded: embedder.embedMany(chunk.map((item) => item.bytes)) };
      };
      let pending = files.length > 0 ? prepareChunk(0) : undefined;
      for (let start = 0; start < files.length; start += CHUNK) {
        const { chunk, embedded } = await pending!;
        // The next chunk is read and queued for embedding while this one is stored, so the embedding workers
        // never wait for file reads and index writes.
        pending = start + CHUNK < files.length ? prepareChunk(start + CHUNK) : undefined;
        const embeddings = await embedded;
        const ready: NewImage[] = [];
        for (const [i, item] of chunk.entries()) {
          const embedding = embeddings[i];
          progress.tick();
          if (embedding === undefined || embedding instanceof Error) fail(item.path, embedding);
          else ready.push({ source: fileSource(guildId, item), contentHash: item.hash, embedding });
        }
        // One durable write per chunk rather than one per image: the journal sync and the metadata write
        // cost several milliseconds each, as much as embedding the image.
        counts.indexed += (await store.addMany(ready)).length;
      }
      await store.flush();
    } finally {
      progress.finish();
      await store.close();
      await embedder.close();
    }
    await writeStdout(`${JSON.stringify({ ...counts, seconds: Number(((performance.now() - started) / 1000).toFixed(2)) })}\n`);
    return counts.failed > 0 && counts.indexed === 0 && counts.skipped === 0 ? 1 : 0;
  },
};
