/**
 * The CPU fast path: the wasm backend is single-threaded, so N worker threads each hold a copy of the model
 * (~25 MB) and take whole batches. The micro-batcher in front sees one slot per worker.
 */
import { Worker } from 'node:worker_threads';
import { DejavuError, type ErrorCode } from '../../errors.ts';
import { childLogger } from '../../logger.ts';
import { EMBEDDING_DIMENSIONS } from '../types.ts';
import type { InferenceBackend } from './types.ts';
import type { WorkerFailure, WorkerInit, WorkerReply, WorkerRequest } from './worker-protocol.ts';

const log = childLogger('embedding');
const BOOTSTRAP = new URL('./worker-bootstrap.mjs', import.meta.url);

interface Job {
  resolve: (vectors: Float32Array[]) => void;
  reject: (error: unknown) => void;
}

class PoolWorker {
  private readonly jobs = new Map<number, Job>();
  private nextId = 1;
  busy = 0;
  alive = true;

  private constructor(
    readonly worker: Worker,
    readonly index: number,
    onExit: (worker: PoolWorker) => void,
  ) {
    worker.on('message', (reply: WorkerReply) => this.onReply(reply));
    worker.on('error', (error) => this.failAll(error));
    worker.on('exit', (code) => {
      this.alive = false;
      this.failAll(new DejavuError('BACKEND_UNAVAILABLE', `embedding worker ${index} exited (code ${code})`));
      onExit(this);
    });
  }

  static start(init: WorkerInit, index: number, onExit: (worker: PoolWorker) => void): Promise<PoolWorker> {
    const worker = new Worker(BOOTSTRAP, { workerData: init, name: `embedding-${index}` });
    return new Promise((resolve, reject) => {
      const onReady = (reply: WorkerReply): void => {
        if (reply.type === 'ready') {
          cleanup();
          resolve(new PoolWorker(worker, index, onExit));
        } else if (reply.type === 'failed') {
          cleanup();
          void worker.terminate();
          reject(toError(reply.error));
        }
      };
      const onError = (error: Error): void => {
        cleanup();
        reject(new DejavuError('BACKEND_UNAVAILABLE', `embedding worker ${index} failed to start: ${error.message}`, {}, { cause: error }));
      };
      const cleanup = (): void => {
        worker.off('message', onReady);
        worker.off('error', onError);
      };
      worker.on('message', onReady);
      worker.on('error', onError);
    });
  }

  infer(pixels: Float32Array, count: number): Promise<Float32Array[]> {
    const id = this.nextId++;
    this.busy += 1;
    return new Promise<Float32Array[]>((resolve, reject) => {
      this.jobs.set(id, { resolve, reject });
      const request: WorkerRequest = { id, pixels, count };
      this.worker.postMessage(request, [pixels.buffer as ArrayBuffer]);
    }).finally(() => {
      this.busy -= 1;
    });
  }

  private onReply(reply: WorkerReply): void {
    if (reply.type !== 'result' && reply.type !== 'error') return;
    const job = this.jobs.get(reply.id);
    if (job === undefined) return;
    this.jobs.delete(reply.id);
    if (reply.type === 'error') {
      job.reject(toError(reply.error));
      return;
    }
    const vectors: Float32Array[] = [];
    for (let offset = 0; offset < reply.vectors.length; offset += EMBEDDING_DIMENSIONS) {
      vectors.push(reply.vectors.subarray(offset, offset + EMBEDDING_DIMENSIONS));
    }
    job.resolve(vectors);
  }

  private failAll(error: unknown): void {
    for (const job of this.jobs.values()) job.reject(error);
    this.jobs.clear();
  }
}

export interface PoolSettings {
  /** The backend's name; default `<kind> (<count> workers)`. */
  name?: string;
  /** See InferenceBackend.batchLimit. */
  batchLimit?: number;
}

export class WorkerPoolBackend implements InferenceBackend {
  readonly name: string;
  readonly slots: number;
  readonly batchLimit: number | undefined;
  private closed = false;

  private workers: PoolWorker[] = [];

  private constructor(
    private readonly init: WorkerInit,
    count: number,
    settings: PoolSettings,
  ) {
    this.slots = count;
    this.name = settings.name ?? `${init.kind} (${count} worker${count === 1 ? '' : 's'})`;
    this.batchLimit = settings.batchLimit;
  }

  /**
   * Starts `count` workers from `init`. TF.js wasm/cpu pools cap batches at the in-thread backend's
   * CPU_BATCH_LIMIT (4; not imported because that module loads TF.js).
   */
  static async create(init: WorkerInit, count: number, settings: PoolSettings = {}): Promise<WorkerPoolBackend> {
    const pool = new WorkerPoolBackend(init, count, { batchLimit: init.kind === 'ort' ? undefined : 4, ...settings });
    const started = await Promise.allSettled(Array.from({ length: count }, (_, index) => pool.startWorker(index)));
    const failure = started.find((result) => result.status === 'rejected');
    if (failure !== undefined) {
      await pool.close();
      throw (failure as PromiseRejectedResult).reason;
    }
    log.debug({ backend: pool.name, workers: count }, 'embedding worker pool started');
    return pool;
  }

  private async startWorker(index: number): Promise<void> {
    const worker = await PoolWorker.start(this.init, index, (exited) => this.replace(exited));
    if (this.closed) {
      await worker.worker.terminate();
      return;
    }
    this.workers = [...this.workers.filter((other) => other.index !== index), worker];
  }

  /** A worker that died (wasm abort, out of memory) is restarted; its in-flight batch has already failed. */
  private replace(exited: PoolWorker): void {
    if (this.closed) return;
    log.error({ worker: exited.index }, 'embedding worker exited; starting a replacement');
    this.startWorker(exited.index).catch((error: unknown) => log.error({ err: error, worker: exited.index }, 'could not restart embedding worker'));
  }

  infer(pixels: Float32Array, count: number): Promise<Float32Array[]> {
    if (this.closed) return Promise.reject(new DejavuError('BACKEND_UNAVAILABLE', 'the embedding worker pool is closed'));
    // The batcher never hands out more batches than slots, so an idle worker exists; pick the least busy.
    const alive = this.workers.filter((worker) => worker.alive);
    if (alive.length === 0) return Promise.reject(new DejavuError('BACKEND_UNAVAILABLE', 'every embedding worker has exited'));
    const worker = alive.reduce((best, candidate) => (candidate.busy < best.busy ? candidate : best));
    return worker.infer(pixels, count);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((worker) => worker.worker.terminate()));
  }
}

function toError(failure: WorkerFailure): Error {
  return new DejavuError((failure.code as ErrorCode | undefined) ?? 'BACKEND_UNAVAILABLE', failure.message);
}
