/**
 * ONNX Runtime (onnxruntime-node) backends: the CPU execution provider, and CUDA 12 when ORT's CUDA provider
 * library is installed (`npm run gpu:install`). The model is the ONNX conversion of the TF.js graph
 * (src/embedding/onnx-convert.ts), read from `model.onnx` beside it or converted in memory at start.
 *
 * `session.run` is synchronous native work behind a promise: it would block the event loop of the thread
 * that calls it. So sessions live in worker threads (WorkerPoolBackend), each with a few intra-op threads;
 * `allow_spinning` is off so that idle pool threads do not burn a core on a small host.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { childLogger } from '../../logger.ts';
import { PINNED_MODEL_JSON_SHA256, PINNED_ONNX_MODEL, sha256Hex } from '../pinned-model.ts';
import { missingLibraries } from './libraries.ts';
import { ORT_CPU_BATCH_LIMIT, OrtSessionBackend } from './ort-session.ts';
import type { InferenceBackend } from './types.ts';
import type { OrtProvider } from './worker-protocol.ts';

const log = childLogger('embedding');

export interface OnnxModel {
  bytes: Uint8Array;
  /** `model.onnx` when the pinned file was there, else `converted at start`. */
  source: string;
}

/**
 * The ONNX model for a TF.js model folder. `model.onnx` is used only when model.json is the pinned one and
 * the file has the pinned sha256 (it cannot go stale against another model.json); otherwise the graph is
 * converted in memory (~0.5 s), which gives the same bytes for the pinned model.
 */
export async function loadOnnxModel(modelDir: string): Promise<OnnxModel> {
  const onnxPath = join(modelDir, PINNED_ONNX_MODEL.file);
  const modelJsonPath = join(modelDir, 'model.json');
  if (existsSync(onnxPath) && existsSync(modelJsonPath) && sha256Hex(await readFile(modelJsonPath)) === PINNED_MODEL_JSON_SHA256) {
    const bytes = await readFile(onnxPath);
    if (bytes.length === PINNED_ONNX_MODEL.bytes && sha256Hex(bytes) === PINNED_ONNX_MODEL.sha256) return { bytes, source: onnxPath };
    log.warn({ file: onnxPath }, `${onnxPath} does not match its pinned sha256; converting the TF.js graph in memory (run \`npm run model:fetch\` to rewrite it)`);
  }
  // Imported on demand: the converter reads the graph through model.ts, which loads TF.js.
  const { convertToOnnx } = await import('../onnx-convert.ts');
  return { bytes: await convertToOnnx(modelDir), source: 'converted at start' };
}

export interface OrtBackendSettings {
  modelDir: string;
  provider: OrtProvider;
  /** Worker threads, one session each; 0 runs one session in the calling thread (tests, tools). */
  workers: number;
  /** Intra-op threads per session. */
  threads: number;
}

/** Starts ORT sessions in `workers` worker threads (CUDA: one worker, the GPU does the parallel work). */
export async function createOrtBackend(settings: OrtBackendSettings): Promise<InferenceBackend> {
  const model = await loadOnnxModel(settings.modelDir);
  log.debug({ source: model.source, provider: settings.provider }, 'onnx model ready');
  if (settings.workers === 0) return OrtSessionBackend.create(model.bytes, settings.provider, settings.threads);
  const { WorkerPoolBackend } = await import('./worker-pool.ts');
  const workers = settings.provider === 'cuda' ? 1 : settings.workers;
  const name =
    settings.provider === 'cuda'
      ? 'onnxruntime cuda (1 worker)'
      : `onnxruntime cpu (${workers} worker${workers === 1 ? '' : 's'} × ${settings.threads} thread${settings.threads === 1 ? '' : 's'})`;
  return WorkerPoolBackend.create({ kind: 'ort', model: model.bytes, provider: settings.provider, threads: settings.threads }, workers, {
    name,
    batchLimit: settings.provider === 'cpu' ? ORT_CPU_BATCH_LIMIT : undefined,
  });
}

/** Folder of onnxruntime-node's native libraries for this platform. */
function ortLibraryFolder(): string {
  const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
  return join(dirname(entry), '..', 'bin', 'napi-v6', platform(), arch());
}

/** True when ORT's CUDA execution provider library has been installed (`npm run gpu:install`). */
export function cudaProviderInstalled(): boolean {
  return existsSync(join(ortLibraryFolder(), 'libonnxruntime_providers_cuda.so'));
}

/** True when a GPU device node is visible to this process. */
export function gpuVisible(): boolean {
  return existsSync('/dev/nvidia0') || existsSync('/dev/nvidiactl');
}

/**
 * Why the CUDA provider cannot run here, as fixes to apply: the provider library, the driver, CUDA 12 and
 * cuDNN 9 (what ORT 1.30's CUDA provider links against).
 */
export function cudaProblems(): string[] {
  const problems: string[] = [];
  if (!cudaProviderInstalled()) problems.push('the ORT CUDA provider is not installed (run `npm run gpu:install`)');
  if (!gpuVisible()) problems.push('no /dev/nvidia0: no GPU visible (NVIDIA driver, or docker run --gpus all)');
  const missing = missingLibraries(['libcuda.so.1', 'libcudart.so.12', 'libcublasLt.so.12', 'libcudnn.so.9']);
  const fixes: Record<string, string> = {
    'libcuda.so.1': 'libcuda.so.1 not found (NVIDIA driver)',
    'libcudart.so.12': 'libcudart.so.12 not found (CUDA 12 runtime)',
    'libcublasLt.so.12': 'libcublasLt.so.12 not found (CUDA 12 cuBLAS)',
    'libcudnn.so.9': 'libcudnn.so.9 not found (cuDNN 9 for CUDA 12)',
  };
  return [...problems, ...missing.map((name) => fixes[name] ?? `${name} not found`)];
}

