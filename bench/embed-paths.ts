/**
 * `npm run bench:embed-paths [-- --images 300] [--backend ort] [--rounds 2]`: the same photos (the first N of
 * ../shared/datasets/oxford-neardup-dev, sorted) through every path that embeds them, against a plain
 * single-thread wasm run of the model in the same run (in-thread, batch 1, one image at a time):
 *
 * - `dejavu index` of those photos into a fresh data folder (a child process: start-up, model load, store
 *   writes and duplicate checks included), with EMBEDDING_BACKEND = the chosen backend;
 * - in-process `embedMany` on that backend;
 * - the embedder HTTP service (`npm run embedder`, a child process on that backend) through HttpEmbedder.
 *
 * Wall-time ratios suffer when other processes load the machine unevenly between the sequential phases: each
 * path, the baseline included, runs `--rounds` times and its fastest round counts. The CPU ms per image (every
 * process and thread that did the work) is the steadier figure.
 *
 * The service row also gives that process's peak resident memory (VmHWM from /proc, Linux).
 *
 * It also prints the cosine between the chosen backend's vectors and the wasm vectors of the same photos
 * (≥ 0.9999 everywhere keeps one embedding variant for both).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { promisify } from 'node:util';
import { getConfig } from '../src/config.ts';
import { createEmbedder, defaultEmbedderOptions, HttpEmbedder, type BackendChoice, type Embedder, type ImageEmbedding } from '../src/embedding/index.ts';
import { resolveModelDir } from '../src/embedding/options.ts';
import { OXFORD_DIR } from '../test/helpers/shared.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: { images: { type: 'string', default: '300' }, backend: { type: 'string', default: 'ort' }, rounds: { type: 'string', default: '2' } },
});
const count = Number(values.images);
const rounds = Math.max(1, Number(values.rounds));
const backend = values.backend as BackendChoice;
const modelDir = resolveModelDir(getConfig());
const cores = availableParallelism();

const imageDir = join(OXFORD_DIR, 'images');
const files = readdirSync(imageDir).filter((name) => name.endsWith('.jpg')).sort().slice(0, count).map((name) => join(imageDir, name));
const images = files.map((file) => readFileSync(file));
const scratch = mkdtempSync(join(tmpdir(), 'dejavu-embed-paths-'));

interface Result {
  path: string;
  seconds: number;
  /** CPU time of every process and thread that did the work (client and service for the HTTP path). */
  cpuSeconds: number;
  note: string;
}
const results: Result[] = [];

