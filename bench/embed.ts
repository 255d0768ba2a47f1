/**
 * `npm run bench:embed [dir] [--images N] [--full]`: end-to-end embedding throughput from encoded bytes
 * (decode + preprocess + signature + inference), per backend, worker count and batch size. The single-thread
 * wasm path (in-thread, batch 1) is the baseline measured in the same run; `ratio` is throughput / baseline.
 * Default images: every image under ../shared/datasets (the first N, sorted).
 *
 * Columns: img/s end-to-end; decode = ms per image to decode+preprocess+signature (sequential, measured once);
 * infer = ms per image inside the backend (wall time per slot / batch size); CPU = process CPU time (all
 * threads) per image, the figure least disturbed by other processes on a shared machine; start = seconds to start the
 * backend (model load, workers, warm-up); peak RSS of the whole process while the row ran.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getConfig } from '../src/config.ts';
import { createEmbedder, defaultEmbedderOptions, LocalEmbedder, type BackendChoice, type Embedder } from '../src/embedding/index.ts';
import { resolveModelDir } from '../src/embedding/options.ts';
import { prepareImage } from '../src/embedding/prepare.ts';
import { DEFAULT_PREPROCESS } from '../src/embedding/preprocess.ts';
import { SHARED_DIR } from '../test/helpers/shared.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { images: { type: 'string', default: '120' }, full: { type: 'boolean', default: false } },
});
const directory = resolve(positionals[0] ?? join(SHARED_DIR, 'datasets'));
const imageCount = Number(values.images);
const modelDir = resolveModelDir(getConfig());
const cores = availableParallelism();

function findImages(folder: string): string[] {
  return readdirSync(folder)
    .sort()
    .flatMap((name) => {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) return findImages(path);
      return ['.jpg', '.jpeg', '.png', '.webp'].includes(extname(name).toLowerCase()) ? [path] : [];
    });
}

const files = findImages(directory).slice(0, imageCount);
if (files.length === 0) {
  console.error(`no images under ${directory}`);
  process.exit(1);
}
const images = files.map((file) => readFileSync(file));
const limits = { maxBytes: 25e6, maxPixels: 50e6, timeoutMs: 10_000 };

interface Row {
  backend: string;
  workers: number;
  batch: number;
  imagesPerSecond: number;
  inferMs: number;
  startSeconds: number;
  peakRssMb: number;
  /** Process CPU time (all threads) per image: unlike img/s, barely affected by other processes' load. */
  cpuMs: number;
  note?: string;
}

async function measureDecode(): Promise<number> {
  const started = performance.now();
  for (const image of images) await prepareImage(image, limits, DEFAULT_PREPROCESS);
  return (performance.now() - started) / images.length;
}

async function measure(backend: BackendChoice, workers: number, batch: number): Promise<Row> {
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  const startedAt = performance.now();
  let embedder: Embedder;
  try {
    embedder = await createEmbedder(defaultEmbedderOptions({ modelDir, backend, workers, maxBatch: batch, batchWaitMs: 4, limits }));
  } catch (error) {
    clearInterval(sampler);
    return { backend, workers, batch, imagesPerSecond: 0, inferMs: 0, startSeconds: 0, peakRssMb: 0, cpuMs: 0, note: `unavailable: ${error instanceof Error ? error.message : String(error)}` };
  }
  try {
    await embedder.embedMany(images.slice(0, Math.max(2, workers) * batch)); // warm-up, every worker
    const startSeconds = (performance.now() - startedAt) / 1000;
    const before = embedder instanceof LocalEmbedder ? { ...embedder.batchStats } : undefined;
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const results = await embedder.embedMany(images);
    const cpu = process.cpuUsage(cpuBefore);
    const seconds = (performance.now() - started) / 1000;
    const failures = results.filter((result) => result instanceof Error).length;
    const after = embedder instanceof LocalEmbedder ? embedder.batchStats : undefined;
    const inferMs = before && after ? (after.inferMs - before.inferMs) / Math.max(1, after.images - before.images) : 0;
    return {
      backend: embedder.backend,
      workers,
      batch,
      imagesPerSecond: images.length / seconds,
      inferMs,
      startSeconds,
      peakRssMb: peak / 1024 / 1024,
      cpuMs: (cpu.user + cpu.system) / 1000 / images.length,
      ...(failures > 0 ? { note: `${failures} failed` } : {}),
    };
  } finally {
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage.rss());
    await embedder.close();
  }
}

const plan: Array<[BackendChoice, number, number]> = [
  // Native TensorFlow rows report "unavailable" unless tfjs-node(-gpu) is installed.
  ['gpu', 0, 64],
  ['node', 0, 16],
  // wasm caps batches at 4 (CPU_BATCH_LIMIT: earlier runs measured batch 8 no faster, +140 MB RSS).
  ['wasm', cores, 1],
  ['wasm', cores, 2],
  ['wasm', cores, 4],
  ...(values.full ? ([['wasm', 1, 4], ['wasm', cores + 1, 4], ['wasm', 0, 4]] as Array<[BackendChoice, number, number]>) : []),
  // In-thread rows last: a thread's wasm heap never shrinks, which would inflate the pool rows' RSS.
  ['wasm', 0, 1], // baseline
];

console.error(`bench:embed: ${images.length} images from ${directory}, model ${modelDir}, ${cores} cores, load average ${loadavg()[0]!.toFixed(2)}`);
const decodeMs = await measureDecode();
const rows: Row[] = [];
for (const [backend, workers, batch] of plan) {
  const row = await measure(backend, workers, batch);
  rows.push(row);
  console.error(`  ${row.backend} workers=${workers} batch=${batch}: ${row.note ?? `${row.imagesPerSecond.toFixed(1)} img/s`}`);
}
const baseline = rows.at(-1)!.imagesPerSecond;

const header = ['backend', 'workers', 'batch', 'img/s', 'ratio', 'CPU ms/img', 'decode ms/img', 'infer ms/img', 'start s', 'peak RSS MB', 'note'];
const table = rows.map((row) => [
  row.backend,
  row.workers === 0 ? 'in-thread' : String(row.workers),
  String(row.batch),
  row.note?.startsWith('unavailable') ? '-' : row.imagesPerSecond.toFixed(1),
  row.note?.startsWith('unavailable') ? '-' : `${(row.imagesPerSecond / baseline).toFixed(2)}×`,
  row.cpuMs > 0 ? row.cpuMs.toFixed(0) : '-',
  decodeMs.toFixed(1),
  row.inferMs > 0 ? row.inferMs.toFixed(1) : '-',
  row.startSeconds > 0 ? row.startSeconds.toFixed(1) : '-',
  row.peakRssMb > 0 ? row.peakRssMb.toFixed(0) : '-',
  (row.workers === 0 && row.batch === 1 && row.backend === 'wasm' ? 'baseline ' : '') + (row.note ?? ''),
]);
const widths = header.map((title, column) => Math.max(title.length, ...table.map((cells) => cells[column]!.length)));
const line = (cells: string[]): string => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
for (const cells of table) console.log(line(cells));
console.log(`\n${images.length} images, ${cores} cores, load average at end ${loadavg()[0]!.toFixed(2)} (other processes share these cores: compare ratios, not absolutes).`);
