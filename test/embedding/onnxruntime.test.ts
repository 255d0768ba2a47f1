import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { installOnnxModel, onnxModelVerifies } from '../../scripts/fetch-model.ts';
import { cudaProviderInstalled, gpuVisible, loadOnnxModel } from '../../src/embedding/backends/onnxruntime.ts';
import { createEmbedder, defaultEmbedderOptions, type Embedder, type ImageEmbedding } from '../../src/embedding/index.ts';
import { convertToOnnx } from '../../src/embedding/onnx-convert.ts';
import { PINNED_ONNX_MODEL, sha256Hex } from '../../src/embedding/pinned-model.ts';
import { createEmbeddingServer } from '../../src/embedding/server/server.ts';
import { ImageError } from '../../src/errors.ts';
import { hasShared, oxfordImage, readOxfordGroups, requireShared, SHARED_DIR, SHARED_MODEL_DIR } from '../helpers/shared.ts';

const run = promisify(execFile);
/** Byte-for-byte the pinned model (model.json + 6 shards). */
const PINNED_COPY_DIR = join(SHARED_DIR, 'models', 'efficientnet-b0-imagenet-tfjs', 'original-graph-model');

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let index = 0; index < a.length; index += 1) dot += a[index]! * b[index]!;
  return dot;
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  return Math.max(...a.map((value, index) => Math.abs(value - b[index]!)));
}

function copyModel(): string {
  const scratch = mkdtempSync(join(tmpdir(), 'dejavu-onnx-test-'));
  for (const name of readdirSync(PINNED_COPY_DIR)) copyFileSync(join(PINNED_COPY_DIR, name), join(scratch, name));
  return scratch;
}

let ort: Embedder | undefined;
let wasm: Embedder | undefined;

before(async () => {
  if (!hasShared()) return;
  // One worker thread: the pool path the product runs; wasm in-thread is the reference.
  ort = await createEmbedder(defaultEmbedderOptions({ modelDir: SHARED_MODEL_DIR, backend: 'ort', workers: 1, maxBatch: 4 }));
  wasm = await createEmbedder(defaultEmbedderOptions({ modelDir: SHARED_MODEL_DIR, backend: 'wasm', workers: 0 }));
});
after(async () => {
  await ort?.close();
  await wasm?.close();
});

test('the converter is deterministic and gives the pinned ONNX bytes for the pinned model', async (t) => {
  if (!requireShared(t)) return;
  const first = await convertToOnnx(PINNED_COPY_DIR);
  const second = await convertToOnnx(PINNED_COPY_DIR);
  assert.equal(Buffer.compare(first, second), 0);
  assert.equal(first.length, PINNED_ONNX_MODEL.bytes);
  assert.equal(sha256Hex(first), PINNED_ONNX_MODEL.sha256);
});

test('ORT CPU vectors equal the wasm vectors, in the same variant', async (t) => {
  if (!requireShared(t) || ort === undefined || wasm === undefined) return;
  const [onnx, tfjs]: [Embedder, Embedder] = [ort, wasm];
  assert.equal(onnx.backend, 'onnxruntime cpu (1 worker × 1 thread)');
  assert.equal(onnx.variant, tfjs.variant);
  const images = readOxfordGroups().groups.slice(0, 3).map((group) => oxfordImage(group[0]!));
  for (const [index, image] of images.entries()) {
    const [ours, reference] = await Promise.all([onnx.embed(image), tfjs.embed(image)]);
    assert.ok(Math.abs(cosine(ours.vector, ours.vector) - 1) < 1e-5, 'unit length');
    const similarity = cosine(ours.vector, reference.vector);
    assert.ok(similarity >= 0.9999, `image ${index}: cosine ${similarity}`);
    assert.ok(maxDifference(ours.vector, reference.vector) < 1e-3, `image ${index}: max |difference| ${maxDifference(ours.vector, reference.vector)}`);
    assert.deepEqual(ours.signature, reference.signature);
  }
});

test('ORT batches equal single images', async (t) => {
  if (!requireShared(t) || ort === undefined) return;
  const images = readOxfordGroups().groups.slice(3, 7).map((group) => oxfordImage(group[1]!));
  const batched = (await ort.embedMany(images)) as ImageEmbedding[];
  for (const [index, image] of images.entries()) {
    const single = await ort.embed(image);
    assert.ok(maxDifference(single.vector, batched[index]!.vector) < 1e-5, `image ${index}: max |difference| ${maxDifference(single.vector, batched[index]!.vector)}`);
  }
});

test('a bad image is a typed error on ORT, and the others in the batch still embed', async (t) => {
  if (!requireShared(t) || ort === undefined) return;
  const good = oxfordImage(readOxfordGroups().groups[0]![1]!);
  const [first, broken, truncated] = await ort.embedMany([good, Buffer.from('not an image'), good.subarray(0, 200)]);
  assert.ok(!(first instanceof Error) && first!.vector.length === 1280);
  assert.ok(broken instanceof ImageError && broken.code === 'IMAGE_UNSUPPORTED', String(broken));
  assert.ok(truncated instanceof ImageError && truncated.code === 'IMAGE_CORRUPT', String(truncated));
  await assert.rejects(ort.embed(new Uint8Array(0)), (error: unknown) => error instanceof ImageError && error.code === 'IMAGE_EMPTY');
});

