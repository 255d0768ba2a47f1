/**
 * `npm run bench:index [-- --full] [-- --sizes 10000,100000]`: vector index and store benchmark.
 *
 * Data: real EfficientNet-B0 embeddings of ../shared/datasets (embedded once, cached in data/bench-cache),
 * expanded to N vectors as w·real_a + (1−w)·real_b + noise (norm 0.6), re-normalised; queries are fresh
 * vectors drawn the same way. Recall@10 is measured against an exact brute-force scan of the same vectors.
 *
 * Sections: exact-vs-HNSW crossover (picks EXACT_INDEX_MAX_SIZE), HNSW parameter sweep at 10k (picks
 * HNSW_DEFAULTS), one-guild scale runs (each size and each load in a fresh child process so RSS is clean),
 * many small guilds through the real store with LRU eviction. `--full` adds 1M and 1000 guilds × 1000.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createKeyv } from '../src/store/keyv.ts';
import { ExactVectorIndex, dot } from '../src/index/exact.ts';
import { HNSW_DEFAULTS, HnswVectorIndex, type HnswParameters } from '../src/index/hnsw.ts';
import { DEFAULT_INDEX_POLICY } from '../src/index/select.ts';
import { GuildIndex } from '../src/store/guild-index.ts';
import { IMAGE_RECORDS_NAMESPACE, openImageStore, recordKey } from '../src/store/index.ts';
import { toStoredRecord } from '../src/store/records.ts';
import type { ImageRecord } from '../src/store/types.ts';
import { seededRandom } from '../test/store/helpers.ts';

const D = 1280;
const ROOT = resolve(import.meta.dirname, '..');
const SHARED = resolve(process.env.DEJAVU_SHARED_DIR ?? join(ROOT, '..', 'shared'));
const MODEL_DIR = join(SHARED, 'models', 'efficientnet-b0-imagenet-tfjs', 'notop-avgpool-graph-model');
const CACHE = join(ROOT, 'data', 'bench-cache', 'shared-datasets-embeddings.f32');
const NOISE = 0.6;
const QUERIES = 200;
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};

// ---------- data ----------

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

async function realEmbeddings(): Promise<Float32Array> {
  if (existsSync(CACHE)) return new Float32Array(readFileSync(CACHE).buffer.slice(0));
  if (!existsSync(MODEL_DIR)) throw new Error(`needs ../shared (model and datasets) at ${SHARED}`);
  const { createEmbedder, defaultEmbedderOptions } = await import('../src/embedding/index.ts');
  const embedder = await createEmbedder(defaultEmbedderOptions({ modelDir: MODEL_DIR }));
  const files = ['oxford-neardup-dev', 'corel-wang-dev'].flatMap((name) => {
    const dir = join(SHARED, 'datasets', name, 'images');
    return readdirSync(dir).sort().map((file) => join(dir, file));
  });
  console.error(`embedding ${files.length} photos once with ${embedder.backend} (cached in ${CACHE})`);
  const vectors: Float32Array[] = [];
  for (let start = 0; start < files.length; start += 32) {
    const chunk = files.slice(start, start + 32).map((file) => new Uint8Array(readFileSync(file)));
    for (const result of await embedder.embedMany(chunk)) if (!(result instanceof Error)) vectors.push(result.vector);
    process.stderr.write(`\r${Math.min(start + 32, files.length)}/${files.length}`);
  }
  process.stderr.write('\n');
  await embedder.close();
  const all = new Float32Array(vectors.length * D);
  vectors.forEach((vector, i) => all.set(vector, i * D));
  mkdirSync(join(CACHE, '..'), { recursive: true });
  writeFileSync(CACHE, new Uint8Array(all.buffer));
  return all;
}

/** n vectors (row-major): a random mix of two real embeddings plus gaussian noise (norm NOISE), unit length. */
function generate(reals: Float32Array, n: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const count = reals.length / D;
  const out = new Float32Array(n * D);
  const noise = new Float32Array(D);
  for (let row = 0; row < n; row++) {
    // A point between two random real embeddings (no tight clusters of copies), plus noise.
    const a = Math.floor(random() * count) * D;
    const b = Math.floor(random() * count) * D;
    const weight = random();
    let noiseNorm = 0;
    for (let i = 0; i < D; i++) {
      noise[i] = gaussian(random);
      noiseNorm += (noise[i] ?? 0) ** 2;
    }
    const scale = NOISE / Math.sqrt(noiseNorm);
    let norm = 0;
    for (let i = 0; i < D; i++) {
      const value = weight * (reals[a + i] ?? 0) + (1 - weight) * (reals[b + i] ?? 0) + scale * (noise[i] ?? 0);
      out[row * D + i] = value;
      norm += value * value;
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < D; i++) out[row * D + i] = (out[row * D + i] ?? 0) / norm;
  }
  return out;
}

