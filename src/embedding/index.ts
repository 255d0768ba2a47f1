/**
 * Entry point of the embedding engine. `createEmbedder` returns an HttpEmbedder when embedder hosts are
 * configured, otherwise a LocalEmbedder on the best available backend: ONNX Runtime CUDA → tfjs-node-gpu →
 * tfjs-node → ONNX Runtime CPU → wasm worker pool (pure-JS cpu only when asked for).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DejavuError, ModelError } from '../errors.ts';
import { childLogger } from '../logger.ts';
import type { InferenceBackend, TensorflowKind } from './backends/types.ts';
import { HttpEmbedder } from './http-client.ts';
import { LocalEmbedder } from './local-embedder.ts';
import type { EmbedderOptions } from './options.ts';
import { EFFICIENTNET_B0_MODEL_JSON_SHA256, MODEL_FIX, sha256Hex } from './pinned-model.ts';
import { preprocessTag, type PreprocessOptions } from './preprocess.ts';
import { VECTOR_SIGNATURE_TAG } from './signature.ts';
import type { Embedder } from './types.ts';

export { embedderOptionsFromConfig, defaultEmbedderOptions, type EmbedderOptions, type BackendChoice } from './options.ts';
export { decodeImage, type DecodedImage, type DecodeLimits } from './decode.ts';
export { preprocess, DEFAULT_PREPROCESS, type PreprocessOptions, type Fit } from './preprocess.ts';
export { LocalEmbedder } from './local-embedder.ts';
export { HttpEmbedder } from './http-client.ts';
export type { Embedder, ImageEmbedding } from './types.ts';
export { EMBEDDING_DIMENSIONS } from './types.ts';

const log = childLogger('embedding');

export async function createEmbedder(options: EmbedderOptions): Promise<Embedder> {
  if (options.embedderUrls.length > 0) {
    const embedder = await HttpEmbedder.connect({
      urls: options.embedderUrls,
      token: options.embedderToken,
      timeoutMs: options.requestTimeoutMs,
      healthIntervalMs: options.embedderHealthIntervalMs,
      waitMs: options.embedderWaitMs,
      expectedVariant: await expectedRemoteVariant(options),
    });
    log.info({ backend: embedder.backend, variant: embedder.variant }, 'embedding through remote embedder hosts');
    return embedder;
  }
  const variant = await modelVariant(options.modelDir, options.preprocess);
  const inference = await createInferenceBackend(options);
  log.info({ backend: inference.name, variant, modelDir: options.modelDir }, `embedding backend: ${inference.name}`);
  return new LocalEmbedder(inference, {
    limits: options.limits,
    preprocess: options.preprocess,
    maxBatch: Math.min(options.maxBatch, inference.batchLimit ?? options.maxBatch),
    batchWaitMs: options.batchWaitMs,
    variant,
  });
}

/**
 * `effnetb0-avg-<preprocessing>/<frozen signature tag>` for the EfficientNet-B0 graphs we know; another
 * MODEL_DIR gets its model.json hash instead of `effnetb0`, so its vectors never mix with ours.
 */
export async function modelVariant(modelDir: string, preprocessOptions: PreprocessOptions): Promise<string> {
  const modelJsonPath = join(modelDir, 'model.json');
  if (!existsSync(modelJsonPath)) {
    throw new ModelError('MODEL_MISSING', `model file ${modelJsonPath} is missing; ${MODEL_FIX}`, { file: modelJsonPath });
  }
  const hash = sha256Hex(await readFile(modelJsonPath));
  const model = EFFICIENTNET_B0_MODEL_JSON_SHA256.has(hash) ? 'effnetb0' : `model-${hash.slice(0, 12)}`;
  return `${model}-avg-${preprocessTag(preprocessOptions)}/${VECTOR_SIGNATURE_TAG}`;
}

/**
 * The variant assumed for embedder hosts when none answers at start (the bot must still open its indexes):
 * the local model's when it is installed here, else the pinned EfficientNet-B0's. A host that later answers
 * with another variant is refused, so vectors never mix.
 */
