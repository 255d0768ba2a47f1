/** `--only guilds`: many small guilds through the real file store, with LRU eviction of loaded guilds. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_INDEX_POLICY } from '../../src/index/select.ts';
import { IMAGE_RECORDS_NAMESPACE, openFileStore, recordKey } from '../../src/store/file-store.ts';
import { GuildIndex } from '../../src/store/guild-index.ts';
import { createKeyv } from '../../src/store/keyv.ts';
import { toStoredRecord } from '../../src/store/records.ts';
import type { ImageRecord } from '../../src/store/types.ts';
import { generate, type GeneratorKind } from '../index-vectors.ts';
import { D, QUERIES, row } from './data.ts';
import { percentile } from './measure.ts';
import { mb, ms } from './table.ts';

const VARIANT = 'bench';
const MAX_LOADED_GUILDS = 32;

export async function manyGuilds(reals: Float32Array, generator: GeneratorKind, guilds: number, perGuild: number): Promise<void> {
  console.log(`\n## ${guilds} guilds × ${perGuild} images through the store (SQLite keyv, maxLoadedGuilds=${MAX_LOADED_GUILDS})`);
  const dataDir = mkdtempSync(join(tmpdir(), 'dejavu-bench-guilds-'));
  try {
    let start = performance.now();
    await writeGuilds(dataDir, reals, generator, guilds, perGuild);
    const buildSeconds = (performance.now() - start) / 1000;
    const rssBefore = process.memoryUsage().rss;
    const store = await openFileStore({ dataDir, variant: VARIANT, dimensions: D, maxLoadedGuilds: MAX_LOADED_GUILDS, snapshotIntervalMs: 0 });
    const queries = generate(generator, reals, guilds, 5);
    // Cold: one query per guild, so most find their guild evicted and load it.
    const cold: number[] = [];
    for (let g = 0; g < guilds; g++) {
      start = performance.now();
      const hits = await store.findSimilar(`g${g}`, row(queries, g), { k: 10 });
      cold.push(performance.now() - start);
      if (hits.length !== Math.min(10, perGuild)) throw new Error(`guild g${g} returned ${hits.length} hits`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Hot: the last guild queried stays loaded.
    const hot: number[] = [];
    for (let q = 0; q < QUERIES; q++) {
      start = performance.now();
      await store.findSimilar(`g${guilds - 1}`, row(queries, q % guilds), { k: 10 });
      hot.push(performance.now() - start);
    }
    const rss = process.memoryUsage().rss;
    console.table([
      {
        guilds,
        'images/guild': perGuild,
        'setup s': buildSeconds.toFixed(0),
        'loaded at end': store.loadedGuilds().length,
        'cold query p50': ms(percentile(cold, 50)),
        'cold query p99': ms(percentile(cold, 99)),
        'hot query p50 (incl. keyv)': ms(percentile(hot, 50)),
        'RSS before store': mb(rssBefore),
        'RSS after all guilds': mb(rss),
      },
    ]);
    await store.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Guild indexes and their records on disk as the bot leaves them (vectors: seeds 1000 + guild). */
async function writeGuilds(dataDir: string, reals: Float32Array, generator: GeneratorKind, guilds: number, perGuild: number): Promise<void> {
  const keyv = createKeyv({ dataDir }, IMAGE_RECORDS_NAMESPACE);
  const signature = new Uint8Array(1024);
  for (let g = 0; g < guilds; g++) {
    const guildId = `g${g}`;
    const { guild } = await GuildIndex.open(join(dataDir, 'guilds', guildId), { guildId, variant: VARIANT, dimensions: D, policy: DEFAULT_INDEX_POLICY });
    const data = generate(generator, reals, perGuild, 1000 + g);
    const items = Array.from({ length: perGuild }, (_, i) => {
      const record: ImageRecord = {
        guildId, channelId: 'c', messageId: `m${i}`, sourceKey: `a${i}`, authorId: 'u', createdAt: 0, nsfw: false,
        kind: 'attachment', label: `${i}.jpg`, id: guild.allocateId(), contentHash: '0'.repeat(64), width: 1, height: 1, signature,
      };
      return { record, vector: row(data, i) };
    });
    await guild.addMany(items);
    await keyv.setMany(items.map(({ record }) => ({ key: recordKey(guildId, record.id), value: toStoredRecord(record) })));
    await guild.close();
  }
  await keyv.disconnect();
}
