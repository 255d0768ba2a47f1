/**
 * The bench's vectors: real EfficientNet-B0 embeddings of ../shared/datasets (embedded once, cached in
 * data/bench-cache) and the synthetic sets grown from them (bench/index-vectors.ts).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generate, type GeneratorKind } from '../index-vectors.ts';

export const D = 1280;
const ROOT = resolve(import.meta.dirname, '..', '..');
export const SHARED = resolve(process.env.DEJAVU_SHARED_DIR ?? join(ROOT, '..', 'shared'));
const MODEL_DIR = join(SHARED, 'models', 'efficientnet-b0-imagenet-tfjs', 'notop-avgpool-graph-model');
export const BENCH_CACHE_DIR = join(ROOT, 'data', 'bench-cache');
const EMBEDDINGS_CACHE = join(BENCH_CACHE_DIR, 'shared-datasets-embeddings.f32');
/** Queries of the crossover, sweep and many-guilds sections. */
export const QUERIES = 200;
/**
 * Queries of the scale and PostgreSQL sections. Recall is a mean over queries and a few hard ones swing it:
 * at 1M, 2 of the first 100 queries held 17 of the 37 misses of the default setting.
 */
export const SCALE_QUERIES = 1000;
/** Vectors generated (and indexed) per chunk: the 1M run never holds all its vectors at once. */
export const SCALE_CHUNK = 20_000;

export const row = (matrix: Float32Array, i: number): Float32Array => matrix.subarray(i * D, (i + 1) * D);

/** The photos' embeddings (count × D, row-major), from the cache or embedded now and cached. */
export async function realEmbeddings(): Promise<Float32Array> {
  if (existsSync(EMBEDDINGS_CACHE)) return new Float32Array(readFileSync(EMBEDDINGS_CACHE).buffer.slice(0));
  if (!existsSync(MODEL_DIR)) throw new Error(`needs ../shared (model and datasets) at ${SHARED}`);
  // Imported only here: loading the embedder starts backends the cached path never needs.
  const { createEmbedder, defaultEmbedderOptions } = await import('../../src/embedding/index.ts');
  const embedder = await createEmbedder(defaultEmbedderOptions({ modelDir: MODEL_DIR }));
  const files = ['oxford-neardup-dev', 'corel-wang-dev'].flatMap((name) => {
    const dir = join(SHARED, 'datasets', name, 'images');
    return readdirSync(dir).sort().map((file) => join(dir, file));
  });
  console.error(`embedding ${files.length} photos once with ${embedder.backend} (cached in ${EMBEDDINGS_CACHE})`);
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
  mkdirSync(BENCH_CACHE_DIR, { recursive: true });
  writeFileSync(EMBEDDINGS_CACHE, new Uint8Array(all.buffer));
  return all;
}

export interface ScaleChunk {
  /** Label of the chunk's first vector. */
  start: number;
  count: number;
  data: Float32Array;
}

/**
 * The scale data's n vectors in chunks of SCALE_CHUNK (seeds 11000 + chunk), so every section that indexes
 * "the scale data" (hnswlib, PostgreSQL, the projection) sees the same vectors.
 */
export function* scaleChunks(generator: GeneratorKind, reals: Float32Array, n: number): Generator<ScaleChunk> {
  for (let start = 0; start < n; start += SCALE_CHUNK) {
    const count = Math.min(SCALE_CHUNK, n - start);
    yield { start, count, data: generate(generator, reals, count, 11_000 + start / SCALE_CHUNK) };
  }
}

/** All of the scale data at once (n × D): for the sections that cannot stream it. */
export function scaleData(generator: GeneratorKind, reals: Float32Array, n: number): Float32Array {
  const data = new Float32Array(n * D);
  for (const chunk of scaleChunks(generator, reals, n)) data.set(chunk.data, chunk.start * D);
  return data;
}