export async function expectedRemoteVariant(options: Pick<EmbedderOptions, 'modelDir' | 'preprocess'>): Promise<string> {
  if (existsSync(join(options.modelDir, 'model.json'))) return modelVariant(options.modelDir, options.preprocess);
  return `effnetb0-avg-${preprocessTag(options.preprocess)}/${VECTOR_SIGNATURE_TAG}`;
}

/** Picks and starts the inference backend named by `options.backend` (see EmbedderOptions). */
export async function createInferenceBackend(options: Pick<EmbedderOptions, 'backend' | 'workers' | 'threads' | 'modelDir'>): Promise<InferenceBackend> {
  // Imported on demand: TF.js / ONNX Runtime load only where the model runs (not in HTTP clients), and a
  // pool's main thread loads neither runtime.
  const inThread = async (kind: TensorflowKind): Promise<InferenceBackend> => {
    const { InThreadBackend } = await import('./backends/tensorflow.ts');
    return InThreadBackend.create(kind, options.modelDir);
  };
  const cpuSide = async (kind: 'wasm' | 'cpu'): Promise<InferenceBackend> => {
    if (options.workers === 0) return inThread(kind);
    const { WorkerPoolBackend } = await import('./backends/worker-pool.ts');
    return WorkerPoolBackend.create({ kind, modelDir: options.modelDir }, options.workers);
  };
  const ort = async (provider: 'cpu' | 'cuda'): Promise<InferenceBackend> => {
    const { createOrtBackend } = await import('./backends/onnxruntime.ts');
    return createOrtBackend({ modelDir: options.modelDir, provider, workers: options.workers, threads: options.threads });
  };
  /** CUDA, or null after logging loudly why it cannot run here. */
  const ortCuda = async (): Promise<InferenceBackend | null> => {
    try {
      return await ort('cuda');
    } catch (error) {
      if (isModelProblem(error)) throw error;
      const { cudaProblems } = await import('./backends/onnxruntime.ts');
      log.error(
        { reason: error instanceof Error ? error.message : String(error), problems: cudaProblems() },
        '!!! ONNX Runtime CUDA could not start; embedding on the CPU instead. It needs the ORT CUDA provider ' +
          '(`npm run gpu:install`), an NVIDIA driver with a visible GPU, CUDA 12 and cuDNN 9 (see Dockerfile.gpu) !!!',
      );
      return null;
    }
  };

  switch (options.backend) {
    case 'ort-cuda':
      return (await ortCuda()) ?? ort('cpu');
    case 'ort':
      return ort('cpu');
    case 'gpu':
      return inThread('tensorflow-gpu');
    case 'node':
      return inThread('tensorflow');
    case 'wasm':
      return cpuSide('wasm');
    case 'cpu':
      log.warn('EMBEDDING_BACKEND=cpu: the pure-JS backend is about 20× slower than wasm');
      return cpuSide('cpu');
    case 'auto': {
      const { cudaProviderInstalled, gpuVisible } = await import('./backends/onnxruntime.ts');
      if (cudaProviderInstalled() && gpuVisible()) {
        const cuda = await ortCuda();
        if (cuda !== null) return cuda;
      }
      const { nativeTensorflowInstalled } = await import('./backends/libraries.ts');
      for (const kind of ['tensorflow-gpu', 'tensorflow'] as const) {
        if (!nativeTensorflowInstalled(kind)) {
          log.debug({ kind }, 'native TensorFlow backend not installed');
          continue;
        }
        try {
          return await inThread(kind);
        } catch (error) {
          if (isModelProblem(error)) throw error;
          const reason = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
          const notInstalled = /Cannot find (module|package)|ERR_MODULE_NOT_FOUND/.test(reason);
          if (notInstalled) log.debug({ kind }, 'native TensorFlow backend not installed');
          else log.warn({ kind, reason }, `native TensorFlow backend ${kind} is installed but failed to load; trying the next backend`);
        }
      }
      try {
        return await ort('cpu');
      } catch (error) {
        if (isModelProblem(error)) throw error;
        log.error({ reason: error instanceof Error ? error.message : String(error) }, 'ONNX Runtime CPU could not start; falling back to the (slower) wasm worker pool');
      }
      return cpuSide('wasm');
    }
  }
}

function isModelProblem(error: unknown): boolean {
  return error instanceof DejavuError && (error.code === 'MODEL_MISSING' || error.code === 'MODEL_CORRUPT');
}
