/** Body of one pool worker: an in-thread TF.js or ONNX Runtime backend driven by messages from WorkerPoolBackend. */
import { parentPort, workerData } from 'node:worker_threads';
import { isDejavuError } from '../../errors.ts';
import type { InferenceBackend } from './types.ts';
import type { WorkerInit, WorkerReply, WorkerRequest } from './worker-protocol.ts';

const port = parentPort;
if (port === null) throw new Error('inference-worker.ts must run in a worker thread');
const init = workerData as WorkerInit;

function describe(error: unknown): { code?: string; message: string } {
  if (isDejavuError(error)) return { code: error.code, message: error.message };
  return { message: error instanceof Error ? error.message : String(error) };
}

/** Imported on demand, so an ONNX Runtime worker never loads TF.js (and the reverse). */
async function start(): Promise<InferenceBackend> {
  if (init.kind === 'ort') {
    const { OrtSessionBackend } = await import('./ort-session.ts');
    return OrtSessionBackend.create(init.model, init.provider, init.threads);
  }
  const { InThreadBackend } = await import('./tensorflow.ts');
  return InThreadBackend.create(init.kind, init.modelDir);
}

const ready = start();
ready.then(
  () => port.postMessage({ type: 'ready' } satisfies WorkerReply),
  (error: unknown) => port.postMessage({ type: 'failed', error: describe(error) } satisfies WorkerReply),
);

port.on('message', (request: WorkerRequest) => {
  void (async () => {
    try {
      const backend = await ready;
      const vectors = await backend.infer(request.pixels, request.count);
      // One buffer back, transferred rather than copied.
      const flat = new Float32Array(vectors.length * (vectors[0]?.length ?? 0));
      vectors.forEach((vector, index) => flat.set(vector, index * vector.length));
      port.postMessage({ type: 'result', id: request.id, vectors: flat } satisfies WorkerReply, [flat.buffer]);
    } catch (error) {
      port.postMessage({ type: 'error', id: request.id, error: describe(error) } satisfies WorkerReply);
    }
  })();
});
