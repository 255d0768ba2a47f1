/** Embeds in this process: prepare (decode, preprocess, signature) here, infer on a backend via the micro-batcher. */
import { DejavuError } from '../errors.ts';
import { MicroBatcher } from './batcher.ts';
import type { InferenceBackend } from './backends/types.ts';
import type { DecodeLimits } from './decode.ts';
import { prepareImage } from './prepare.ts';
import type { PreprocessOptions } from './preprocess.ts';
import type { Embedder, ImageEmbedding } from './types.ts';

export interface LocalEmbedderSettings {
  limits: DecodeLimits;
  preprocess: PreprocessOptions;
  maxBatch: number;
  batchWaitMs: number;
  variant: string;
  /** Called after each model call (metrics). */
  onBatch?: (size: number, milliseconds: number) => void;
}

export class LocalEmbedder implements Embedder {
  readonly backend: string;
  readonly variant: string;
  private readonly batcher: MicroBatcher;
  /** Bounds decoded images held in memory at once (each ≈ 1 MB) when callers submit thousands. */
  private readonly gate: Semaphore;

  constructor(
    private readonly inference: InferenceBackend,
    private readonly settings: LocalEmbedderSettings,
  ) {
    this.backend = inference.name;
    this.variant = settings.variant;
    this.batcher = new MicroBatcher(inference, settings.maxBatch, settings.batchWaitMs, settings.onBatch);
    this.gate = new Semaphore(Math.max(4, inference.slots * settings.maxBatch * 2));
  }

  /** Cumulative batching counters (benchmarks). */
  get batchStats(): MicroBatcher['stats'] {
    return this.batcher.stats;
  }

  async embed(image: Uint8Array): Promise<ImageEmbedding> {
    await this.gate.acquire();
    try {
      const prepared = await prepareImage(image, this.settings.limits, this.settings.preprocess);
      const vector = await this.batcher.submit(prepared.input);
      return { vector, signature: prepared.signature, width: prepared.width, height: prepared.height };
    } finally {
      this.gate.release();
    }
  }

  embedMany(images: readonly Uint8Array[]): Promise<Array<ImageEmbedding | DejavuError>> {
    return Promise.all(images.map((image) => this.embed(image).catch((error: unknown) => asDejavuError(error))));
  }

  async close(): Promise<void> {
    await this.inference.close();
  }
}

export function asDejavuError(error: unknown): DejavuError {
  if (error instanceof DejavuError) return error;
  return new DejavuError('BACKEND_UNAVAILABLE', error instanceof Error ? error.message : String(error), {}, { cause: error });
}

class Semaphore {
  private readonly waiting: Array<() => void> = [];
  private available: number;

  constructor(capacity: number) {
    this.available = capacity;
  }

  acquire(): Promise<void> {
    if (this.available > 0) {
      this.available -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next();
    else this.available += 1;
  }
}
