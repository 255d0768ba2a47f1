/**
 * `--store postgres` (`--only postgres` alone): the PostgreSQL store beside hnswlib. The same generated
 * vectors and queries (seed 12) as the scale section (its default generator), one guild per size, through
 * PostgresImageStore.findSimilar (the bot's path), per column type. Each run uses its own schema, dropped
 * afterwards unless kept.
 */
import pg from 'pg';
import {
  HNSW_EF_SEARCH,
  openPostgresImageStore,
  REDUCED_RERANK,
  type PostgresImageStore,
  type PostgresStoreOptions,
  type VectorType,
} from '../../src/store/postgres/index.ts';
import { generate, type GeneratorKind } from '../index-vectors.ts';
import { D, row, SCALE_QUERIES, scaleData } from './data.ts';
import type { StoreQueryTimes } from './measure.ts';
import type { PostgresOptions } from './options.ts';
import { benchEmbedding, benchImage, isVisible, isVisibleRow, PLACEHOLDER_HASH, pgCreateIndex, pgLoad, pgQueries, pgSizes, requireDatabaseUrl } from './pg.ts';
import { mb, ms, type TableRow } from './table.ts';
import { cachedTruth } from './truth.ts';

/** Adds timed into a built guild (and removed again). */
const ADDS = 200;

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

/** A search setting: hnsw.ef_search, and for reduced search the candidates re-ranked. */
interface PgSetting {
  ef: number;
  rerank?: number;
}

/** One schema's run: a column type at one size, with the queries and truths every setting is measured by. */
interface SchemaRun {
  client: pg.Client;
  databaseUrl: string;
  options: PostgresOptions;
  schema: string;
  vectorType: VectorType;
  n: number;
  data: Float32Array;
  queries: Float32Array;
  truth: number[][];
  /** Truth of the filtered queries (one channel in CHANNELS visible). */
  visible: number[][];
  warmup: Float32Array;
  /** Vectors of the timed adds. */
  extra: Float32Array;
}

interface SchemaResult {
  build: TableRow;
  searches: PgSearchRow[];
}

