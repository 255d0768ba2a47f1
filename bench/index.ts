/**
 * `npm run bench:index [-- --full] [-- --sizes 10000,100000]`: vector index and store benchmark.
 *
 * Data: real EfficientNet-B0 embeddings of ../shared/datasets (embedded once, cached in data/bench-cache),
 * expanded to N vectors as w·real_a + (1−w)·real_b + noise, re-normalised (bench/index-vectors.ts): `real`
 * noise is shaped by the photos' covariance (default), `hard` is isotropic (`--generator real|hard`; the
 * scale section runs both unless told). Queries are fresh vectors drawn the same way. Recall@10 is
 * measured against an exact brute-force scan of the same vectors.
 *
 * Scale (`--only scale [--sizes 100000] [--index hnsw,pca-hnsw] [--generator real,hard]`): one guild per
 * index kind and generator, built and loaded in child processes; the snapshot is evicted from the page
 * cache before the load (`--loads 3`: three fresh loads, medians shown; `--keep` leaves the snapshot). `--only realism`: the generators against held-out photos. `--only projection
 * --sizes 200000`: recall lost by the PCA projection alone (no graph), by candidates re-ranked.
 *
 * Sections: generator realism, exact-vs-HNSW crossover (picks EXACT_SEARCH_MAX_IMAGES), HNSW parameter sweep at 10k (picks
 * HNSW_DEFAULTS), one-guild scale runs (each size and each load in a fresh child process so RSS is clean),
 * many small guilds through the real store with LRU eviction. `--full` adds 1M and 1000 guilds × 1000.
 *
 * `--store postgres` adds the PostgreSQL + pgvector store beside hnswlib for the same sizes (`--only postgres`
 * runs it alone): bulk load + CREATE INDEX time, store.add latency, recall@10 / p50 / p99 at ef_search
 * 40/100/200 (`--pg-ef 100,400`), filtered queries (10% of channels visible, at the largest ef), exact scan,
 * table and index size, halfvec and vector (`--pg-types`); `--pg-m` / `--pg-ef-construction` override the
 * store's HNSW build settings (`--pg-reduced-m` / `--pg-reduced-ef-construction` those of the points'
 * graph). Then the guild is made ready for reduced search (the store's own job: projection fit + points,
 * timed; the points' HNSW index built after them) and searched at ef_search ×
 * re-ranked candidates (`--pg-rerank 128,256`). `--pg-searches full,reduced` picks what is built and
 * measured (at 1M the full-vector CREATE INDEX alone takes ~26 min); `--pg-keep` keeps the schema and
 * `--pg-reuse SCHEMA` searches it again (and times 200 adds into it) without building anything. Each timed
 * pass follows untimed searches with 200 other queries (`--pg-warmup N`), so no setting pays for a cold page
 * cache. Database: --database-url, TEST_POSTGRES_URL or DATABASE_URL; a schema per run, dropped after. The
 * server's shared_buffers is printed: results depend on whether the HNSW index fits.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { createKeyv } from '../src/store/keyv.ts';
import { ExactVectorIndex, dot } from '../src/index/exact.ts';
import { HNSW_DEFAULTS, HnswVectorIndex } from '../src/index/hnsw.ts';
import { withHugePageMalloc } from '../src/index/huge-pages.ts';
import { fitProjection, project } from '../src/index/pca.ts';
import { ReducedHnswVectorIndex } from '../src/index/reduced-hnsw.ts';
import { DEFAULT_INDEX_POLICY, REDUCED_INDEX_DEFAULTS } from '../src/index/select.ts';
import { TopK } from '../src/index/top-k.ts';
import type { VectorIndex } from '../src/index/types.ts';
import { GuildIndex } from '../src/store/guild-index.ts';
import { IMAGE_RECORDS_NAMESPACE, openFileStore, recordKey } from '../src/store/file-store.ts';
import { toStoredRecord } from '../src/store/records.ts';
import type { ImageRecord, RecordMetadata } from '../src/store/types.ts';
import {
  HNSW_EF_CONSTRUCTION,
  HNSW_EF_SEARCH,
  HNSW_M,
  openPostgresImageStore,
  REDUCED_HNSW_EF_CONSTRUCTION,
  REDUCED_HNSW_M,
  REDUCED_RERANK,
  type PostgresImageStore,
  type PostgresStoreOptions,
  type VectorType,
} from '../src/store/postgres/index.ts';
import { generate as generateVectors, realismReport, type GeneratorKind } from './index-vectors.ts';

const D = 1280;
const ROOT = resolve(import.meta.dirname, '..');
const SHARED = resolve(process.env.DEJAVU_SHARED_DIR ?? join(ROOT, '..', 'shared'));
const MODEL_DIR = join(SHARED, 'models', 'efficientnet-b0-imagenet-tfjs', 'notop-avgpool-graph-model');
const CACHE = join(ROOT, 'data', 'bench-cache', 'shared-datasets-embeddings.f32');
const QUERIES = 200;
/**
 * Queries of the scale and PostgreSQL sections. Recall is a mean over queries and a few hard ones swing it:
 * at 1M, 2 of the first 100 queries held 17 of the 37 misses of the default setting.
 */
const SCALE_QUERIES = 1000;
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};

// ---------- data ----------

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

/** Generator for every section but scale: `--generator real` (default: photo-like spectrum) or `hard` (isotropic noise). */
const GENERATOR: GeneratorKind = flag('--generator') === 'hard' ? 'hard' : 'real';

/** n unit vectors (row-major) grown from the real embeddings: see bench/index-vectors.ts. */
function generate(reals: Float32Array, n: number, seed: number, kind: GeneratorKind = GENERATOR): Float32Array {
  return generateVectors(kind, reals, n, seed);
}

const row = (matrix: Float32Array, i: number): Float32Array => matrix.subarray(i * D, (i + 1) * D);

