/**
 * In-thread TF.js backends: tfjs-node-gpu / tfjs-node (native TensorFlow, optional: installed only on hosts
 * that can run them, never listed in package.json), the wasm backend, and the slow pure-JS cpu backend.
 */
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { DejavuError } from '../../errors.ts';
import { childLogger } from '../../logger.ts';
import { embedPreprocessed, loadModel, type LoadedModel } from '../model.ts';
import type { InferenceBackend, TensorflowKind } from './types.ts';
import { installWasmKernelOverrides } from './wasm-kernels.ts';
import { missingLibraries, NATIVE_TENSORFLOW_PACKAGE } from './libraries.ts';

const log = childLogger('embedding');

/** Makes `kind` the active TF.js backend of this thread. Throws BACKEND_UNAVAILABLE when it cannot load. */
export async function activateTensorflow(kind: TensorflowKind): Promise<void> {
  if (kind === 'tensorflow-gpu' || kind === 'tensorflow') {
    const specifier: string = NATIVE_TENSORFLOW_PACKAGE[kind];
    try {
      // A variable specifier keeps TypeScript from requiring the (uninstalled here) package's types.
      await import(specifier);
    } catch (error) {
      throw new DejavuError('BACKEND_UNAVAILABLE', `${specifier} is not installed or failed to load`, { kind }, { cause: error });
    }
    // Both native packages register their backend under the name `tensorflow`.
    if (!(await tf.setBackend('tensorflow'))) {
      throw new DejavuError('BACKEND_UNAVAILABLE', `${specifier} loaded but its backend did not initialise (different @tensorflow/tfjs-core version?)`, { kind });
    }
    if (kind === 'tensorflow-gpu') warnIfGpuUnusable();
  } else {
    if (kind === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
    else await import('@tensorflow/tfjs-backend-cpu');
    if (!(await tf.setBackend(kind))) throw new DejavuError('BACKEND_UNAVAILABLE', `TF.js backend ${kind} did not initialise`, { kind });
    if (kind === 'wasm') installWasmKernelOverrides();
  }
  await tf.ready();
  if (kind === 'wasm') {
    // Without SIMD the wasm backend is ~2× slower; say so rather than silently running slow.
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    if (simd !== true) log.warn('wasm backend runs without SIMD support: expect about half the speed');
    else log.debug('wasm backend with SIMD');
  }
}

/**
 * tfjs-node-gpu silently runs on the CPU when the CUDA 11.2 / cuDNN 8.1 libraries it was built for are not
 * found. TF.js exposes no device list, so check what TensorFlow would dlopen, and say loudly what to fix.
 */
export function warnIfGpuUnusable(): void {
  const missing = missingLibraries(['libcudart.so.11.0', 'libcudnn.so.8']);
  const noDevice = !existsSync('/dev/nvidia0');
  if (missing.length === 0 && !noDevice) {
    log.info('tfjs-node-gpu: CUDA 11 and cuDNN 8 libraries found and /dev/nvidia0 present');
    return;
  }
  const reasons = [...(noDevice ? ['no /dev/nvidia0 (no GPU visible to this process)'] : []), ...missing.map((name) => `${name} not found`)];
  log.warn(
    { reasons },
    '!!! tfjs-node-gpu is loaded but TensorFlow will very likely run on the CPU (it falls back silently). ' +
      'Fix: install CUDA 11.2 and cuDNN 8.1 (tfjs-node-gpu 4.x is built against exactly these; CUDA 12 does not work), ' +
      'put their lib64 folders on LD_LIBRARY_PATH, and run with the NVIDIA container runtime (see Dockerfile.gpu). !!!',
  );
}


/** A backend that runs the model in the current thread (used directly, and inside each pool worker). */
/** See InferenceBackend.batchLimit (bench:embed: batch 4 ≥ batch 8 in img/s, with less memory). */
export const CPU_BATCH_LIMIT = 4;

export class InThreadBackend implements InferenceBackend {
  readonly slots = 1;
  readonly batchLimit: number | undefined;

  private constructor(
    readonly name: string,
    private readonly model: LoadedModel,
  ) {
    this.batchLimit = name === 'wasm' || name === 'cpu' ? CPU_BATCH_LIMIT : undefined;
  }

  static async create(kind: TensorflowKind, modelDir: string): Promise<InThreadBackend> {
    await activateTensorflow(kind);
    const model = await loadModel(modelDir);
    const backend = new InThreadBackend(kind, model);
    // One warm-up run compiles kernels / allocates, so the first real request is not slow.
    await backend.infer(new Float32Array(224 * 224 * 3), 1);
    return backend;
  }

  infer(pixels: Float32Array, count: number): Promise<Float32Array[]> {
    return embedPreprocessed(this.model, pixels, count);
  }

  async close(): Promise<void> {
    this.model.graph.dispose();
  }
}