const row = (matrix: Float32Array, i: number): Float32Array => matrix.subarray(i * D, (i + 1) * D);

function exactTopK(data: Float32Array, n: number, query: Float32Array, k: number): number[] {
  const scores: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) scores.push([i, dot(query, data, i * D, D)]);
  return scores.sort((a, b) => b[1] - a[1]).slice(0, k).map(([i]) => i);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const ms = (value: number): string => `${value.toFixed(value < 10 ? 2 : 0)} ms`;

function timeQueries(search: (query: Float32Array) => number[], queries: Float32Array, truth?: number[][]): { p50: number; p99: number; recall: number } {
  const times: number[] = [];
  let found = 0;
  for (let q = 0; q < QUERIES; q++) {
    const query = row(queries, q);
    const start = performance.now();
    const labels = search(query);
    times.push(performance.now() - start);
    if (truth !== undefined) found += labels.filter((label) => truth[q]?.includes(label)).length;
  }
  return { p50: percentile(times, 50), p99: percentile(times, 99), recall: truth === undefined ? Number.NaN : found / (QUERIES * 10) };
}

// ---------- sections ----------

function crossover(reals: Float32Array): void {
  console.log('\n## exact scan vs HNSW by guild size (per image: one insert + one duplicate query, k=10)');
  console.table(
    [500, 1000, 2000, 4000, 8000].map((n) => {
      const data = generate(reals, n, n);
      const queries = generate(reals, QUERIES, 7);
      const exact = new ExactVectorIndex(D);
      let start = performance.now();
      for (let i = 0; i < n; i++) exact.add(i, row(data, i));
      const exactInsert = (performance.now() - start) / n;
      const hnsw = HnswVectorIndex.create(D, HNSW_DEFAULTS, n);
      start = performance.now();
      for (let i = 0; i < n; i++) hnsw.add(i, row(data, i));
      const hnswInsert = (performance.now() - start) / n;
      const exactQuery = timeQueries((q) => exact.search(q, 10).map((h) => h.label), queries);
      const hnswQuery = timeQueries((q) => hnsw.search(q, 10).map((h) => h.label), queries);
      return {
        images: n,
        'exact insert': ms(exactInsert),
        'exact query p50': ms(exactQuery.p50),
        'hnsw insert': ms(hnswInsert),
        'hnsw query p50': ms(hnswQuery.p50),
        'exact insert+query': ms(exactInsert + exactQuery.p50),
        'hnsw insert+query': ms(hnswInsert + hnswQuery.p50),
      };
    }),
  );
}