function exactTopK(data: Float32Array, n: number, query: Float32Array, k: number): number[] {
  return filteredTopK(data, n, query, k, () => true);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const ms = (value: number): string => `${value.toFixed(value < 10 ? 2 : 0)} ms`;

/** Latency percentiles of `search` over `queries`; with `truth`, recall@10 and the true labels found per query. */
function timeQueries(search: (query: Float32Array) => number[], queries: Float32Array, truth?: number[][]): { p50: number; p99: number; recall: number; found: number[] } {
  const times: number[] = [];
  const found: number[] = [];
  const count = queries.length / D;
  for (let q = 0; q < count; q++) {
    const query = row(queries, q);
    const start = performance.now();
    const labels = search(query);
    times.push(performance.now() - start);
    if (truth !== undefined) found.push(labels.filter((label) => truth[q]?.includes(label)).length);
  }
  const recall = truth === undefined ? Number.NaN : found.reduce((sum, f) => sum + f, 0) / (count * 10);
  return { p50: percentile(times, 50), p99: percentile(times, 99), recall, found };
}

/** Mean recall@10 over queries (`found`: true top-10 labels each query returned) with its 95% interval. */
function recallWithInterval(found: number[]): { recall: number; interval: number } {
  const recalls = found.map((f) => f / 10);
  const mean = recalls.reduce((sum, r) => sum + r, 0) / recalls.length;
  const variance = recalls.reduce((sum, r) => sum + (r - mean) ** 2, 0) / Math.max(1, recalls.length - 1);
  return { recall: mean, interval: 1.96 * Math.sqrt(variance / recalls.length) };
}

/** Where the exact top 10 of `queries` over the scale data (`name`: which labels count) is cached. */
function truthCachePath(name: string, generator: GeneratorKind, n: number, queries: number): string {
  return join(CACHE, '..', `truth-${generator}-${n}-${queries}-${name}.json`);
}

function readTruthCache(path: string): number[][] | undefined {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as number[][]) : undefined;
}

function writeTruthCache(path: string, truth: number[][]): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, JSON.stringify(truth));
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

// ---------- one guild at scale (--only scale) ----------

type ScaleIndexKind = 'hnsw' | 'pca-hnsw';
/** Vectors generated (and indexed) per chunk: the 1M run never holds all its vectors at once. */
const SCALE_CHUNK = 20_000;
interface SearchSetting {
  ef: number;
  /** pca-hnsw only: graph candidates re-ranked with the full vectors. */
  rerank: number;
}
/** Search settings measured per index kind (the defaults are among them). */
const SCALE_SETTINGS: Record<ScaleIndexKind, SearchSetting[]> = {
  hnsw: [64, 128, 256].map((ef) => ({ ef, rerank: 0 })),
  'pca-hnsw': [
    { ef: 256, rerank: 64 },
    { ef: 256, rerank: 128 },
    { ef: 512, rerank: 128 },
    { ef: 512, rerank: 256 },
    { ef: 768, rerank: 256 },
    { ef: 1024, rerank: 256 },
    { ef: 2048, rerank: 256 },
  ],
};
const settingName = (kind: ScaleIndexKind, setting: SearchSetting): string => (kind === 'hnsw' ? `ef ${setting.ef}` : `ef ${setting.ef} rerank ${setting.rerank}`);

function setBreadth(index: VectorIndex, setting: SearchSetting): void {
  if (index instanceof HnswVectorIndex) index.setEfSearch(setting.ef);
  else if (index instanceof ReducedHnswVectorIndex) {
    index.setEfSearch(setting.ef);
    index.setRerank(setting.rerank);
  }
}

function pathBytes(path: string): number {
  const info = statSync(path);
  return info.isDirectory() ? readdirSync(path).reduce((sum, name) => sum + pathBytes(join(path, name)), 0) : info.size;
}

/**
 * Child: builds one size chunk by chunk, saves it, prints JSON. The exact top 10 per query is kept as the
 * chunks go by (1000 queries at 1M: ~20 min) and cached for the load children, unless already cached.
 */
async function buildChild(n: number, path: string, kind: ScaleIndexKind, generator: GeneratorKind): Promise<void> {
  const reals = await realEmbeddings();
  const queries = generate(reals, SCALE_QUERIES, 12, generator);
  const truthPath = truthCachePath('all', generator, n, SCALE_QUERIES);
  const streamingTruth = existsSync(truthPath) ? [] : Array.from({ length: SCALE_QUERIES }, () => new TopK(10));
  const rssBefore = process.memoryUsage().rss;
  let index: VectorIndex | undefined;
  let fitSeconds = 0;
  let buildSeconds = 0;
  for (let start = 0; start < n; start += SCALE_CHUNK) {
    const count = Math.min(SCALE_CHUNK, n - start);
    const data = generate(reals, count, 11_000 + start / SCALE_CHUNK, generator);
    if (index === undefined) {
      const fitStart = performance.now();
      if (kind === 'hnsw') index = HnswVectorIndex.create(D, HNSW_DEFAULTS, n);
      else {
        const { fitSamples, parameters } = REDUCED_INDEX_DEFAULTS;
        const samples = Array.from({ length: Math.min(fitSamples, count) }, (_, i) => row(data, i));
        index = ReducedHnswVectorIndex.create(D, fitProjection(samples, parameters.reducedDimensions), { ...parameters }, n);
      }
      fitSeconds = (performance.now() - fitStart) / 1000;
    }
    const addStart = performance.now();
    for (let i = 0; i < count; i++) index.add(start + i, row(data, i));
    buildSeconds += (performance.now() - addStart) / 1000;
    streamingTruth.forEach((top, q) => {
      for (let i = 0; i < count; i++) top.offer(start + i, dot(row(queries, q), data, i * D, D));
    });
    if (n >= 100_000) process.stderr.write(`\r${kind} ${generator}: ${start + count}/${n} (${buildSeconds.toFixed(0)} s)`);
  }
  if (n >= 100_000) process.stderr.write('\n');
  if (index === undefined) throw new Error('empty build');
  const rssDelta = process.memoryUsage().rss - rssBefore;
  if (streamingTruth.length > 0) writeTruthCache(truthPath, streamingTruth.map((top) => top.result().map((hit) => hit.label)));
  const saveStart = performance.now();
  await index.save(path);
  const saveSeconds = (performance.now() - saveStart) / 1000;
  index.close?.();
  console.log(JSON.stringify({ fitSeconds, buildSeconds, indexRssDelta: rssDelta, saveSeconds, snapshotBytes: pathBytes(path) }));
}

