/** Messages between WorkerPoolBackend and inference-worker.ts. */
import type { TensorflowKind } from './types.ts';

/** ONNX Runtime execution providers we run: the CPU one, and CUDA 12 when its provider library is installed. */
export type OrtProvider = 'cpu' | 'cuda';

export type WorkerInit =
  | { kind: Extract<TensorflowKind, 'wasm' | 'cpu'>; modelDir: string }
  | {
      kind: 'ort';
      /** ONNX model bytes (each worker builds its own session from them). */
      model: Uint8Array;
      provider: OrtProvider;
      /** ORT intra-op threads of this worker's session. */
      threads: number;
    };

export interface WorkerRequest {
  id: number;
  pixels: Float32Array;
  count: number;
}

export interface WorkerFailure {
  code?: string;
  message: string;
}

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'failed'; error: WorkerFailure }
  | { type: 'result'; id: number; vectors: Float32Array }
  | { type: 'error'; id: number; error: WorkerFailure };