function sweep(reals: Float32Array): void {
  const n = Number(flag('--sweep-size') ?? 10_000);
  console.log(`\n## HNSW parameters at ${n} images (recall@10 vs exact, ${QUERIES} queries, single thread)`);
  const data = generate(reals, n, 1);
  const queries = generate(reals, QUERIES, 2);
  const truth = Array.from({ length: QUERIES }, (_, q) => exactTopK(data, n, row(queries, q), 10));
  const rows: Array<Record<string, string | number>> = [];
  for (const [m, efConstruction] of [[8, 100], [16, 100], [16, 200], [24, 200]] as const) {
    const index = HnswVectorIndex.create(D, { m, efConstruction, efSearch: 64 }, n);
    const start = performance.now();
    for (let i = 0; i < n; i++) index.add(i, row(data, i));
    const build = (performance.now() - start) / 1000;
    for (const ef of [16, 32, 64, 128]) {
      index.setEfSearch(ef);
      const result = timeQueries((q) => index.search(q, 10).map((h) => h.label), queries, truth);
      rows.push({ M: m, efC: efConstruction, ef, 'build s': build.toFixed(1), 'recall@10': result.recall.toFixed(4), p50: ms(result.p50), p99: ms(result.p99) });
    }
  }
  console.table(rows);
}

/** Child: builds one size, saves it, prints JSON. */
async function buildChild(n: number, path: string, parameters: HnswParameters): Promise<void> {
  const reals = await realEmbeddings();
  const data = generate(reals, n, 11);
  const rssBefore = process.memoryUsage().rss;
  const index = HnswVectorIndex.create(D, parameters, n);
  const start = performance.now();
  for (let i = 0; i < n; i++) index.add(i, row(data, i));
  const buildSeconds = (performance.now() - start) / 1000;
  const rssDelta = process.memoryUsage().rss - rssBefore;
  const queries = generate(reals, QUERIES, 12);
  const truthQueries = Math.min(QUERIES, n >= 1_000_000 ? 50 : QUERIES);
  const truth = Array.from({ length: QUERIES }, (_, q) => (q < truthQueries ? exactTopK(data, n, row(queries, q), 10) : []));
  const recallAt: Record<string, number> = {};
  for (const ef of [64, 128, 256]) {
    index.setEfSearch(ef);
    let found = 0;
    for (let q = 0; q < truthQueries; q++) found += index.search(row(queries, q), 10).filter((h) => truth[q]?.includes(h.label)).length;
    recallAt[`recallEf${ef}`] = found / (truthQueries * 10);
  }
  index.setEfSearch(parameters.efSearch);
  const saveStart = performance.now();
  await index.save(path);
  const saveSeconds = (performance.now() - saveStart) / 1000;
  console.log(JSON.stringify({ buildSeconds, indexRssDelta: rssDelta, ...recallAt, saveSeconds, snapshotBytes: statSync(path).size }));
}

/** Child: loads a saved index cold and queries it; its RSS is the serving footprint. */
async function loadChild(n: number, path: string, parameters: HnswParameters): Promise<void> {
  const reals = await realEmbeddings();
  const queries = generate(reals, QUERIES, 12);
  const start = performance.now();
  const index = await HnswVectorIndex.load(path, D, Array.from({ length: n }, (_, i) => i), parameters);
  const loadSeconds = (performance.now() - start) / 1000;
  const timings: Record<string, number> = {};
  for (const ef of [128, 256]) {
    index.setEfSearch(ef);
    const result = timeQueries((q) => index.search(q, 10).map((h) => h.label), queries);
    timings[`p50Ef${ef}`] = result.p50;
    timings[`p99Ef${ef}`] = result.p99;
  }
  console.log(JSON.stringify({ loadSeconds, rss: process.memoryUsage().rss, ...timings }));
}