/**
 * Child: loads a saved index and queries it; its RSS is the serving footprint. The parent evicts the
 * snapshot from the page cache first (fsync + posix_fadvise DONTNEED), so the load and the first query
 * pass read from disk ("cold"); then, per search setting, a warm-up pass and a timed pass, whose results
 * give the recall (of the index as loaded, i.e. as served).
 */
async function loadChild(n: number, path: string, kind: ScaleIndexKind, generator: GeneratorKind): Promise<void> {
  const reals = await realEmbeddings();
  const queries = generate(reals, SCALE_QUERIES, 12, generator);
  const truth = readTruthCache(truthCachePath('all', generator, n, SCALE_QUERIES));
  if (truth === undefined) throw new Error(`no exact top 10 cached for ${n} ${generator} vectors: the build child writes it`);
  const labels = Array.from({ length: n }, (_, i) => i);
  const start = performance.now();
  const index: VectorIndex =
    kind === 'hnsw'
      ? await HnswVectorIndex.load(path, D, labels, HNSW_DEFAULTS)
      : await ReducedHnswVectorIndex.load(path, D, labels, { ...REDUCED_INDEX_DEFAULTS.parameters });
  const loadSeconds = (performance.now() - start) / 1000;
  const rssAfterLoad = process.memoryUsage().rss;
  const timings: Record<string, number> = {};
  const { efSearch, rerank } = REDUCED_INDEX_DEFAULTS.parameters;
  setBreadth(index, kind === 'hnsw' ? { ef: HNSW_DEFAULTS.efSearch, rerank: 0 } : { ef: efSearch, rerank });
  const cold = timeQueries((q) => index.search(q, 10).map((h) => h.label), queries);
  timings.p50Cold = cold.p50;
  timings.p99Cold = cold.p99;
  for (const setting of SCALE_SETTINGS[kind]) {
    setBreadth(index, setting);
    // Warm: a first pass brings the vectors this setting re-ranks into the page cache, the second is timed.
    timeQueries((q) => index.search(q, 10).map((h) => h.label), queries);
    const result = timeQueries((q) => index.search(q, 10).map((h) => h.label), queries, truth);
    const { recall, interval } = recallWithInterval(result.found);
    const name = settingName(kind, setting);
    Object.assign(timings, { [`p50 ${name}`]: result.p50, [`p99 ${name}`]: result.p99, [`recall ${name}`]: recall, [`recall interval ${name}`]: interval });
  }
  const rssEnd = process.memoryUsage().rss;
  index.close?.();
  console.log(JSON.stringify({ loadSeconds, rss: rssAfterLoad, rssEnd, ...timings }));
}

/** `--loads N`: load children per snapshot (default 1). */
const LOAD_RUNS = Math.max(1, Number(flag('--loads') ?? 1));

/** Per key, the median over runs. */
function medianOf(runs: Array<Record<string, number>>): Record<string, number> {
  const keys = new Set(runs.flatMap((run) => Object.keys(run)));
  return Object.fromEntries([...keys].map((key) => [key, percentile(runs.map((run) => run[key] ?? Number.NaN), 50)]));
}

