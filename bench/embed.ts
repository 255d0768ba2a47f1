/**
 * `npm run bench:embed [dir] [--images N] [--full] [--backend B] [--no-baselines] [--prepare-only]`: end-to-end embedding
 * throughput from encoded bytes (decode + preprocess + signature + inference), per backend, worker count,
 * intra-op threads and batch size. The single-thread wasm path (in-thread, batch 1) is the baseline measured
 * in the same run; `ratio` is throughput / baseline, `×pool` is throughput / the wasm pool's (2 workers,
 * batch 4). `--backend B` keeps only B's rows (plus both baselines unless `--no-baselines`, which leaves
 * that backend alone in the process, so the peak RSS line is its own).
 * Default images: every image under ../shared/datasets (the first N, sorted).
 * `--prepare-only` stops after the preparation table (CPU ms per image for decode, preprocess, border scan,
 * signature and their total, after a warm-up pass) and starts no backend.
 *
 * Columns: img/s end-to-end; decode = ms per image to decode + preprocess, signature = ms per image for the
 * duplicate signature (both sequential, measured once);
 * infer = ms per image inside the backend (wall time per slot / batch size); CPU = process CPU time (all
 * threads) per image, the figure least disturbed by other processes on a shared machine; start = seconds to start the
 * backend (model load, workers, warm-up); RSS = resident memory with that backend loaded.
 * Rows run interleaved in rounds so that load from other processes affects them alike.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getConfig } from '../src/config.ts';
import { cudaProviderInstalled, gpuVisible } from '../src/embedding/backends/onnxruntime.ts';
import { createInferenceBackend, defaultEmbedderOptions, LocalEmbedder, modelVariant, type BackendChoice, type Embedder } from '../src/embedding/index.ts';
import { resolveModelDir } from '../src/embedding/options.ts';
import { decodeImage } from '../src/embedding/decode.ts';
import { DEFAULT_PREPROCESS, preprocess } from '../src/embedding/preprocess.ts';
import { BORDER_TRIM_THRESHOLD, computeSignature } from '../src/embedding/signature.ts';
import { findContentBox } from '../src/embedding/borders.ts';
import { SHARED_DIR } from '../test/helpers/shared.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    images: { type: 'string', default: '120' },
    full: { type: 'boolean', default: false },
    backend: { type: 'string' },
    'no-baselines': { type: 'boolean', default: false },
    'prepare-only': { type: 'boolean', default: false },
  },
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

interface Contender {
  backend: string;
  workers: number;
  threads: number;
  batch: number;
  embedder?: Embedder;
  startSeconds: number;
  /** Resident memory this embedder added when it started and warmed up (model copies, wasm heaps). */
  addedRssMb: number;
  seconds: number;
  cpuMicros: number;
  images: number;
  inferMs: number;
  batchedImages: number;
  failures: number;
  note?: string;
}