function child(mode: string, n: number, path: string): Record<string, number> {
  const result = spawnSync(process.execPath, ['--max-old-space-size=16384', '--import', 'tsx', import.meta.filename, mode, String(n), path], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (result.status !== 0) throw new Error(`${mode} ${n} failed with status ${result.status}`);
  return JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as Record<string, number>;
}

function scale(sizes: number[]): void {
  console.log(`\n## one guild, HNSW M=${HNSW_DEFAULTS.m} efC=${HNSW_DEFAULTS.efConstruction}, single thread (query latency after a cold load)`);
  const dir = mkdtempSync(join(tmpdir(), 'dejavu-bench-'));
  const rows: Array<Record<string, string>> = [];
  try {
    for (const n of sizes) {
      const path = join(dir, `index-${n}.hnsw`);
      const built = child('--build-child', n, path);
      const loaded = child('--load-child', n, path);
      rmSync(path, { force: true });
      rows.push({
        images: String(n),
        'build s': (built.buildSeconds ?? 0).toFixed(0),
        'build RSS Δ': mb(built.indexRssDelta ?? 0),
        'recall@10 ef=64/128/256': [built.recallEf64, built.recallEf128, built.recallEf256].map((r) => (r ?? 0).toFixed(4)).join(' / '),
        'snapshot size': mb(built.snapshotBytes ?? 0),
        'save s': (built.saveSeconds ?? 0).toFixed(1),
        'load s': (loaded.loadSeconds ?? 0).toFixed(2),
        'RSS after load': mb(loaded.rss ?? 0),
        'p50/p99 ef=128': `${ms(loaded.p50Ef128 ?? 0)} / ${ms(loaded.p99Ef128 ?? 0)}`,
        'p50/p99 ef=256': `${ms(loaded.p50Ef256 ?? 0)} / ${ms(loaded.p99Ef256 ?? 0)}`,
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.table(rows);
}

async function manyGuilds(reals: Float32Array, guilds: number, perGuild: number): Promise<void> {
  console.log(`\n## ${guilds} guilds × ${perGuild} images through the store (SQLite keyv, maxLoadedGuilds=32)`);
  const dataDir = mkdtempSync(join(tmpdir(), 'dejavu-bench-guilds-'));
  try {
    const variant = 'bench';
    const keyv = createKeyv({ dataDir }, IMAGE_RECORDS_NAMESPACE);
    const signature = new Uint8Array(1024);
    let start = performance.now();
    for (let g = 0; g < guilds; g++) {
      const guildId = `g${g}`;
      const { guild } = await GuildIndex.open(join(dataDir, 'guilds', guildId), { guildId, variant, dimensions: D, policy: DEFAULT_INDEX_POLICY });
      const data = generate(reals, perGuild, 1000 + g);
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
    const buildSeconds = (performance.now() - start) / 1000;
    const rssBefore = process.memoryUsage().rss;
    const store = await openImageStore({ dataDir, variant, dimensions: D, maxLoadedGuilds: 32, snapshotIntervalMs: 0 });
    const queries = generate(reals, guilds, 5);
    const cold: number[] = [];
    for (let g = 0; g < guilds; g++) {
      start = performance.now();
      const hits = await store.findSimilar(`g${g}`, row(queries, g), { k: 10 });
      cold.push(performance.now() - start);
      if (hits.length !== Math.min(10, perGuild)) throw new Error(`guild g${g} returned ${hits.length} hits`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
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

// ---------- main ----------

const mode = args[0];
if (mode === '--build-child' || mode === '--load-child') {
  const n = Number(args[1]);
  const path = args[2] ?? '';
  await (mode === '--build-child' ? buildChild(n, path, HNSW_DEFAULTS) : loadChild(n, path, HNSW_DEFAULTS));
} else {
  const full = args.includes('--full');
  const reals = await realEmbeddings();
  console.log(`real embeddings: ${reals.length / D} photos from ${SHARED}/datasets; generated vectors = w·real_a + (1-w)·real_b + ${NOISE}·noise, unit length`);
  const only = flag('--only');
  if (only === undefined || only === 'crossover') crossover(reals);
  if (only === undefined || only === 'sweep') sweep(reals);
  const sizes = (flag('--sizes') ?? (full ? '10000,100000,1000000' : '10000,100000')).split(',').map(Number);
  if (only === undefined || only === 'scale') scale(sizes);
  if (only === undefined || only === 'guilds') await manyGuilds(reals, full ? 1000 : Number(flag('--guilds') ?? 1000), full ? 1000 : Number(flag('--per-guild') ?? 100));
}
