/**
 * Embedder that calls `npm run embedder` hosts over HTTP (undici). Several URLs: requests rotate round-robin,
 * and a host that is down or overloaded is skipped for the next one; when none answers the error is
 * EMBEDDER_UNAVAILABLE. Vectors are bit-identical to in-process ones (same code on the host).
 */
import { Agent, request } from 'undici';
import { DejavuError } from '../errors.ts';
import { childLogger } from '../logger.ts';
import type { Embedder, ImageEmbedding } from './types.ts';
import {
  BATCH_CONTENT_TYPE,
  encodeBatch,
  errorFromWire,
  fromWire,
  isWireError,
  type WireBatchResponse,
  type WireError,
  type WireHealth,
  type WireSingleResponse,
} from './wire.ts';

const log = childLogger('embedding-http');

export interface HttpEmbedderOptions {
  urls: string[];
  token?: string | undefined;
  /** Per request (default 60 s: a large batch on a busy CPU host takes a while). */
  timeoutMs?: number | undefined;
  /** Images per batch request in embedMany. */
  batchSize?: number;
}

class HostError extends Error {}

export class HttpEmbedder implements Embedder {
  readonly backend: string;
  private next = 0;
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly batchSize: number;

  private constructor(
    private readonly urls: string[],
    private readonly token: string | undefined,
    readonly variant: string,
    remoteBackend: string,
    options: HttpEmbedderOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.batchSize = options.batchSize ?? 32;
    this.agent = new Agent({ connections: 8, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs });
    this.backend = `http (${urls.length} host${urls.length === 1 ? '' : 's'}: ${remoteBackend})`;
  }

  /** Asks the hosts' /healthz for their variant; fails with EMBEDDER_UNAVAILABLE when none answers. */
  static async connect(options: HttpEmbedderOptions): Promise<HttpEmbedder> {
    const urls = options.urls.map((url) => url.replace(/\/+$/, ''));
    if (urls.length === 0) throw new DejavuError('EMBEDDER_UNAVAILABLE', 'no embedder URL given');
    const answers = await Promise.all(urls.map((url) => fetchHealth(url, options.timeoutMs ?? 10_000).catch(() => undefined)));
    const healthy = answers.filter((answer): answer is WireHealth => answer !== undefined && answer.ok);
    const first = healthy[0];
    if (first === undefined) {
      throw new DejavuError('EMBEDDER_UNAVAILABLE', `no embedder host answered /healthz (${urls.join(', ')}); start them with \`npm run embedder\` or unset EMBEDDER_URL`, {
        urls,
      });
    }
    const variants = new Set(healthy.map((answer) => answer.variant));
    if (variants.size > 1) {
      throw new DejavuError('EMBEDDER_REJECTED', `embedder hosts disagree on the vector variant: ${[...variants].join(', ')}`, { urls });
    }
    return new HttpEmbedder(urls, options.token, first.variant, first.backend, options);
  }

  async embed(image: Uint8Array): Promise<ImageEmbedding> {
    const response = await this.post<WireSingleResponse | WireError>('/v1/embed', image, 'application/octet-stream');
    if (isWireError(response)) throw errorFromWire(response);
    this.checkVariant(response.variant);
    return fromWire(response);
  }

  async embedMany(images: readonly Uint8Array[]): Promise<Array<ImageEmbedding | DejavuError>> {
    const chunks: Array<readonly Uint8Array[]> = [];
    for (let start = 0; start < images.length; start += this.batchSize) chunks.push(images.slice(start, start + this.batchSize));
    const answers = await Promise.all(
      chunks.map(async (chunk) => {
        try {
          const response = await this.post<WireBatchResponse | WireError>('/v1/embed-batch', encodeBatch(chunk), BATCH_CONTENT_TYPE);
          if ('error' in response) throw errorFromWire(response);
          this.checkVariant(response.variant);
          return response.results.map((result) => (isWireError(result) ? errorFromWire(result) : fromWire(result)));
        } catch (error) {
          const failure = error instanceof DejavuError ? error : new DejavuError('EMBEDDER_UNAVAILABLE', String(error));
          return chunk.map(() => failure);
        }
      }),
    );
    return answers.flat();
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private checkVariant(variant: string): void {
    if (variant !== this.variant) {
      throw new DejavuError('EMBEDDER_REJECTED', `embedder host now produces variant ${variant}, expected ${this.variant}`);
    }
  }

  /** Tries each host once, starting with the next in round-robin order. */
  private async post<T>(path: string, body: Uint8Array, contentType: string): Promise<T> {
    const start = this.next;
    this.next = (this.next + 1) % this.urls.length;
    const failures: string[] = [];
    for (let attempt = 0; attempt < this.urls.length; attempt += 1) {
      const url = this.urls[(start + attempt) % this.urls.length]!;
      try {
        return await this.postTo<T>(url, path, body, contentType);
      } catch (error) {
        if (!(error instanceof HostError)) throw error;
        failures.push(`${url}: ${error.message}`);
        log.warn({ url, reason: error.message }, 'embedder host failed; trying the next one');
      }
    }
    throw new DejavuError('EMBEDDER_UNAVAILABLE', `no embedder host could embed the image (${failures.join('; ')})`, { urls: this.urls });
  }

  private async postTo<T>(url: string, path: string, body: Uint8Array, contentType: string): Promise<T> {
    let response;
    try {
      response = await request(`${url}${path}`, {
        method: 'POST',
        body,
        headers: {
          'content-type': contentType,
          ...(this.token === undefined ? {} : { authorization: `Bearer ${this.token}` }),
        },
        dispatcher: this.agent,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new HostError(error instanceof Error ? error.message : String(error));
    }
    const { statusCode } = response;
    if (statusCode === 401 || statusCode === 403) {
      await response.body.dump();
      throw new DejavuError('EMBEDDER_REJECTED', `embedder host ${url} refused the token (HTTP ${statusCode}); check EMBEDDER_TOKEN`, { url });
    }
    if (statusCode === 413) {
      await response.body.dump();
      throw new DejavuError('IMAGE_TOO_LARGE', `embedder host ${url} refused the request body as too large (HTTP 413)`, { url });
    }
    if (statusCode >= 500 || statusCode === 429) {
      await response.body.dump();
      throw new HostError(`HTTP ${statusCode}`);
    }
    try {
      return (await response.body.json()) as T;
    } catch (error) {
      throw new HostError(`unreadable response: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

async function fetchHealth(url: string, timeoutMs: number): Promise<WireHealth> {
  const response = await request(`${url}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw new Error(`HTTP ${response.statusCode}`);
  }
  return (await response.body.json()) as WireHealth;
}