interface PreparationCost {
  /** Wall ms per image: decode + preprocess, and the signature. */
  decodeMs: number;
  signatureMs: number;
  /** Process CPU ms per image (sharp's libvips threads included) per stage, and their sum. */
  cpu: { decode: number; preprocess: number; borderScan: number; signature: number; total: number };
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/**
 * Sequential CPU-side cost per image: decode, preprocess (ours), the border scan alone (it also runs inside
 * preprocess and the signature, so it is not added to the total) and the duplicate signature. Process CPU
 * time is the figure other processes on a shared machine disturb least. A warm-up pass over a few images
 * first, so that JIT compilation and libvips start-up are not counted against the first images.
 */
async function measurePreparation(): Promise<PreparationCost> {
  for (const image of images.slice(0, Math.min(8, images.length))) {
    const decoded = await decodeImage(image, limits);
    await preprocess(decoded, DEFAULT_PREPROCESS);
    await computeSignature(decoded.rgb, decoded.width, decoded.height);
  }
  let decodeMs = 0;
  let signatureMs = 0;
  const cpu = { decode: 0, preprocess: 0, borderScan: 0, signature: 0, total: 0 };
  for (const image of images) {
    const started = performance.now();
    let mark = cpuMs();
    const decoded = await decodeImage(image, limits);
    let now = cpuMs();
    cpu.decode += now - mark;
    mark = now;
    await preprocess(decoded, DEFAULT_PREPROCESS);
    now = cpuMs();
    cpu.preprocess += now - mark;
    const decodedAt = performance.now();
    mark = cpuMs();
    findContentBox(decoded.rgb, decoded.width, decoded.height, BORDER_TRIM_THRESHOLD);
    now = cpuMs();
    cpu.borderScan += now - mark;
    const signatureAt = performance.now();
    mark = cpuMs();
    await computeSignature(decoded.rgb, decoded.width, decoded.height);
    now = cpuMs();
    cpu.signature += now - mark;
    decodeMs += decodedAt - started;
    signatureMs += performance.now() - signatureAt;
  }
  const per = (value: number): number => value / images.length;
  return {
    decodeMs: per(decodeMs),
    signatureMs: per(signatureMs),
    cpu: {
      decode: per(cpu.decode),
      preprocess: per(cpu.preprocess),
      borderScan: per(cpu.borderScan),
      signature: per(cpu.signature),
      total: per(cpu.decode + cpu.preprocess + cpu.signature),
    },
  };
}

async function start({ backend, workers, threads, batch }: Row): Promise<Contender> {
  const contender: Contender = { backend, workers, threads, batch, startSeconds: 0, addedRssMb: 0, seconds: 0, cpuMicros: 0, images: 0, inferMs: 0, batchedImages: 0, failures: 0 };
  const rssBefore = process.memoryUsage.rss();
  const startedAt = performance.now();
  try {
    // The backend and LocalEmbedder directly (not createEmbedder): the row's batch size is used as is,
    // without the backend's batch cap, so that the cap itself can be chosen by measurement.
    const options = defaultEmbedderOptions({ modelDir, backend, workers, threads, maxBatch: batch, batchWaitMs: 4, limits });
    const inference = await createInferenceBackend(options);
    const variant = await modelVariant(modelDir, options.preprocess);
    const embedder = new LocalEmbedder(inference, { limits, preprocess: options.preprocess, maxBatch: batch, batchWaitMs: options.batchWaitMs, variant });
    await embedder.embedMany(images.slice(0, Math.max(2, workers) * batch)); // warm-up, every worker
    contender.embedder = embedder;
    contender.backend = embedder.backend;
  } catch (error) {
    contender.note = `unavailable: ${error instanceof Error ? error.message : String(error)}`;
  }
  contender.startSeconds = (performance.now() - startedAt) / 1000;
  contender.addedRssMb = (process.memoryUsage.rss() - rssBefore) / 1024 / 1024;
  return contender;
}

/** Embeds `chunk` with one contender, adding to its totals. */
async function run(contender: Contender, chunk: Buffer[]): Promise<void> {
  const embedder = contender.embedder;
  if (embedder === undefined) return;
  const before = embedder instanceof LocalEmbedder ? { ...embedder.batchStats } : undefined;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const results = await embedder.embedMany(chunk);
  contender.seconds += (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  contender.cpuMicros += cpu.user + cpu.system;
  contender.images += chunk.length;
  contender.failures += results.filter((result) => result instanceof Error).length;
  if (before !== undefined && embedder instanceof LocalEmbedder) {
    contender.inferMs += embedder.batchStats.inferMs - before.inferMs;
    contender.batchedImages += embedder.batchStats.images - before.images;
  }
}

interface Row {
  backend: BackendChoice;
  workers: number;
  threads: number;
  batch: number;
}
const planRow = (backend: BackendChoice, workers: number, batch: number, threads = 1): Row => ({ backend, workers, threads, batch });
/** The reference rows every ratio is taken against: the wasm pool, then the single-thread baseline (last). */
const wasmPool = planRow('wasm', cores, 4);
const baselineRow = planRow('wasm', 0, 1);
const rowsOf: Row[] = [
  // ort-cuda falls back to ORT CPU (logged) when CUDA cannot run, and the row then names the CPU provider:
  // so by default these rows run only where the CUDA provider is installed and a GPU is visible.
  ...(values.backend === 'ort-cuda' || (cudaProviderInstalled() && gpuVisible()) ? [planRow('ort-cuda', 1, 64), planRow('ort-cuda', 1, 32)] : []),
  // Native TensorFlow rows report "unavailable" unless tfjs-node(-gpu) is installed.
  planRow('gpu', 0, 64),
  planRow('node', 0, 16),
  planRow('ort', cores, 4),
  planRow('ort', cores, 8),
  planRow('ort', 1, 4, cores),
  planRow('ort', 1, 8, cores),
  ...(values.full ? [planRow('ort', cores, 1), planRow('ort', cores, 16), planRow('ort', 0, 4), planRow('ort', cores, 4, 2)] : []),
  // wasm caps batches at 4 (CPU_BATCH_LIMIT: batch 8 measured no faster, +140 MB RSS).
  planRow('wasm', cores, 1),
  planRow('wasm', cores, 2),
  ...(values.full ? [planRow('wasm', 1, 4), planRow('wasm', cores + 1, 4), planRow('wasm', 0, 4)] : []),
];
const chosen = values.backend === undefined ? rowsOf : rowsOf.filter((candidate) => candidate.backend === values.backend);
if (values.backend !== undefined && chosen.length === 0) {
  console.error(`--backend ${values.backend}: no such rows (${[...new Set(rowsOf.map((candidate) => candidate.backend))].join(', ')})`);
  process.exit(1);
}
const plan: Row[] = values['no-baselines'] ? chosen : [...chosen, wasmPool, baselineRow];

console.error(`bench:embed: ${images.length} images from ${directory}, model ${modelDir}, ${cores} cores, load average ${loadavg()[0]!.toFixed(2)}`);
const preparation = await measurePreparation();
const { decodeMs, signatureMs } = preparation;
const prepareCpuMs = preparation.cpu.total;
const preparationTable = [
  '| stage | CPU ms/img |',
  '|---|---|',
  `| decode (header check, shrink-on-load, EXIF rotate, sRGB) | ${preparation.cpu.decode.toFixed(1)} |`,
  `| preprocess (trim + resize to the model input, floats) | ${preparation.cpu.preprocess.toFixed(1)} |`,
  `| border scan (findContentBox; also inside preprocess and signature) | ${preparation.cpu.borderScan.toFixed(2)} |`,
  `| duplicate signature | ${preparation.cpu.signature.toFixed(1)} |`,
  `| **total** (decode + preprocess + signature) | **${preparation.cpu.total.toFixed(1)}** |`,
].join('\n');
if (values['prepare-only']) {
  console.log(preparationTable);
  console.log(`\n${images.length} images, after a warm-up pass; process CPU time (sharp's threads included), load average at end ${loadavg()[0]!.toFixed(2)}.`);
  process.exit(0);
}
const baseRssMb = process.memoryUsage.rss() / 1024 / 1024;
const contenders: Contender[] = [];
for (const planned of plan) {
  const contender = await start(planned);
  contenders.push(contender);
  console.error(`  started ${contender.backend} workers=${planned.workers} threads=${planned.threads} batch=${planned.batch}${contender.note ? `: ${contender.note}` : ''}`);
}
// Rounds, each contender in turn (order rotated): other processes' load then hits every row alike,
// so the ratios stay fair on a shared machine.
let peakRss = process.memoryUsage.rss();
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);
const ROUNDS = 3;
const live = contenders.filter((contender) => contender.embedder !== undefined);
for (let round = 0; round < ROUNDS; round += 1) {
  const chunk = images.filter((_, index) => index % ROUNDS === round);
  for (let turn = 0; turn < live.length; turn += 1) await run(live[(turn + round) % live.length]!, chunk);
  console.error(`  round ${round + 1}/${ROUNDS} done, load average ${loadavg()[0]!.toFixed(2)}`);
}
clearInterval(sampler);
for (const contender of contenders) await contender.embedder?.close();

interface Result extends Contender {
  imagesPerSecond: number;
}
const rows: Result[] = contenders.map((contender) => ({ ...contender, imagesPerSecond: contender.images / Math.max(1e-9, contender.seconds) }));
const hasBaselines = !values['no-baselines'];
const baseline = hasBaselines ? rows.at(-1)!.imagesPerSecond : Number.NaN;
const poolSpeed = hasBaselines ? rows.at(-2)!.imagesPerSecond : Number.NaN;
const unavailable = (result: Result): boolean => result.note?.startsWith('unavailable') === true;

const header = ['backend', 'workers', 'threads', 'batch', 'img/s', 'ratio', '×pool', 'CPU ms/img', 'decode ms/img', 'signature ms/img', 'infer ms/img', 'start s', 'RSS MB', 'note'];
const table = rows.map((row) => [
  row.backend,
  row.workers === 0 ? 'in-thread' : String(row.workers),
  row.backend.startsWith('onnxruntime cpu') ? String(row.threads) : '-',
  String(row.batch),
  unavailable(row) ? '-' : row.imagesPerSecond.toFixed(1),
  unavailable(row) || !hasBaselines ? '-' : `${(row.imagesPerSecond / baseline).toFixed(2)}×`,
  unavailable(row) || !hasBaselines ? '-' : `${(row.imagesPerSecond / poolSpeed).toFixed(2)}×`,
  row.images > 0 ? (row.cpuMicros / 1000 / row.images).toFixed(0) : '-',
  decodeMs.toFixed(1),
  signatureMs.toFixed(1),
  row.batchedImages > 0 ? (row.inferMs / row.batchedImages).toFixed(1) : '-',
  row.embedder !== undefined ? row.startSeconds.toFixed(1) : '-',
  row.embedder !== undefined ? (baseRssMb + row.addedRssMb).toFixed(0) : '-',
  (hasBaselines && row === rows.at(-1) ? 'baseline ' : '') + (hasBaselines && row === rows.at(-2) ? 'pool reference ' : '') + (row.failures > 0 ? `${row.failures} failed ` : '') + (row.note ?? ''),
]);
const widths = header.map((title, column) => Math.max(title.length, ...table.map((cells) => cells[column]!.length)));
const line = (cells: string[]): string => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
for (const cells of table) console.log(line(cells));
console.log(
  `\n${images.length} images per row in ${ROUNDS} interleaved rounds, ${cores} cores, load average at end ${loadavg()[0]!.toFixed(2)} ` +
    '(other processes share these cores: compare ratios, not absolutes).\n' +
    `RSS MB = process before any backend (${baseRssMb.toFixed(0)}) + what that row's backend added; ` +
    `peak RSS with all rows' backends alive at once: ${(peakRss / 1024 / 1024).toFixed(0)} MB.\n` +
    `Preparation (decode + preprocess + signature, sequential): ${prepareCpuMs.toFixed(1)} CPU ms per image.`,
);
console.log(`\n${preparationTable}`);
