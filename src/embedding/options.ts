/** Options of the embedding engine, and how they come from the configuration. */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import type { Config } from '../config.ts';
import type { DecodeLimits } from './decode.ts';
import { PINNED_MODEL_FOLDER } from './pinned-model.ts';
import { DEFAULT_PREPROCESS, type PreprocessOptions } from './preprocess.ts';

/** Where `npm install` put the model when run in the project folder (DATA_DIR unset). */
export const PROJECT_MODEL_DIR = resolve(import.meta.dirname, '..', '..', 'data', 'models', PINNED_MODEL_FOLDER);

/**
 * MODEL_DIR when set; else `<DATA_DIR>/models/efficientnet-b0`; and when that does not exist (the CLI run
 * from another folder, `--data` pointing elsewhere) the copy installed inside the project.
 */
export function resolveModelDir(config: Pick<Config, 'MODEL_DIR' | 'modelDir'>): string {
  if (config.MODEL_DIR !== undefined) return config.modelDir;
  if (existsSync(join(config.modelDir, 'model.json'))) return config.modelDir;
  return existsSync(join(PROJECT_MODEL_DIR, 'model.json')) ? PROJECT_MODEL_DIR : config.modelDir;
}

/**
 * `ort`: ONNX Runtime CPU; `ort-cuda`: ONNX Runtime on CUDA 12 (falls back to `ort` with a logged reason);
 * `gpu` / `node`: tfjs-node-gpu / tfjs-node; `wasm`: the TF.js wasm pool; `cpu`: pure-JS TF.js (slow).
 */
export type BackendChoice = 'auto' | 'ort' | 'ort-cuda' | 'gpu' | 'node' | 'wasm' | 'cpu';

export interface EmbedderOptions {
  /** TF.js graph model folder (the pinned EfficientNet-B0, or a compatible graph). */
  modelDir: string;
  /**
   * `auto`: ONNX Runtime CUDA (when its provider is installed and a GPU is visible), tfjs-node-gpu,
   * tfjs-node (when installed), ONNX Runtime CPU, then the wasm worker pool. `cpu` only when asked.
   */
  backend: BackendChoice;
  /** Inference worker threads (ORT CPU, wasm, cpu). 0 runs the model in the calling thread (the single-thread baseline). */
  workers: number;
  /** ONNX Runtime intra-op threads per worker. */
  threads: number;
  /** Micro-batching: at most this many images per model call … */
  maxBatch: number;
  /** … gathered for at most this long after the first one arrives. */
  batchWaitMs: number;
  limits: DecodeLimits;
  preprocess: PreprocessOptions;
  /** Non-empty: embed through these `npm run embedder` hosts instead of in-process. */
  embedderUrls: string[];
  embedderToken?: string | undefined;
  /** Per-request limit for the HTTP client. */
  requestTimeoutMs?: number;
  /** Period of the HTTP client's /healthz checks of each host. */
  embedderHealthIntervalMs?: number;
  /** How long an image waits for an embedder host when none is up, before EMBEDDER_UNAVAILABLE. */
  embedderWaitMs?: number;
}

export function embedderOptionsFromConfig(config: Config): EmbedderOptions {
  return {
    modelDir: resolveModelDir(config),
    backend: config.EMBEDDING_BACKEND,
    workers: config.EMBEDDING_WORKERS,
    threads: config.EMBEDDING_THREADS,
    maxBatch: config.EMBEDDING_MAX_BATCH,
    batchWaitMs: config.EMBEDDING_BATCH_WAIT_MS,
    limits: { maxBytes: config.MAX_IMAGE_BYTES, maxPixels: config.MAX_IMAGE_PIXELS, timeoutMs: config.DECODE_TIMEOUT_MS },
    preprocess: DEFAULT_PREPROCESS,
    embedderUrls: config.embedderUrls,
    embedderToken: config.EMBEDDER_TOKEN,
    embedderHealthIntervalMs: config.EMBEDDER_HEALTH_INTERVAL_MS,
    embedderWaitMs: config.EMBEDDER_WAIT_MS,
  };
}

/** Sensible options for tests, benchmarks and tools: everything explicit, nothing read from env. */
export function defaultEmbedderOptions(overrides: Partial<EmbedderOptions> & Pick<EmbedderOptions, 'modelDir'>): EmbedderOptions {
  return {
    backend: 'wasm',
    workers: availableParallelism(),
    threads: 1,
    maxBatch: 16,
    batchWaitMs: 4,
    limits: { maxBytes: 25 * 1024 * 1024, maxPixels: 50_000_000, timeoutMs: 10_000 },
    preprocess: DEFAULT_PREPROCESS,
    embedderUrls: [],
    ...overrides,
  };
}