export async function postgresScale(reals: Float32Array, sizes: number[], generator: GeneratorKind, options: PostgresOptions): Promise<void> {
  const databaseUrl = requireDatabaseUrl(options);
  const { graph, reducedGraph, types } = options;
  console.log(`\n## PostgreSQL + pgvector, one guild, HNSW m=${graph.m} ef_construction=${graph.efConstruction} (reduced points: ${reducedGraph.m} / ${reducedGraph.efConstruction}), ${SCALE_QUERIES} queries k=10, sizes ${sizes.join(', ')}, types ${types.join(', ')}`);
  const builds: TableRow[] = [];
  const searches: PgSearchRow[] = [];
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const { rows: settings } = await client.query<{ shared_buffers: string }>('SHOW shared_buffers');
  console.log(`server shared_buffers: ${settings[0]?.shared_buffers ?? '?'}`);
  const queries = generate(generator, reals, SCALE_QUERIES, 12);
  const warmup = generate(generator, reals, options.warmup, 14);
  const extra = generate(generator, reals, ADDS, 13);
  try {
    for (const n of sizes) {
      const data = scaleData(generator, reals, n);
      const truthStart = performance.now();
      const truth = cachedTruth('all', generator, data, n, queries);
      const visible = cachedTruth('channel3', generator, data, n, queries, isVisibleRow);
      console.error(`exact truth for ${n}: ${((performance.now() - truthStart) / 1000).toFixed(0)} s`);
      for (const vectorType of types) {
        const schema = options.reuse ?? `dejavu_bench_${process.pid}_${vectorType}_${n}`;
        const run: SchemaRun = { client, databaseUrl, options, schema, vectorType, n, data, queries, truth, visible, warmup, extra };
        try {
          const result = options.reuse === undefined ? await buildAndMeasure(run) : await measureReused(run);
          builds.push(result.build);
          searches.push(...result.searches);
        } finally {
          if (options.reuse === undefined && !options.keep) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
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
 * The store on the run's schema. exactSearchMaxImages 0: always an index; MAX_SAFE_INTEGER: always the
 * exact scan. The reduction threshold is out of reach until the bench asks for it, so adds never start
 * the job by themselves.
 */
function openStore(run: SchemaRun, efSearch: number, more: Partial<PostgresStoreOptions> = {}): Promise<PostgresImageStore> {
  const { databaseUrl, vectorType, schema } = run;
  return openPostgresImageStore({
    databaseUrl, variant: 'bench', dimensions: D, vectorType, schema, efSearch, exactSearchMaxImages: 0,
    reducedSearchMinImages: Number.MAX_SAFE_INTEGER, maxConnections: 2, ...more,
  });
}

function searchRow(run: SchemaRun, search: string, query: string, ef: number | string, result: StoreQueryTimes): PgSearchRow {
  return { 'vector type': run.vectorType, images: run.n, search, query, ef, 'recall@10': result.recall, 'results (min)': result.fewest, p50: ms(result.p50), p99: ms(result.p99) };
}

/** Each setting over all channels; at `filteredAt`, the filtered queries too. */
async function measureSettings(run: SchemaRun, search: string, settings: PgSetting[], filteredAt: PgSetting): Promise<PgSearchRow[]> {
  const rows: PgSearchRow[] = [];
  for (const setting of settings) {
    const store = await openStore(run, setting.ef, setting.rerank === undefined ? {} : { rerank: setting.rerank });
    const label = setting.rerank === undefined ? setting.ef : `${setting.ef} / ${setting.rerank} re-ranked`;
    rows.push(searchRow(run, search, 'all channels', label, await pgQueries(store, run.queries, run.truth, run.warmup)));
    if (setting === filteredAt) rows.push(searchRow(run, search, '10% of channels', label, await pgQueries(store, run.queries, run.visible, run.warmup, isVisible)));
    await store.close();
  }
  return rows;
}

/** Every ef × re-rank pair, the filtered queries at the store's defaults. */
function measureReduced(run: SchemaRun): Promise<PgSearchRow[]> {
  const settings = run.options.efSearch.flatMap((ef) => run.options.rerank.map((rerank) => ({ ef, rerank })));
  const filteredAt = settings.find((s) => s.ef === HNSW_EF_SEARCH && s.rerank === REDUCED_RERANK) ?? settings.at(-1) ?? { ef: HNSW_EF_SEARCH };
  return measureSettings(run, 'reduced + re-rank', settings, filteredAt);
}

function measureFull(run: SchemaRun): Promise<PgSearchRow[]> {
  const settings = [...new Set(run.options.efSearch)].sort((a, b) => a - b).map((ef) => ({ ef }));
  return measureSettings(run, 'full vectors', settings, settings.at(-1) ?? { ef: HNSW_EF_SEARCH });
}

/** Mean ms of incremental adds through the store with the indexes in place (the bot's steady state); removed again. */
async function timeAdds(store: PostgresImageStore, extra: Float32Array, batch: string): Promise<number> {
  const addStart = performance.now();
  for (let i = 0; i < ADDS; i++) await store.add(benchImage(batch, `${batch}${i}`), PLACEHOLDER_HASH, benchEmbedding(row(extra, i)));
  const addMs = (performance.now() - addStart) / ADDS;
  await store.removeMessage('bench', batch);
  return addMs;
}

/** `--pg-reuse`: a kept schema, adds into its live indexes (removed again), then the reduced searches. */
async function measureReused(run: SchemaRun): Promise<SchemaResult> {
  const store = await openStore(run, HNSW_EF_SEARCH);
  const build = { 'vector type': run.vectorType, images: run.n, schema: run.schema, 'store.add ms': (await timeAdds(store, run.extra, 'y')).toFixed(1) };
  await store.close();
  return { build, searches: run.options.searches.includes('reduced') ? await measureReduced(run) : [] };
}

/** A fresh schema: bulk load, the indexes `--pg-searches` asks for, their searches, sizes, and the exact scan. */
async function buildAndMeasure(run: SchemaRun): Promise<SchemaResult> {
  const { client, schema, vectorType, n, options } = run;
  const full = options.searches.includes('full');
  const searches: PgSearchRow[] = [];
  const setup = await openStore(run, HNSW_EF_SEARCH);
  // One add through the store creates the guild row (variant, allocator); its image makes way for the bulk load.
  await setup.add(benchImage('m', 'seed'), PLACEHOLDER_HASH, benchEmbedding(row(run.data, 0)));
  await client.query(`DELETE FROM ${schema}.images`);
  const { loadSeconds, indexSeconds } = await pgLoad(client, schema, vectorType, run.data, n, options, full);
  const fullAddMs = full ? await timeAdds(setup, run.extra, 'x') : Number.NaN;
  await client.query(`VACUUM ANALYZE ${schema}.images`);
  const build: TableRow = {
    'vector type': vectorType,
    images: n,
    'bulk insert s': loadSeconds.toFixed(0),
    'CREATE INDEX s': indexSeconds.toFixed(0),
    'store.add ms': fullAddMs.toFixed(1),
  };
  if (full) searches.push(...(await measureFull(run)));
  if (options.searches.includes('reduced')) {
    // The store's own job (fit + points), with the points' HNSW index built after them as a bulk
    // load would; a guild that grows into reduced search fills into the live index instead.
    await client.query(`DROP INDEX ${schema}.image_reductions_hnsw`);
    const reduceStart = performance.now();
    const outcome = await setup.reduceGuild('bench');
    if (outcome !== 'ready') throw new Error(`reduceGuild ended ${outcome}`);
    build['reduce: fit + points s'] = ((performance.now() - reduceStart) / 1000).toFixed(0);
    build['reduce: CREATE INDEX s'] = (await pgCreateIndex(client, schema, 'image_reductions_hnsw', 'image_reductions', 'point halfvec_ip_ops', options.reducedGraph, options.maintenanceWorkMem)).toFixed(0);
    await client.query(`VACUUM ANALYZE ${schema}.image_reductions`);
    build['store.add ms (reduced)'] = (await timeAdds(setup, run.extra, 'y')).toFixed(1);
    searches.push(...(await measureReduced(run)));
  }
  await setup.close();
  const size = await pgSizes(client, schema);
  build['table+indexes'] = mb(size.total);
  build['HNSW indexes'] = mb(size.hnsw);
  if (n > 20_000 && !options.exact) return { build, searches }; // ~1 s per query at 100k: opt in
  const exact = await openStore(run, HNSW_EF_SEARCH, { exactSearchMaxImages: Number.MAX_SAFE_INTEGER });
  // The store's default picks exact up to EXACT_SEARCH_MAX_IMAGES (measured by these two rows).
  const exactResult = await pgQueries(exact, run.queries, run.truth, run.warmup.subarray(0, 10 * D));
  searches.push(searchRow(run, 'exact scan', 'all channels', '-', exactResult));
  await exact.close();
  return { build, searches };
}