/** Wall time, and this process's CPU time (all its threads, worker threads included). */
async function timed<T>(work: () => Promise<T>): Promise<{ value: T; seconds: number; cpuSeconds: number }> {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const value = await work();
  const cpu = process.cpuUsage(cpuBefore);
  return { value, seconds: (performance.now() - started) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

/** The fastest of `rounds` runs of `work` (round = 0, 1, …). */
async function fastest<T>(work: (round: number) => Promise<{ value: T; seconds: number; cpuSeconds: number }>): Promise<{ value: T; seconds: number; cpuSeconds: number }> {
  let best = await work(0);
  for (let round = 1; round < rounds; round += 1) {
    const next = await work(round);
    if (next.seconds < best.seconds) best = next;
  }
  return best;
}

/** CPU seconds used so far by a live process (all threads), from /proc (utime + stime, in clock ticks of 1/100 s). */
function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The process's peak resident memory so far (VmHWM), in MB. */
function processPeakRssMb(pid: number): number {
  const kilobytes = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Math.round(Number(kilobytes) / 1024);
}

function vectorsOf(list: Array<ImageEmbedding | Error>): Float32Array[] {
  return list.map((item, index) => {
    if (item instanceof Error) throw new Error(`image ${files[index]} failed: ${item.message}`);
    return item.vector;
  });
}

/** Polls /healthz until the service answers (model load and worker start take seconds). */
async function waitForHealth(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const up = await fetch(`${url}/healthz`).then((response) => response.ok, () => false);
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the embedder service at ${url} did not answer /healthz within ${timeoutMs} ms`);
}

const childEnv = { ...process.env, MODEL_DIR: modelDir, EMBEDDING_BACKEND: backend, LOG_LEVEL: 'warn' };

try {
  console.error(`bench:embed-paths: ${images.length} photos, backend ${backend}, model ${modelDir}, ${cores} cores, load average ${loadavg()[0]!.toFixed(2)}`);

  // 1. Baseline: plain single-thread wasm, one image at a time.
  const wasm = await createEmbedder(defaultEmbedderOptions({ modelDir, backend: 'wasm', workers: 0, maxBatch: 1 }));
  await wasm.embed(images[0]!);
  const baseline = await fastest(() =>
    timed(async () => {
      const out: ImageEmbedding[] = [];
      for (const image of images) out.push(await wasm.embed(image));
      return out;
    }),
  );
  await wasm.close();
  results.push({ path: 'wasm, 1 thread, batch 1 (baseline)', seconds: baseline.seconds, cpuSeconds: baseline.cpuSeconds, note: 'in-process, sequential' });
  console.error(`  baseline: ${(images.length / baseline.seconds).toFixed(2)} img/s`);

  // 2 and 3. In-process on the chosen backend, and the embedder service in a child process on the same
  // backend. Their rounds alternate (in-process, service, in-process, …) so that a change in the machine's
  // load hits both alike; the idle one's workers use no CPU meanwhile.
  const local: Embedder = await createEmbedder(defaultEmbedderOptions({ modelDir, backend, workers: cores }));
  await local.embedMany(images.slice(0, 8));
  const port = 18_470 + (process.pid % 500);
  const server = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/embedding/server/main.ts')], {
    env: { ...childEnv, EMBEDDER_HOST: '127.0.0.1', EMBEDDER_PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let localBackend: string;
  let localVectors: Float32Array[];
  try {
    await waitForHealth(`http://127.0.0.1:${port}`, 180_000);
    const remote = await HttpEmbedder.connect({ urls: [`http://127.0.0.1:${port}`], waitMs: 120_000 });
    await remote.embedMany(images.slice(0, 8));
    type Timed = Awaited<ReturnType<typeof timed<Array<ImageEmbedding | Error>>>>;
    let inProcess: Timed | undefined;
    let service: (Timed & { serverCpu: number }) | undefined;
    for (let round = 0; round < rounds; round += 1) {
      const localRound = await timed(() => local.embedMany(images));
      if (inProcess === undefined || localRound.seconds < inProcess.seconds) inProcess = localRound;
      const serverCpuBefore = processCpuSeconds(server.pid!);
      const client = await timed(() => remote.embedMany(images));
      const serverCpu = processCpuSeconds(server.pid!) - serverCpuBefore;
      if (service === undefined || client.seconds < service.seconds) service = { ...client, serverCpu };
    }
    localVectors = vectorsOf(inProcess!.value);
    vectorsOf(service!.value);
    localBackend = local.backend;
    results.push({ path: `in-process embedMany, ${local.backend}`, seconds: inProcess!.seconds, cpuSeconds: inProcess!.cpuSeconds, note: '' });
    results.push({
      path: `embedder service (HTTP, child process), ${remote.backend}`,
      seconds: service!.seconds,
      cpuSeconds: service!.cpuSeconds + service!.serverCpu,
      note: `same machine; CPU = client ${service!.cpuSeconds.toFixed(1)} s + service ${service!.serverCpu.toFixed(1)} s; service peak RSS ${processPeakRssMb(server.pid!)} MB`,
    });
    await remote.close();
  } finally {
    server.kill('SIGTERM');
    await local.close();
  }
  console.error(`  in-process: ${(images.length / results.at(-2)!.seconds).toFixed(2)} img/s, embedder service: ${(images.length / results.at(-1)!.seconds).toFixed(2)} img/s`);

  // 4. `dejavu index` of the photos into a fresh data folder.
  const photos = join(scratch, 'photos');
  mkdirSync(photos);
  for (const file of files) symlinkSync(file, join(photos, file.split('/').at(-1)!));
  // Under bash so that its `times` builtin reports the child's CPU time (user and system) when it exits.
  const index = await fastest((round) =>
    timed(() =>
      run('bash', ['-c', '"$@"; times', 'dejavu-index', process.execPath, join(ROOT, 'bin/dejavu.js'), 'index', photos, '--data', join(scratch, `data-${round}`)], {
        env: childEnv,
        maxBuffer: 16 * 2 ** 20,
      }),
    ),
  );
  const lines = index.value.stdout.trim().split('\n');
  const summary = JSON.parse(lines.find((line) => line.startsWith('{'))!) as { indexed: number; failed: number; seconds: number };
  const childTimes = [...lines.at(-1)!.matchAll(/(\d+)m([\d.]+)s/g)].map((match) => Number(match[1]) * 60 + Number(match[2]));
  results.push({
    path: `dejavu index (child process), EMBEDDING_BACKEND=${backend}`,
    seconds: index.seconds,
    cpuSeconds: childTimes.reduce((sum, value) => sum + value, 0),
    note: `${summary.indexed} indexed, ${summary.failed} failed; wall time of the process (start and model load included; the command itself reports ${summary.seconds} s)`,
  });

  // Vectors: chosen backend vs wasm.
  const cosines = localVectors.map((vector, image) => {
    const reference = baseline.value[image]!.vector;
    let dot = 0;
    for (let position = 0; position < vector.length; position += 1) dot += vector[position]! * reference[position]!;
    return dot;
  });
  const sorted = [...cosines].sort((a, b) => a - b);

  const base = results[0]!.seconds;
  const baseCpu = results[0]!.cpuSeconds;
  console.log(`| path | img/s | ratio to baseline | CPU ms/img | CPU ratio (baseline CPU / path CPU) | note |`);
  console.log('|---|---|---|---|---|---|');
  for (const result of results) {
    const cpuMs = (result.cpuSeconds * 1000) / images.length;
    console.log(
      `| ${result.path} | ${(images.length / result.seconds).toFixed(1)} | ${(base / result.seconds).toFixed(2)}× | ${cpuMs.toFixed(0)} | ${(baseCpu / result.cpuSeconds).toFixed(2)}× | ${result.note} |`,
    );
  }
  console.log(
    `\n${images.length} photos, ${cores} cores, fastest of ${rounds} round${rounds === 1 ? '' : 's'} per path, load average at end ${loadavg()[0]!.toFixed(2)}. ` +
      `Cosine ${localBackend} vs wasm over the photos: min ${sorted[0]!.toFixed(7)}, median ${sorted[sorted.length >> 1]!.toFixed(7)}.`,
  );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