function child(mode: string, n: number, path: string, kind: ScaleIndexKind, generator: GeneratorKind, env: NodeJS.ProcessEnv = process.env): Record<string, number> {
  const result = spawnSync(process.execPath, ['--max-old-space-size=16384', '--import', 'tsx', import.meta.filename, mode, String(n), path, kind, generator], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (result.status !== 0) throw new Error(`${mode} ${n} ${kind} ${generator} failed with status ${result.status}`);
  return JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as Record<string, number>;
}

/** Drops the snapshot's pages from the page cache (python's os.posix_fadvise; node has no fadvise). */
function evictFromPageCache(path: string): boolean {
  const files = statSync(path).isDirectory() ? readdirSync(path).map((name) => join(path, name)) : [path];
  const script = 'import os,sys\nfor p in sys.argv[1:]:\n fd=os.open(p,os.O_RDONLY); os.fsync(fd); os.posix_fadvise(fd,0,0,os.POSIX_FADV_DONTNEED); os.close(fd)';
  return spawnSync('python3', ['-c', script, ...files], { stdio: 'inherit' }).status === 0;
}

function scale(sizes: number[]): void {
  const kinds = (flag('--index') ?? 'hnsw,pca-hnsw').split(',') as ScaleIndexKind[];
  const generators = (flag('--generator') ?? 'real,hard').split(',') as GeneratorKind[];
  const reduced = REDUCED_INDEX_DEFAULTS.parameters;
  console.log(
    `\n## one guild, single thread. hnsw: M=${HNSW_DEFAULTS.m} efC=${HNSW_DEFAULTS.efConstruction} on 1280-d, setting = ef. ` +
      `pca-hnsw: M=${reduced.m} efC=${reduced.efConstruction} on ${reduced.reducedDimensions}-d PCA + exact re-rank, setting = ef = candidates re-ranked. ` +
      `Load and the first query pass after evicting the snapshot from the page cache (cold); later passes warm.`,
  );
  // `--reuse DIR`: snapshots are kept in DIR, and one already there is loaded instead of built again.
  const reuse = flag('--reuse');
  const keep = reuse !== undefined || args.includes('--keep');
  const dir = reuse ?? mkdtempSync(join(tmpdir(), 'dejavu-bench-'));
  mkdirSync(dir, { recursive: true });
  const rows: Array<Record<string, string>> = [];
  const settingRows: Array<Record<string, string>> = [];
  try {
    for (const n of sizes) {
      for (const generator of generators) {
        for (const kind of kinds) {
          const path = join(dir, `index-${n}-${generator}.${kind}`);
          const reused = reuse !== undefined && existsSync(path);
          const built = reused ? {} : child('--build-child', n, path, kind, generator);
          // Each load in a fresh child after evicting the snapshot again, alternating plain glibc malloc and
          // huge pages (src/index/huge-pages.ts); the table shows medians (noisy VM).
          const loads: Array<Record<string, number>> = [];
          const hugeLoads: Array<Record<string, number>> = [];
          let evicted = true;
          for (let run = 0; run < LOAD_RUNS; run++) {
            evicted = evictFromPageCache(path) && evicted;
            loads.push(child('--load-child', n, path, kind, generator));
            evicted = evictFromPageCache(path) && evicted;
            hugeLoads.push(child('--load-child', n, path, kind, generator, withHugePageMalloc(process.env)));
          }
          const loaded = medianOf(loads);
          const hugeLoaded = medianOf(hugeLoads);
          const snapshotBytes = pathBytes(path);
          const seconds = (runs: Array<Record<string, number>>): string => runs.map((l) => (l.loadSeconds ?? 0).toFixed(1)).join(' ');
          if (keep) console.error(`kept ${path} (load it again: npm run bench:index -- --only scale --sizes ${n} --index ${kind} --generator ${generator} --reuse ${dir})`);
          else rmSync(path, { recursive: true, force: true });
          const pair = (a: number | undefined, b: number | undefined): string => `${ms(a ?? 0)} / ${ms(b ?? 0)}`;
          const summary = {
            images: String(n),
            vectors: generator,
            index: kind,
            'fit+build s': reused ? 'reused' : `${(built.fitSeconds ?? 0).toFixed(0)}+${(built.buildSeconds ?? 0).toFixed(0)}`,
            'build RSS Δ': reused ? '-' : mb(built.indexRssDelta ?? 0),
            snapshot: mb(snapshotBytes),
            'save s': reused ? '-' : (built.saveSeconds ?? 0).toFixed(1),
            [`load s (${evicted ? 'cold' : 'warm'}${LOAD_RUNS > 1 ? `, median of ${LOAD_RUNS}: ${seconds(loads)}` : ''})`]: (loaded.loadSeconds ?? 0).toFixed(2),
            [`load s, huge pages${LOAD_RUNS > 1 ? ` (${seconds(hugeLoads)})` : ''}`]: (hugeLoaded.loadSeconds ?? 0).toFixed(2),
            'RSS after load': mb(loaded.rss ?? 0),
            'RSS after load, huge pages': mb(hugeLoaded.rss ?? 0),
            'RSS after queries': mb(loaded.rssEnd ?? 0),
            'p50/p99 default, first pass': pair(loaded.p50Cold, loaded.p99Cold),
          };
          console.error(JSON.stringify(summary));
          rows.push(summary);
          for (const setting of SCALE_SETTINGS[kind]) {
            const name = settingName(kind, setting);
            const recall = `${(loaded[`recall ${name}`] ?? 0).toFixed(3)} ± ${(loaded[`recall interval ${name}`] ?? 0).toFixed(3)}`;
            const line = { images: String(n), vectors: generator, index: kind, setting: name, [`recall@10 (${SCALE_QUERIES} queries, 95%)`]: recall, 'p50/p99 (warm)': pair(loaded[`p50 ${name}`], loaded[`p99 ${name}`]) };
            console.error(JSON.stringify(line));
            settingRows.push(line);
          }
        }
      }
    }
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
  console.table(rows);
  console.table(settingRows);
}

/**
 * `--only projection`: how much recall the PCA projection alone costs (no graph): exact search on the
 * 256-d projections, top R re-ranked with the full vectors, against exact full-vector top 10.
 */
function projectionRecall(reals: Float32Array, n: number): void {
  const { fitSamples, parameters } = REDUCED_INDEX_DEFAULTS;
  const truthQueries = 50;
  const queries = generate(reals, truthQueries, 12);
  const full = Array.from({ length: truthQueries }, () => new TopK(10));
  const reduced = Array.from({ length: truthQueries }, () => new TopK(512));
  let projected: number[][] = [];
  let projection: ReturnType<typeof fitProjection> | undefined;
  for (let start = 0; start < n; start += SCALE_CHUNK) {
    const count = Math.min(SCALE_CHUNK, n - start);
    const data = generate(reals, count, 11_000 + start / SCALE_CHUNK);
    if (projection === undefined) {
      projection = fitProjection(Array.from({ length: Math.min(fitSamples, count) }, (_, i) => row(data, i)), parameters.reducedDimensions);
      const fitted = projection;
      projected = Array.from({ length: truthQueries }, (_, q) => project(fitted, row(queries, q)));
    }
    for (let i = 0; i < count; i++) {
      const p = project(projection, row(data, i));
      for (let q = 0; q < truthQueries; q++) {
        full[q]?.offer(start + i, dot(row(queries, q), data, i * D, D));
        const pq = projected[q] ?? [];
        let score = 0;
        for (let k = 0; k < p.length; k++) score += (pq[k] ?? 0) * (p[k] ?? 0);
        reduced[q]?.offer(start + i, score);
      }
    }
  }
  console.log(`\n## projection only, ${n} ${GENERATOR} vectors: exact search on ${parameters.reducedDimensions}-d, top R re-ranked exactly (${truthQueries} queries)`);
  const truth = full.map((top) => new Set(top.result().map((hit) => hit.label)));
  const candidates = reduced.map((top) => top.result().map((hit) => hit.label));
  console.table(
    [10, 32, 64, 128, 256].map((r) => ({
      R: r,
      'recall@10': (candidates.reduce((sum, labels, q) => sum + labels.slice(0, r).filter((label) => truth[q]?.has(label)).length, 0) / (truthQueries * 10)).toFixed(3),
    })),
  );
}

/** Held-out real photos vs generated vectors: nearest-neighbour cosines and effective dimensions. */
function realism(reals: Float32Array): void {
  console.log('\n## generator realism (held-out photos = every 5th photo; the generators use the rest)');
  const count = reals.length / D;
  const order = [...Array.from({ length: count }, (_, i) => i).filter((i) => i % 5 !== 0), ...Array.from({ length: count }, (_, i) => i).filter((i) => i % 5 === 0)];
  const shuffled = new Float32Array(reals.length);
  order.forEach((source, i) => shuffled.set(row(reals, source), i * D));
  console.table(realismReport(shuffled, Math.ceil(count / 5), [0.2, 0.3, 0.5]));
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
    const store = await openFileStore({ dataDir, variant, dimensions: D, maxLoadedGuilds: 32, snapshotIntervalMs: 0 });
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

// ---------- PostgreSQL + pgvector (--store postgres) ----------

const CHANNELS = 10;

interface PgSearchRow {
  'vector type': string;
  images: number;
  search: string;
  query: string;
  ef: number | string;
  'recall@10': string;
  'results (min)': number;
  p50: string;
  p99: string;
}

/** Recall@10 and latency of `store.findSimilar` over the benchmark queries (k = 10). */
async function pgQueries(
  store: PostgresImageStore,
  queries: Float32Array,
  truth: number[][],
  warmup: Float32Array,
  filter?: (record: RecordMetadata) => boolean,
): Promise<{ recall: string; p50: number; p99: number; fewest: number }> {
  const times: number[] = [];
  const found: number[] = [];
  let fewest = Number.POSITIVE_INFINITY;
  const count = queries.length / D;
  const options = filter === undefined ? { k: 10 } : { k: 10, filter };
  // Warm-up with other queries: the pool's connections, pgvector's library, and the pages a search of this
  // kind touches, read into the page cache (a kept schema searched again starts cold).
  for (let q = 0; q < warmup.length / D; q++) await store.findSimilar('bench', row(warmup, q), options);
  for (let q = 0; q < count; q++) {
    const start = performance.now();
    const hits = await store.findSimilar('bench', row(queries, q), options);
    times.push(performance.now() - start);
    fewest = Math.min(fewest, hits.length);
    found.push(hits.filter((hit) => truth[q]?.includes(Number(hit.record.sourceKey))).length);
  }
  const { recall, interval } = recallWithInterval(found);
  return { recall: `${recall.toFixed(3)} ± ${interval.toFixed(3)}`, p50: percentile(times, 50), p99: percentile(times, 99), fewest };
}

/** pgvector's binary `vector` input (int16 dimensions, int16 0, big-endian float4s): no text to print or parse. */
function binaryVector(vector: Float32Array): Buffer {
  const bytes = Buffer.alloc(4 + vector.length * 4);
  bytes.writeInt16BE(vector.length, 0);
  vector.forEach((value, i) => bytes.writeFloatBE(value, 4 + i * 4));
  return bytes;
}

/**
 * Inserts rows 0…n−1 of `data` into one guild as images 1…n (source key = row number, channel c<row % 10>),
 * in batches of 200, with vectors in pgvector's binary form cast to the column type by the server.
 */
async function pgInsertRows(client: pg.Client, schema: string, vectorType: string, guildId: string, data: Float32Array, n: number): Promise<void> {
  const signature = Buffer.alloc(1024);
  const batch = 200;
  for (let first = 0; first < n; first += batch) {
    const count = Math.min(batch, n - first);
    const values: string[] = [];
    const parameters: unknown[] = [signature, guildId];
    for (let i = first; i < first + count; i++) {
      parameters.push(String(i), `c${i % CHANNELS}`, binaryVector(row(data, i)));
      const p = parameters.length;
      values.push(`($2, ${i + 1}, $${p - 1}, 'm' || $${p - 2}, $${p - 2}, 'u', 0, false, 'attachment', 'x.jpg', '${'0'.repeat(64)}', 1, 1, $1, $${p}::vector::${vectorType})`);
    }
    await client.query(
      `INSERT INTO ${schema}.images (guild_id, id, channel_id, message_id, source_key, author_id, created_at, nsfw, kind, label, content_hash, width, height, signature, embedding) VALUES ${values.join(',')}`,
      parameters,
    );
  }
}

/**
 * Loads n rows into one guild of a fresh schema (HNSW index dropped during the load, then built unless
 * `buildIndex` is false).
 */
async function pgLoad(
  client: pg.Client,
  schema: string,
  vectorType: string,
  data: Float32Array,
  n: number,
  buildIndex: boolean,
): Promise<{ loadSeconds: number; indexSeconds: number }> {
  await client.query(`DROP INDEX ${schema}.images_embedding_hnsw`);
  const start = performance.now();
  await pgInsertRows(client, schema, vectorType, 'bench', data, n);
  await client.query(`UPDATE ${schema}.guilds SET images = $1, next_id = $1 + 1 WHERE guild_id = 'bench'`, [n]);
  const loadSeconds = (performance.now() - start) / 1000;
  if (!buildIndex) return { loadSeconds, indexSeconds: Number.NaN };
  const indexSeconds = await pgCreateIndex(client, schema, 'images_embedding_hnsw', 'images', `embedding ${vectorType}_cosine_ops`, PG_GRAPH);
  await client.query(`ANALYZE ${schema}.images`);
  return { loadSeconds, indexSeconds };
}

/**
 * Builds one of the store's HNSW indexes as its migration would, with the bench's build settings; seconds.
 * The build is fastest when the whole graph fits (about 4 GB for 1M 1280-d halfvec): `--pg-maintenance-work-mem 6GB`.
 */
async function pgCreateIndex(client: pg.Client, schema: string, name: string, table: string, column: string, graph: { m: number; efConstruction: number }): Promise<number> {
  const start = performance.now();
  await client.query(`SET maintenance_work_mem = '${flag('--pg-maintenance-work-mem') ?? '1GB'}'`);
  await client.query(`CREATE INDEX ${name} ON ${schema}.${table} USING hnsw (${column}) WITH (m = ${graph.m}, ef_construction = ${graph.efConstruction})`);
  return (performance.now() - start) / 1000;
}

/** --database-url, TEST_POSTGRES_URL or DATABASE_URL. */
function pgDatabaseUrl(): string {
  const databaseUrl = flag('--database-url') ?? process.env.TEST_POSTGRES_URL ?? process.env.DATABASE_URL;
  if (databaseUrl === undefined) throw new Error('--store postgres needs --database-url, TEST_POSTGRES_URL or DATABASE_URL');
  return databaseUrl;
}

async function pgSizes(client: pg.Client, schema: string): Promise<{ total: number; hnsw: number }> {
  const { rows } = await client.query<{ total: string; hnsw: string }>(
    `SELECT (SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = '${schema}.images'::regclass) AS total,
            (SELECT sum(pg_relation_size(c.oid)) FROM pg_class c JOIN pg_am am ON am.oid = c.relam
              WHERE am.amname = 'hnsw' AND c.relnamespace = '${schema}'::regnamespace) AS hnsw`,
  );
  return { total: Number(rows[0]?.total ?? 0), hnsw: Number(rows[0]?.hnsw ?? 0) };
}

/** HNSW build and search settings of the PostgreSQL section (defaults: the store's own). */
const PG_GRAPH = { m: Number(flag('--pg-m') ?? HNSW_M), efConstruction: Number(flag('--pg-ef-construction') ?? HNSW_EF_CONSTRUCTION) };
const PG_REDUCED_GRAPH = {
  m: Number(flag('--pg-reduced-m') ?? REDUCED_HNSW_M),
  efConstruction: Number(flag('--pg-reduced-ef-construction') ?? REDUCED_HNSW_EF_CONSTRUCTION),
};
const PG_EF_SEARCH = (flag('--pg-ef') ?? `40,100,${HNSW_EF_SEARCH}`).split(',').map(Number);
const PG_RERANK = (flag('--pg-rerank') ?? `128,${REDUCED_RERANK}`).split(',').map(Number);
const PG_SEARCHES = (flag('--pg-searches') ?? 'full,reduced').split(',');
/** Untimed searches before each timed pass (other queries than the measured ones). */
const PG_WARMUP_QUERIES = Number(flag('--pg-warmup') ?? 200);

/**
 * Exact top 10 of every benchmark query over the scale section's first n vectors (optionally only labels
 * `keep` allows), cached in data/bench-cache: at 1M it costs ~10 minutes of one core.
 */
function cachedTruth(name: string, data: Float32Array, n: number, queries: Float32Array, keep?: (i: number) => boolean): number[][] {
  const path = truthCachePath(name, GENERATOR, n, queries.length / D);
  const cached = readTruthCache(path);
  if (cached !== undefined) return cached;
  const truth = Array.from({ length: queries.length / D }, (_, q) => filteredTopK(data, n, row(queries, q), 10, keep ?? (() => true)));
  writeTruthCache(path, truth);
  return truth;
}

/**
 * The PostgreSQL store beside hnswlib: the same generated vectors and queries (seed 12) as the scale
 * section (its default generator), one guild per size, through PostgresImageStore.findSimilar (the bot's path), for halfvec
 * and vector. Each run uses its own schema, dropped afterwards.
 */
async function postgresScale(reals: Float32Array, sizes: number[]): Promise<void> {
  const databaseUrl = pgDatabaseUrl();
  const types = (flag('--pg-types') ?? 'halfvec,vector').split(',') as VectorType[];
  console.log(`\n## PostgreSQL + pgvector, one guild, HNSW m=${PG_GRAPH.m} ef_construction=${PG_GRAPH.efConstruction} (reduced points: ${PG_REDUCED_GRAPH.m} / ${PG_REDUCED_GRAPH.efConstruction}), ${SCALE_QUERIES} queries k=10, sizes ${sizes.join(', ')}, types ${types.join(', ')}`);
  const builds: Array<Record<string, string | number>> = [];
  const searches: PgSearchRow[] = [];
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const { rows: settings } = await client.query<{ shared_buffers: string }>('SHOW shared_buffers');
  console.log(`server shared_buffers: ${settings[0]?.shared_buffers ?? '?'}`);
  const queries = generate(reals, SCALE_QUERIES, 12);
  const warmup = generate(reals, PG_WARMUP_QUERIES, 14);
  try {
    for (const n of sizes) {
      const data = scaleData(reals, n);
      const truthStart = performance.now();
      const truth = cachedTruth('all', data, n, queries);
      const visible = cachedTruth('channel3', data, n, queries, (i) => i % CHANNELS === 3);
      console.error(`exact truth for ${n}: ${((performance.now() - truthStart) / 1000).toFixed(0)} s`);
      for (const vectorType of types) {
        // --pg-reuse SCHEMA: search a schema that --pg-keep left, without loading or building anything.
        const reused = flag('--pg-reuse');
        const schema = reused ?? `dejavu_bench_${process.pid}_${vectorType}_${n}`;
        try {
          // exactSearchMaxImages 0: always an index; MAX_SAFE_INTEGER: always the exact scan. The reduction
          // threshold is out of reach until the bench asks for it, so adds never start the job by themselves.
          const open = (efSearch: number, more: Partial<PostgresStoreOptions> = {}): Promise<PostgresImageStore> =>
            openPostgresImageStore({
              databaseUrl, variant: 'bench', dimensions: D, vectorType, schema, efSearch, exactSearchMaxImages: 0,
              reducedSearchMinImages: Number.MAX_SAFE_INTEGER, maxConnections: 2, ...more,
            });
          const measure = async (search: string, settings: Array<{ ef: number; rerank?: number }>, filteredAt: { ef: number; rerank?: number }): Promise<void> => {
            for (const setting of settings) {
              const store = await open(setting.ef, setting.rerank === undefined ? {} : { rerank: setting.rerank });
              const label = setting.rerank === undefined ? setting.ef : `${setting.ef} / ${setting.rerank} re-ranked`;
              const result = await pgQueries(store, queries, truth, warmup);
              searches.push({ 'vector type': vectorType, images: n, search, query: 'all channels', ef: label, 'recall@10': result.recall, 'results (min)': result.fewest, p50: ms(result.p50), p99: ms(result.p99) });
              if (setting === filteredAt) {
                const filtered = await pgQueries(store, queries, visible, warmup, (record) => record.channelId === 'c3');
                searches.push({ 'vector type': vectorType, images: n, search, query: '10% of channels', ef: label, 'recall@10': filtered.recall, 'results (min)': filtered.fewest, p50: ms(filtered.p50), p99: ms(filtered.p99) });
              }
              await store.close();
            }
          };
          const reducedSettings = PG_EF_SEARCH.flatMap((ef) => PG_RERANK.map((rerank) => ({ ef, rerank })));
          const measureReduced = (): Promise<void> =>
            measure('reduced + re-rank', reducedSettings, reducedSettings.find((s) => s.ef === HNSW_EF_SEARCH && s.rerank === REDUCED_RERANK) ?? reducedSettings.at(-1) ?? { ef: HNSW_EF_SEARCH });
          // Incremental adds through the store with the indexes in place (the bot's steady state).
          const extra = generate(reals, 200, 13);
          const timeAdds = async (store: PostgresImageStore, batch: string): Promise<number> => {
            const addStart = performance.now();
            for (let i = 0; i < 200; i++) {
              await store.add({ guildId: 'bench', channelId: 'c', messageId: batch, sourceKey: `${batch}${i}`, authorId: 'u', createdAt: 0, nsfw: false, kind: 'attachment', label: 'x' }, '0'.repeat(64), {
                vector: row(extra, i), signature: new Uint8Array(1024), width: 1, height: 1,
              });
            }
            const addMs = (performance.now() - addStart) / 200;
            await store.removeMessage('bench', batch);
            return addMs;
          };
          if (reused !== undefined) {
            // A kept schema: adds into its live indexes (removed again), then the searches.
            const store = await open(HNSW_EF_SEARCH);
            builds.push({ 'vector type': vectorType, images: n, schema: reused, 'store.add ms': (await timeAdds(store, 'y')).toFixed(1) });
            await store.close();
            if (PG_SEARCHES.includes('reduced')) await measureReduced();
            continue;
          }
          const setup = await open(HNSW_EF_SEARCH);
          // One add through the store creates the guild row (variant, allocator); its image makes way for the bulk load.
          await setup.add({ guildId: 'bench', channelId: 'c', messageId: 'm', sourceKey: 'seed', authorId: 'u', createdAt: 0, nsfw: false, kind: 'attachment', label: 'x' }, '0'.repeat(64), {
            vector: row(data, 0), signature: new Uint8Array(1024), width: 1, height: 1,
          });
          await client.query(`DELETE FROM ${schema}.images`);
          const { loadSeconds, indexSeconds } = await pgLoad(client, schema, vectorType, data, n, PG_SEARCHES.includes('full'));
          const fullAddMs = PG_SEARCHES.includes('full') ? await timeAdds(setup, 'x') : Number.NaN;
          await client.query(`VACUUM ANALYZE ${schema}.images`);
          const build: Record<string, string | number> = {
            'vector type': vectorType,
            images: n,
            'bulk insert s': loadSeconds.toFixed(0),
            'CREATE INDEX s': indexSeconds.toFixed(0),
            'store.add ms': fullAddMs.toFixed(1),
          };
          if (PG_SEARCHES.includes('full')) {
            const settings = [...new Set(PG_EF_SEARCH)].sort((a, b) => a - b).map((ef) => ({ ef }));
            await measure('full vectors', settings, settings.at(-1) ?? { ef: HNSW_EF_SEARCH });
          }
          if (PG_SEARCHES.includes('reduced')) {
            // The store's own job (fit + points), with the points' HNSW index built after them as a bulk
            // load would; a guild that grows into reduced search fills into the live index instead.
            await client.query(`DROP INDEX ${schema}.image_reductions_hnsw`);
            const reduceStart = performance.now();
            const outcome = await setup.reduceGuild('bench');
            if (outcome !== 'ready') throw new Error(`reduceGuild ended ${outcome}`);
            build['reduce: fit + points s'] = ((performance.now() - reduceStart) / 1000).toFixed(0);
            build['reduce: CREATE INDEX s'] = (await pgCreateIndex(client, schema, 'image_reductions_hnsw', 'image_reductions', 'point halfvec_ip_ops', PG_REDUCED_GRAPH)).toFixed(0);
            await client.query(`VACUUM ANALYZE ${schema}.image_reductions`);
            build['store.add ms (reduced)'] = (await timeAdds(setup, 'y')).toFixed(1);
            await measureReduced();
          }
          await setup.close();
          const size = await pgSizes(client, schema);
          build['table+indexes'] = mb(size.total);
          build['HNSW indexes'] = mb(size.hnsw);
          builds.push(build);
          if (n > 20_000 && !args.includes('--pg-exact')) continue; // ~1 s per query at 100k: opt in
          const exact = await open(HNSW_EF_SEARCH, { exactSearchMaxImages: Number.MAX_SAFE_INTEGER });
          // The store's default picks exact up to EXACT_SEARCH_MAX_IMAGES (measured by these two rows).
          const exactResult = await pgQueries(exact, queries, truth, warmup.subarray(0, 10 * D));
          searches.push({ 'vector type': vectorType, images: n, search: 'exact scan', query: 'all channels', ef: '-', 'recall@10': exactResult.recall, 'results (min)': exactResult.fewest, p50: ms(exactResult.p50), p99: ms(exactResult.p99) });
          await exact.close();
        } finally {
          if (reused === undefined && !args.includes('--pg-keep')) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          else console.error(`schema ${schema} kept: search it again with --pg-reuse ${schema}`);
        }
      }
    }
  } finally {
    await client.end();
  }
  console.table(builds);
  console.table(searches);
}

/**
 * Many small guilds in one PostgreSQL schema (`--store postgres --only guilds`): `guilds` guilds of `perGuild`
 * images each (the hnswlib section's vectors, seeds 1000 + g), bulk-loaded, then one query per guild
 * (seed 5, as that section) through the store, all channels and 10% of them, recall against exact search
 * within the guild. Guilds up to EXACT_SEARCH_MAX_IMAGES are scanned exactly, so the HNSW index plays no
 * part in these searches; it is built only with `--pg-guild-index` (its cost follows the row count: see the
 * one-guild run of the same total).
 */
async function pgManyGuilds(reals: Float32Array, guilds: number, perGuild: number): Promise<void> {
  const databaseUrl = pgDatabaseUrl();
  const vectorType = ((flag('--pg-types') ?? 'halfvec').split(',')[0] ?? 'halfvec') as VectorType;
  console.log(`\n## PostgreSQL + pgvector, ${guilds} guilds × ${perGuild} images, ${vectorType}, one query per guild k=10`);
  const schema = `dejavu_bench_${process.pid}_guilds`;
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const setup = await openPostgresImageStore({ databaseUrl, variant: 'bench', dimensions: D, vectorType, schema, maxConnections: 2 });
    await setup.close();
    await client.query(`DROP INDEX ${schema}.images_embedding_hnsw`);
    const queries = generate(reals, guilds, 5);
    const truth: number[][] = [];
    const visible: number[][] = [];
    let start = performance.now();
    for (let g = 0; g < guilds; g++) {
      const data = generate(reals, perGuild, 1000 + g);
      await client.query(`INSERT INTO ${schema}.guilds (guild_id, variant, dimensions, next_id, images) VALUES ($1, 'bench', $2, $3, $4)`, [`g${g}`, D, perGuild + 1, perGuild]);
      await pgInsertRows(client, schema, vectorType, `g${g}`, data, perGuild);
      truth.push(exactTopK(data, perGuild, row(queries, g), 10));
      visible.push(filteredTopK(data, perGuild, row(queries, g), 10, (i) => i % CHANNELS === 3));
    }
    const loadSeconds = (performance.now() - start) / 1000;
    const indexSeconds = args.includes('--pg-guild-index')
      ? await pgCreateIndex(client, schema, 'images_embedding_hnsw', 'images', `embedding ${vectorType}_cosine_ops`, PG_GRAPH)
      : Number.NaN;
    await client.query(`VACUUM ANALYZE ${schema}.images`);
    const store = await openPostgresImageStore({ databaseUrl, variant: 'bench', dimensions: D, vectorType, schema, maxConnections: 2 });
    const rows: Array<Record<string, string | number>> = [];
    for (const [query, expected, filter] of [
      ['all channels', truth, undefined],
      ['10% of channels', visible, (record: RecordMetadata) => record.channelId === 'c3'],
    ] as const) {
      const times: number[] = [];
      const found: number[] = [];
      let fewest = Number.POSITIVE_INFINITY;
      for (let g = 0; g < guilds; g++) {
        start = performance.now();
        const hits = await store.findSimilar(`g${g}`, row(queries, g), filter === undefined ? { k: 10 } : { k: 10, filter });
        times.push(performance.now() - start);
        fewest = Math.min(fewest, hits.length);
        found.push(hits.filter((hit) => expected[g]?.includes(Number(hit.record.sourceKey))).length);
      }
      const { recall, interval } = recallWithInterval(found);
      rows.push({ query, 'recall@10': `${recall.toFixed(3)} ± ${interval.toFixed(3)}`, 'results (min)': fewest, p50: ms(percentile(times, 50)), p99: ms(percentile(times, 99)) });
    }
    await store.close();
    const size = await pgSizes(client, schema);
    console.table([{ guilds, 'images/guild': perGuild, 'bulk insert s': loadSeconds.toFixed(0), 'CREATE INDEX s': indexSeconds.toFixed(0), 'table+indexes': mb(size.total), 'HNSW indexes': mb(size.hnsw) }]);
    console.table(rows);
  } finally {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  }
}

/** The scale section's vectors (chunks of SCALE_CHUNK, seeds 11000 + chunk), so both stores index the same data. */
function scaleData(reals: Float32Array, n: number): Float32Array {
  const data = new Float32Array(n * D);
  for (let start = 0; start < n; start += SCALE_CHUNK) data.set(generate(reals, Math.min(SCALE_CHUNK, n - start), 11_000 + start / SCALE_CHUNK), start * D);
  return data;
}

function filteredTopK(data: Float32Array, n: number, query: Float32Array, k: number, keep: (i: number) => boolean): number[] {
  const scores: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) if (keep(i)) scores.push([i, dot(query, data, i * D, D)]);
  return scores.sort((a, b) => b[1] - a[1]).slice(0, k).map(([i]) => i);
}

// ---------- main ----------

const mode = args[0];
if (mode === '--build-child' || mode === '--load-child') {
  const n = Number(args[1]);
  const path = args[2] ?? '';
  const kind: ScaleIndexKind = args[3] === 'pca-hnsw' ? 'pca-hnsw' : 'hnsw';
  const generator: GeneratorKind = args[4] === 'hard' ? 'hard' : 'real';
  await (mode === '--build-child' ? buildChild(n, path, kind, generator) : loadChild(n, path, kind, generator));
} else {
  const full = args.includes('--full');
  const reals = await realEmbeddings();
  console.log(
    `real embeddings: ${reals.length / D} photos from ${SHARED}/datasets; generated vectors (bench/index-vectors.ts) = w·real_a + (1-w)·real_b + noise, ` +
      `unit length; noise shaped by the photos' covariance ("real", default) or isotropic ("hard"); sections other than scale use ${GENERATOR}`,
  );
  const only = flag('--only');
  const store = flag('--store') ?? 'hnsw';
  if (store !== 'hnsw' && store !== 'postgres') throw new Error(`--store must be hnsw or postgres (got ${store})`);
  if (only === undefined || only === 'realism') realism(reals);
  if (only === undefined || only === 'crossover') crossover(reals);
  if (only === undefined || only === 'sweep') sweep(reals);
  const sizes = (flag('--sizes') ?? (full ? '10000,100000,1000000' : '10000,100000')).split(',').map(Number);
  console.log(`sizes: ${sizes.join(', ')}${store === 'postgres' ? ' (hnswlib and PostgreSQL)' : ''}`);
  if (only === undefined || only === 'scale') scale(sizes);
  if (only === 'projection') projectionRecall(reals, sizes[0] ?? 200_000);
  if (store === 'postgres' && (only === undefined || only === 'scale' || only === 'postgres')) await postgresScale(reals, sizes);
  const guilds = full ? 1000 : Number(flag('--guilds') ?? 1000);
  const perGuild = full ? 1000 : Number(flag('--per-guild') ?? 100);
  if (only === undefined || only === 'guilds') await manyGuilds(reals, guilds, perGuild);
  if (store === 'postgres' && (only === undefined || only === 'guilds' || only === 'postgres-guilds')) await pgManyGuilds(reals, guilds, perGuild);
}