test('the embedder service on ORT reports the provider that runs in /healthz and serves the same vectors', async (t) => {
  if (!requireShared(t) || ort === undefined) return;
  const service = createEmbeddingServer({ embedder: ort, maxBodyBytes: 10_000_000 });
  const url = await service.listen();
  try {
    const health = (await (await fetch(`${url}/healthz`)).json()) as { ok: boolean; backend: string; variant: string };
    assert.deepEqual(health, { ok: true, backend: 'onnxruntime cpu (1 worker × 1 thread)', variant: ort.variant });
    const image = oxfordImage(readOxfordGroups().groups[2]![0]!);
    const answer = (await (await fetch(`${url}/v1/embed`, { method: 'POST', body: image })).json()) as { vector: string; backend: string };
    assert.equal(answer.backend, health.backend);
    const remote = new Float32Array(new Uint8Array(Buffer.from(answer.vector, 'base64')).buffer);
    assert.deepEqual(remote, (await ort.embed(image)).vector);
  } finally {
    await service.close();
  }
});

test('auto picks ONNX Runtime on a host without CUDA or tfjs-node', async (t) => {
  if (!requireShared(t)) return;
  if (cudaProviderInstalled() && gpuVisible()) {
    t.skip('this host has the ORT CUDA provider and a GPU: auto picks CUDA');
    return;
  }
  const chosen = await createEmbedder(defaultEmbedderOptions({ modelDir: SHARED_MODEL_DIR, backend: 'auto', workers: 1 }));
  try {
    // tfjs-node(-gpu) would come first when installed; this project installs neither.
    assert.match(chosen.backend, /^(onnxruntime cpu \(1 worker × 1 thread\)|tensorflow(-gpu)?)$/);
  } finally {
    await chosen.close();
  }
});

test('ort-cuda without a usable CUDA provider falls back to ORT CPU and logs why', async (t) => {
  if (!requireShared(t)) return;
  const entry = join(import.meta.dirname, '..', '..', 'src', 'embedding', 'index.ts');
  const script =
    `import { createEmbedder, defaultEmbedderOptions } from ${JSON.stringify(entry)};` +
    `const embedder = await createEmbedder(defaultEmbedderOptions({ modelDir: ${JSON.stringify(SHARED_MODEL_DIR)}, backend: 'ort-cuda', workers: 1 }));` +
    'console.log(JSON.stringify({ backend: embedder.backend })); await embedder.close();';
  // A file, not `-e`: worker threads inherit the parent's flags, and `--input-type` breaks their start.
  const scratch = mkdtempSync(join(tmpdir(), 'dejavu-cuda-fallback-'));
  const file = join(scratch, 'start.mts');
  writeFileSync(file, script);
  const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', file], { env: { ...process.env, LOG_LEVEL: 'warn' }, timeout: 120_000 }).finally(() =>
    rmSync(scratch, { recursive: true, force: true }),
  );
  const { backend } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { backend: string };
  if (cudaProviderInstalled() && gpuVisible()) {
    assert.equal(backend, 'onnxruntime cuda (1 worker)');
    return;
  }
  assert.equal(backend, 'onnxruntime cpu (1 worker × 1 thread)');
  const logged = stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string; reason?: string; problems?: string[] })
    .find((entry) => entry.msg.includes('ONNX Runtime CUDA could not start'));
  assert.ok(logged !== undefined, `no fallback log line in: ${stderr}`);
  assert.equal(logged.level, 50);
  assert.match(logged.reason ?? '', /cuda session failed to load/);
  assert.ok(logged.problems!.some((problem) => /CUDA 12|cuDNN 9|gpu:install|driver/.test(problem)), JSON.stringify(logged.problems));
});

test('model fetch writes the pinned model.onnx after checking it against the TF.js graph; a corrupt one is not used', async (t) => {
  if (!requireShared(t)) return;
  const folder = copyModel();
  try {
    assert.equal(await onnxModelVerifies(folder), false);
    const similarity = await installOnnxModel(folder);
    assert.ok(similarity >= 0.99999, `cosine ${similarity}`);
    assert.equal(await onnxModelVerifies(folder), true);
    assert.equal((await loadOnnxModel(folder)).source, join(folder, 'model.onnx'));

    const onnxPath = join(folder, 'model.onnx');
    const bytes = readFileSync(onnxPath);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    writeFileSync(onnxPath, bytes);
    assert.equal(await onnxModelVerifies(folder), false);
    const loaded = await loadOnnxModel(folder);
    assert.equal(loaded.source, 'converted at start');
    assert.equal(sha256Hex(loaded.bytes), PINNED_ONNX_MODEL.sha256);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
