/**
 * The scale section's child processes: one builds a snapshot, one loads and queries it, each in a fresh
 * process so its RSS is that job's alone. Each prints one JSON line of numbers for the parent.
 */
import { existsSync } from 'node:fs';
import { dot } from '../../src/index/exact.ts';
import { HNSW_DEFAULTS, HnswVectorIndex } from '../../src/index/hnsw.ts';
import { fitProjection } from '../../src/index/pca.ts';
import { ReducedHnswVectorIndex } from '../../src/index/reduced-hnsw.ts';
import { REDUCED_INDEX_DEFAULTS } from '../../src/index/select.ts';
import { TopK } from '../../src/index/top-k.ts';
import type { VectorIndex } from '../../src/index/types.ts';
import { generate, type GeneratorKind } from '../index-vectors.ts';
import { D, realEmbeddings, row, SCALE_QUERIES, scaleChunks } from './data.ts';
import { recallWithInterval, timeQueries, top10Labels } from './measure.ts';
import type { ChildJob } from './options.ts';
import { SCALE_SETTINGS, setBreadth, settingName, type ScaleIndexKind } from './scale-settings.ts';
import { pathBytes } from './snapshot.ts';
import { readTruthCache, truthCachePath, writeTruthCache } from './truth.ts';

export async function runChild(job: ChildJob): Promise<void> {
  await (job.mode === '--build-child' ? buildChild(job.n, job.path, job.kind, job.generator) : loadChild(job.n, job.path, job.kind, job.generator));
}

/** An empty index of `kind` for n vectors; pca-hnsw fits its projection on `first` (the first chunk). */
function createIndex(kind: ScaleIndexKind, n: number, first: Float32Array, count: number): VectorIndex {
  if (kind === 'hnsw') return HnswVectorIndex.create(D, HNSW_DEFAULTS, n);
  const { fitSamples, parameters } = REDUCED_INDEX_DEFAULTS;
  const samples = Array.from({ length: Math.min(fitSamples, count) }, (_, i) => row(first, i));
  return ReducedHnswVectorIndex.create(D, fitProjection(samples, parameters.reducedDimensions), { ...parameters }, n);
}

/**
 * Builds one size chunk by chunk, saves it, prints JSON. The exact top 10 per query is kept as the
 * chunks go by (1000 queries at 1M: ~20 min) and cached for the load children, unless already cached.
 */
async function buildChild(n: number, path: string, kind: ScaleIndexKind, generator: GeneratorKind): Promise<void> {
  const reals = await realEmbeddings();
  const queries = generate(generator, reals, SCALE_QUERIES, 12);
  const truthPath = truthCachePath('all', generator, n, SCALE_QUERIES);
  const streamingTruth = existsSync(truthPath) ? [] : Array.from({ length: SCALE_QUERIES }, () => new TopK(10));
  const rssBefore = process.memoryUsage().rss;
  let index: VectorIndex | undefined;
  let fitSeconds = 0;
  let buildSeconds = 0;
  for (const { start, count, data } of scaleChunks(generator, reals, n)) {
    if (index === undefined) {
      const fitStart = performance.now();
      index = createIndex(kind, n, data, count);
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
 * Loads a saved index and queries it; its RSS is the serving footprint. The parent evicts the
 * snapshot from the page cache first (fsync + posix_fadvise DONTNEED), so the load and the first query
 * pass read from disk ("cold"); then, per search setting, a warm-up pass and a timed pass, whose results
 * give the recall (of the index as loaded, i.e. as served).
 */
async function loadChild(n: number, path: string, kind: ScaleIndexKind, generator: GeneratorKind): Promise<void> {
  const reals = await realEmbeddings();
  const queries = generate(generator, reals, SCALE_QUERIES, 12);
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
  const search = top10Labels(index);
  const cold = timeQueries(search, queries);
  timings.p50Cold = cold.p50;
  timings.p99Cold = cold.p99;
  for (const setting of SCALE_SETTINGS[kind]) {
    setBreadth(index, setting);
    // Warm: a first pass brings the vectors this setting re-ranks into the page cache, the second is timed.
    timeQueries(search, queries);
    const result = timeQueries(search, queries, truth);
    const { recall, interval } = recallWithInterval(result.found);
    const name = settingName(kind, setting);
    Object.assign(timings, { [`p50 ${name}`]: result.p50, [`p99 ${name}`]: result.p99, [`recall ${name}`]: recall, [`recall interval ${name}`]: interval });
  }
  const rssEnd = process.memoryUsage().rss;
  index.close?.();
  console.log(JSON.stringify({ loadSeconds, rss: rssAfterLoad, rssEnd, ...timings }));
}
