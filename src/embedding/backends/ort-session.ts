/**
 * One ONNX Runtime session in the calling thread: what each embedding pool worker runs. Kept apart from
 * ./onnxruntime.ts (model loading, provider checks, logging) so that a worker loads only ORT itself.
 */
import type { InferenceSession as OrtSession } from 'onnxruntime-node';
import { DejavuError } from '../../errors.ts';
import { ONNX_INPUT, ONNX_OUTPUT } from '../pinned-model.ts';
import { EMBEDDING_DIMENSIONS, INPUT_SIZE } from '../types.ts';
import { l2Normalise } from '../vectors.ts';
import type { InferenceBackend } from './types.ts';
import type { OrtProvider } from './worker-protocol.ts';

/**
 * Largest batch per ORT CPU call: on 2 cores batch 4 was at least as fast per image as batch 8, at the same
 * CPU cost (bench:embed, docs/benchmarks.md). CUDA takes the configured maximum.
 */
export const ORT_CPU_BATCH_LIMIT = 4;

/** One ORT session in the current thread. Used inside pool workers (and in-thread when workers = 0). */
export class OrtSessionBackend implements InferenceBackend {
  readonly slots = 1;
  readonly batchLimit: number | undefined;

  private constructor(
    private readonly ort: typeof import('onnxruntime-node'),
    private readonly session: OrtSession,
    readonly provider: OrtProvider,
  ) {
    this.batchLimit = provider === 'cpu' ? ORT_CPU_BATCH_LIMIT : undefined;
  }

  get name(): string {
    return `onnxruntime ${this.provider}`;
  }

  /** Throws BACKEND_UNAVAILABLE when the session cannot be created (e.g. the CUDA provider cannot load). */
  static async create(model: Uint8Array, provider: OrtProvider, threads: number): Promise<OrtSessionBackend> {
    const ort = await import('onnxruntime-node');
    let session: OrtSession;
    try {
      session = await ort.InferenceSession.create(model, {
        executionProviders: provider === 'cuda' ? [{ name: 'cuda', deviceId: 0 }, 'cpu'] : ['cpu'],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        // EfficientNet is a chain: nothing to run in parallel between operators.
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        // On CPU the memory pattern pre-plans one block per input shape (batch 1 to 4): about 70 MB more peak
        // RSS for two workers, and no faster (docs/benchmarks.md, "Memory"). CUDA keeps ORT's default: unmeasured.
        enableMemPattern: provider !== 'cpu',
        extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new DejavuError('BACKEND_UNAVAILABLE', `onnxruntime ${provider} session failed to load: ${reason}`, { provider }, { cause: error });
    }
    const backend = new OrtSessionBackend(ort, session, provider);
    // The first run allocates ORT's arena and (on CUDA) picks kernels: keep it out of the first request.
    await backend.infer(new Float32Array(INPUT_SIZE * INPUT_SIZE * 3), 1);
    return backend;
  }

  async infer(pixels: Float32Array, count: number): Promise<Float32Array[]> {
    const input = new this.ort.Tensor('float32', pixels, [count, INPUT_SIZE, INPUT_SIZE, 3]);
    const outputs = await this.session.run({ [ONNX_INPUT]: input });
    const pooled = outputs[ONNX_OUTPUT]!.data as Float32Array;
    const vectors: Float32Array[] = [];
    for (let image = 0; image < count; image += 1) {
      vectors.push(l2Normalise(pooled.subarray(image * EMBEDDING_DIMENSIONS, (image + 1) * EMBEDDING_DIMENSIONS)));
    }
    return vectors;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
