/** What an inference backend does: preprocessed 224×224×3 inputs in, unit-length 1280-d vectors out. */
export interface InferenceBackend {
  /** e.g. `wasm (2 workers)`, `wasm`, `tensorflow-gpu`. */
  readonly name: string;
  /** How many batches may run at once (worker count; 1 for in-thread backends). */
  readonly slots: number;
  /**
   * Largest batch worth sending, when smaller than the configured maximum: on wasm a batch of 4 is as fast
   * per image as 16, and every extra image in a batch grows each worker's wasm heap (which never shrinks).
   */
  readonly batchLimit?: number;
  /**
   * `pixels` holds `count` concatenated inputs. Ownership passes to the backend (it may transfer the buffer
   * to a worker). Resolves to one vector per input, in order.
   */
  infer(pixels: Float32Array, count: number): Promise<Float32Array[]>;
  close(): Promise<void>;
}

/** TF.js backends that run inside one thread. */
export type TensorflowKind = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
