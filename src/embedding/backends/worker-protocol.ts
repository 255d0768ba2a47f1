/** Messages between WorkerPoolBackend and inference-worker.ts. */
import type { TensorflowKind } from './types.ts';

export interface WorkerInit {
  kind: Extract<TensorflowKind, 'wasm' | 'cpu'>;
  modelDir: string;
}

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
