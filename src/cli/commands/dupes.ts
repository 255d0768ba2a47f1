/**
 * `dejavu dupes [--data <dataDir>] [--guild <id>] [--threshold T] [--json]`: every pair of indexed images the
 * bot's duplicate detector would report, each unordered pair once, most confident first. With --json, stdout is
 * `[{"a": "<path>", "b": "<path>", "score": S}]` where S is the detector's confidence (0–1).
 * Every image goes through the bot's own decision (findDuplicates in src/services/indexing.ts) as if it had
 * just been posted: only earlier images of other posts are candidates, identical bytes always count (score 1).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getConfig } from '../../config.ts';
import { DejavuError } from '../../errors.ts';
import { createDuplicateDetector } from '../../services/detector.ts';
import { DEFAULT_DUPLICATE_SETTINGS } from '../../services/duplicates/index.ts';
import { findDuplicates, sameBytesAs } from '../../services/indexing.ts';
import { openConfiguredStore } from '../../store/open.ts';
import { imageSourceOf } from '../../store/records.ts';
import type { ImageRecord, ImageStore } from '../../store/types.ts';
import { DEFAULT_CLI_GUILD, pathOf, Progress, writeStdout } from '../common.ts';
import type { CliCommand } from '../types.ts';

const HELP = `usage: dejavu dupes [--data <dataDir>] [--guild <id>] [--threshold T] [--json]

Lists every pair of indexed images that the duplicate detector reports (each pair once).
  --data       data directory (default: DATA_DIR)
  --guild      guild id (default: local)
  --threshold  verification score needed, 0–1 (default ${DEFAULT_DUPLICATE_SETTINGS.threshold}; higher = stricter)
  --json       machine-readable output on stdout`;

export interface DuplicatePair {
  a: string;
  b: string;
  score: number;
}

/** Runs the bot's duplicate decision for every record of a guild; each unordered pair once, best score kept. */
export async function findDuplicatePairs(store: ImageStore, guildId: string, threshold: number, onRecord?: () => void): Promise<DuplicatePair[]> {
  const search = { store, detector: createDuplicateDetector() };
  const pairs = new Map<string, { a: ImageRecord; b: ImageRecord; score: number }>();
  const keep = (a: ImageRecord, b: ImageRecord, score: number): void => {
    const [first, second] = a.id < b.id ? [a, b] : [b, a];
    const key = `${first.id}:${second.id}`;
    const existing = pairs.get(key);
    if (existing === undefined || score > existing.score) pairs.set(key, { a: first, b: second, score });
  };
  for await (const record of store.listRecords(guildId)) {
    onRecord?.();
    const vector = await store.getVector(guildId, record.id);
    if (vector === undefined) continue;
    const source = imageSourceOf(record);
    const embedding = { vector, signature: record.signature, width: record.width, height: record.height };
    const matches = await findDuplicates(search, source, embedding, await sameBytesAs(store, source, record.contentHash), threshold);
    // Same template under other text is not a duplicate pair.
    for (const match of matches) if (match.kind === 'repost') keep(record, match.record, match.similarity);
  }
  return [...pairs.values()]
    .sort((x, y) => y.score - x.score || x.a.id - y.a.id || x.b.id - y.b.id)
    .map(({ a, b, score }) => ({ a: pathOf(a), b: pathOf(b), score: Number(score.toFixed(4)) }));
}

export const command: CliCommand = {
  name: 'dupes',
  summary: 'list every pair of indexed images the duplicate detector reports',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        data: { type: 'string' },
        guild: { type: 'string', default: DEFAULT_CLI_GUILD },
        threshold: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help === true || positionals.length > 0) {
      console.error(HELP);
      return values.help === true ? 0 : 2;
    }
    const threshold = values.threshold === undefined ? DEFAULT_DUPLICATE_SETTINGS.threshold : Number(values.threshold);
    if (!Number.isFinite(threshold) || threshold < 0 || threshold > 1) {
      throw new DejavuError('INVALID_INPUT', `--threshold must be a number from 0 to 1 (got ${values.threshold})`);
    }
    const config = getConfig();
    const guildId = values.guild ?? DEFAULT_CLI_GUILD;
    // Read-only: no embedding happens, so no embedder and no variant are needed.
    const store = await openConfiguredStore(config, undefined, { dataDir: resolve(values.data ?? config.dataDir), snapshotIntervalMs: 0 });
    let pairs: DuplicatePair[];
    try {
      const total = (await store.stats()).find((guild) => guild.id === guildId)?.images ?? 0;
      const progress = new Progress(total, 'checking');
      pairs = await findDuplicatePairs(store, guildId, threshold, () => progress.tick());
      progress.finish();
    } finally {
      await store.close();
    }
    if (values.json) await writeStdout(`${JSON.stringify(pairs)}\n`);
    else await writeStdout(pairs.map((pair) => `${pair.score.toFixed(3)}\t${pair.a}\t${pair.b}`).join('\n') + (pairs.length > 0 ? '\n' : ''));
    console.error(`${pairs.length} duplicate pair(s) in guild ${guildId}`);
    return 0;
  },
};
