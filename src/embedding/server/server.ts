/**
 * The embedder HTTP service (wire format in ../wire.ts). Dynamic batching comes from the embedder it wraps
 * (LocalEmbedder's micro-batcher: EMBEDDING_MAX_BATCH / EMBEDDING_BATCH_WAIT_MS), so concurrent single-image
 * requests from many bots are batched together on the GPU.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DejavuError, isDejavuError } from '../../errors.ts';
import { childLogger } from '../../logger.ts';
import { asDejavuError } from '../local-embedder.ts';
import type { Embedder } from '../types.ts';
import { BATCH_CONTENT_TYPE, decodeBatch, errorToWire, toWire, type WireBatchResponse, type WireHealth, type WireSingleResponse } from '../wire.ts';

const log = childLogger('embedder-server');

export interface EmbeddingServerOptions {
  embedder: Embedder;
  /** Required bearer token; undefined allows anyone (only sensible on loopback). */
  token?: string | undefined;
  maxBodyBytes: number;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
}

export interface EmbeddingServer {
  readonly server: Server;
  readonly registry: Registry;
  /** Starts listening; resolves to the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function createEmbeddingServer(options: EmbeddingServerOptions): EmbeddingServer {
  const { embedder } = options;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({ name: 'dejavu_embedder_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers: [registry] });
  const images = new Counter({ name: 'dejavu_embedder_images_total', help: 'Images embedded, by outcome', labelNames: ['outcome'], registers: [registry] });
  const duration = new Histogram({
    name: 'dejavu_embedder_request_seconds',
    help: 'Request duration',
    labelNames: ['route'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const expectedAuthorization = options.token === undefined ? undefined : Buffer.from(`Bearer ${options.token}`);

  const authorised = (request: IncomingMessage): boolean => {
    if (expectedAuthorization === undefined) return true;
    const given = Buffer.from(request.headers.authorization ?? '');
    return given.length === expectedAuthorization.length && timingSafeEqual(given, expectedAuthorization);
  };

  const handle = async (request: IncomingMessage, response: ServerResponse, route: string): Promise<{ route: string; status: number }> => {
    switch (route) {
      case 'GET /healthz': {
        const health: WireHealth = { ok: true, backend: embedder.backend, variant: embedder.variant };
        return { route, status: sendJson(response, 200, health) };
      }
      case 'GET /metrics': {
        response.setHeader('content-type', registry.contentType);
        response.end(await registry.metrics());
        return { route, status: 200 };
      }
      case 'POST /v1/embed':
      case 'POST /v1/embed-batch': {
        if (!authorised(request)) {
          request.resume();
          response.setHeader('www-authenticate', 'Bearer');
          throw new HttpProblem(401, 'EMBEDDER_REJECTED', 'missing or wrong bearer token');
        }
        const body = await readBody(request, options.maxBodyBytes);
        if (route === 'POST /v1/embed') {
          try {
            const embedding = await embedder.embed(body);
            images.inc({ outcome: 'ok' });
            const answer: WireSingleResponse = { ...toWire(embedding), variant: embedder.variant, backend: embedder.backend };
            return { route, status: sendJson(response, 200, answer) };
          } catch (error) {
            images.inc({ outcome: 'error' });
            const failure = asDejavuError(error);
            return { route, status: sendJson(response, failure.code.startsWith('IMAGE_') ? 422 : 500, errorToWire(failure)) };
          }
        }
        if (request.headers['content-type'] !== BATCH_CONTENT_TYPE) {
          throw new HttpProblem(415, 'INVALID_INPUT', `batch bodies must be ${BATCH_CONTENT_TYPE}`);
        }
        let parts: Uint8Array[];
        try {
          parts = decodeBatch(body);
        } catch (error) {
          throw new HttpProblem(400, 'INVALID_INPUT', error instanceof Error ? error.message : String(error));
        }
        const results = await embedder.embedMany(parts);
        for (const result of results) images.inc({ outcome: isDejavuError(result) ? 'error' : 'ok' });
        const answer: WireBatchResponse = {
          variant: embedder.variant,
          backend: embedder.backend,
          results: results.map((result) => (result instanceof DejavuError ? errorToWire(result) : toWire(result))),
        };
        return { route, status: sendJson(response, 200, answer) };
      }
      default:
        throw new HttpProblem(404, 'NOT_FOUND', `no route ${route}`);
    }
  };

  const server = createServer((request, response) => {
    const stopTimer = duration.startTimer();
    const requested = `${request.method ?? 'GET'} ${(request.url ?? '/').split('?')[0]}`;
    // Unknown paths share one label so that scanners cannot blow up the metric's cardinality.
    const route = KNOWN_ROUTES.has(requested) ? requested : 'other';
    handle(request, response, route)
      .then(({ route, status }) => {
        requests.inc({ route, status: String(status) });
        stopTimer({ route });
      })
      .catch((error: unknown) => {
        const problem = error instanceof HttpProblem ? error : new HttpProblem(500, 'INTERNAL', error instanceof Error ? error.message : String(error));
        if (problem.status >= 500) log.error({ err: error }, 'embedder request failed');
        requests.inc({ route, status: String(problem.status) });
        stopTimer({ route });
        if (!response.headersSent) {
          // Refused bodies are not read to the end: close the connection instead of draining them.
          if (problem.status === 413) response.setHeader('connection', 'close');
          sendJson(response, problem.status, { error: { code: problem.code, message: problem.message } });
        } else {
          response.destroy();
        }
      });
  });
  server.requestTimeout = 120_000;

  return {
    server,
    registry,
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve(`http://${host}:${address.port}`);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const KNOWN_ROUTES = new Set(['GET /healthz', 'GET /metrics', 'POST /v1/embed', 'POST /v1/embed-batch']);

function sendJson(response: ServerResponse, status: number, body: unknown): number {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
  return status;
}

async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    throw new HttpProblem(413, 'IMAGE_TOO_LARGE', `request body of ${declared} bytes exceeds the limit of ${limit}`);
  }
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    received += buffer.length;
    if (received > limit) throw new HttpProblem(413, 'IMAGE_TOO_LARGE', `request body exceeds the limit of ${limit} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}
