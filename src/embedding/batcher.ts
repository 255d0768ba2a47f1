/**
 * Micro-batching in front of an inference backend. Inputs that arrive within `maxWaitMs` of the first
 * queued one go to the backend together (up to `maxBatch`); a full batch goes at once. With several slots
 * (worker threads), a slot that frees up takes the queued inputs immediately: they have waited already.
 */
import { INPUT_SIZE } from './types.ts';
import type { InferenceBackend } from './backends/types.ts';

const INPUT_VALUES = INPUT_SIZE * INPUT_SIZE * 3;

interface Pending {
  input: Float32Array;
  resolve: (vector: Float32Array) => void;
  reject: (error: unknown) => void;
}

export interface BatchStats {
  batches: number;
  images: number;
  /** Total milliseconds spent inside the backend (summed over slots). */
  inferMs: number;
}

export class MicroBatcher {
  private readonly queue: Pending[] = [];
  private busySlots = 0;
  private timer: NodeJS.Timeout | undefined;
  readonly stats: BatchStats = { batches: 0, images: 0, inferMs: 0 };

  constructor(
    private readonly backend: InferenceBackend,
    private readonly maxBatch: number,
    private readonly maxWaitMs: number,
    private readonly onBatch?: (size: number, milliseconds: number) => void,
  ) {}

  /** Queues one preprocessed input (INPUT_SIZE²×3 floats); resolves to its unit vector. */
  submit(input: Float32Array): Promise<Float32Array> {
    if (input.length !== INPUT_VALUES) return Promise.reject(new Error(`input has ${input.length} values, expected ${INPUT_VALUES}`));
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.schedule();
    });
  }

  get queued(): number {
    return this.queue.length;
  }

  private schedule(): void {
    while (this.busySlots < this.backend.slots && this.queue.length >= this.maxBatch) this.dispatch();
    if (this.queue.length === 0 || this.busySlots >= this.backend.slots) return;
    if (this.maxWaitMs === 0) {
      this.dispatch();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      if (this.busySlots < this.backend.slots && this.queue.length > 0) this.dispatch();
      this.schedule();
    }, this.maxWaitMs);
  }

  private dispatch(): void {
    const batch = this.queue.splice(0, this.maxBatch);
    const pixels = new Float32Array(batch.length * INPUT_VALUES);
    batch.forEach((item, index) => pixels.set(item.input, index * INPUT_VALUES));
    this.busySlots += 1;
    const started = performance.now();
    this.backend
      .infer(pixels, batch.length)
      .then(
        (vectors) => {
          batch.forEach((item, index) => {
            const vector = vectors[index];
            if (vector === undefined) item.reject(new Error('backend returned fewer vectors than inputs'));
            else item.resolve(vector);
          });
        },
        (error: unknown) => batch.forEach((item) => item.reject(error)),
      )
      .finally(() => {
        const milliseconds = performance.now() - started;
        this.stats.batches += 1;
        this.stats.images += batch.length;
        this.stats.inferMs += milliseconds;
        this.onBatch?.(batch.length, milliseconds);
        this.busySlots -= 1;
        // A freed slot takes whatever waited meanwhile, without a further delay.
        if (this.queue.length > 0) {
          if (this.timer !== undefined) clearTimeout(this.timer);
          this.timer = undefined;
          this.dispatch();
        }
        this.schedule();
      });
  }
}
