/**
 * Embedder that calls a pool of `npm run embedder` hosts over HTTP (undici). Vectors are bit-identical to
 * in-process ones (same code on the host).
 *
 * - Balancing: each request goes to the up host with the fewest requests in flight (ties rotate), so a slow
 *   or busy host gets less work.
 * - Health: every host's /healthz is checked every `healthIntervalMs`. A host that fails a request or a check
 *   is marked down with its error and used again once a check succeeds; a host reporting another vector
 *   variant than the pool's stays down (its vectors must never mix with the index's).
 * - Retries: a request that fails on a host (connection, timeout, HTTP 5xx or 429) is retried on another one.
 * - Nothing up: the request waits up to `waitMs` for a host to come back (checking every second), then fails
 *   with EMBEDDER_UNAVAILABLE naming each host and its last error.
 * - Start: the pool starts even when no host answers yet (the bot may start before its GPU hosts); it then
 *   assumes `expectedVariant` so the bot can open its indexes.
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

/** While requests wait for a host, health checks run at most this often (faster than the periodic ones). */
const RECHECK_MS = 1000;

export interface HttpEmbedderOptions {
  urls: string[];
  token?: string | undefined;
  /** Per request (default 60 s: a large batch on a busy CPU host takes a while). */
  timeoutMs?: number | undefined;
  /** Images per batch request in embedMany. */
  batchSize?: number;
  /** Period of the /healthz checks of every host (default 10 s). */
  healthIntervalMs?: number | undefined;
  /** Limit of one /healthz check (default 2 s, at most the interval). */
  healthTimeoutMs?: number | undefined;
  /** How long a request waits for a host when none is up before failing (default 30 s; 0: fail at once). */
  waitMs?: number | undefined;
  /**
   * Variant assumed when no host answers at start (the caller's own model variant). Without it, a pool with
   * no host up fails to start. A host answering later with another variant is refused.
   */
  expectedVariant?: string | undefined;
}

/** One host as the pool sees it (for logs, metrics and tests). */
export interface EmbedderHostStatus {
  url: string;
  up: boolean;
  /** Requests sent and not yet answered. */
  inFlight: number;
  /** Requests this host answered. */
  served: number;
  /** Why it was last marked down (kept after it came back, for diagnosis). */
  lastError: string | undefined;
  /** The host's backend from its last health answer. */
  backend: string | undefined;
}

/** Limit of one /healthz check: never longer than the interval between checks. */
function healthTimeoutOf(options: HttpEmbedderOptions): number {
  return Math.min(options.healthTimeoutMs ?? 2000, options.healthIntervalMs ?? 10_000);
}

/** A failure of the host rather than of the request: mark the host down and try another. */
class HostError extends Error {}

export class HttpEmbedder implements Embedder {
  private readonly hosts: EmbedderHostStatus[];
  private readonly agent: Agent;
  /** Health checks get their own connections: busy embedding connections must not make a host look dead. */
  private readonly healthAgent: Agent;
  private readonly timeoutMs: number;
  private readonly batchSize: number;
  private readonly healthTimeoutMs: number;
  private readonly waitMs: number;
  private readonly timer: NodeJS.Timeout;
  private cursor = 0;
  private checking: Promise<void> | undefined;
  private lastCheckStarted = 0;
  private closed = false;

  private constructor(
    urls: string[],
    private readonly token: string | undefined,
    readonly variant: string,
    options: HttpEmbedderOptions,
  ) {
    this.hosts = urls.map((url) => ({ url, up: false, inFlight: 0, served: 0, lastError: 'not checked yet', backend: undefined }));
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.batchSize = options.batchSize ?? 32;
    const healthIntervalMs = options.healthIntervalMs ?? 10_000;
    this.healthTimeoutMs = healthTimeoutOf(options);
    this.waitMs = options.waitMs ?? 30_000;
    this.agent = new Agent({ connections: 8, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs });
    this.healthAgent = new Agent({ connections: 1, headersTimeout: this.healthTimeoutMs, bodyTimeout: this.healthTimeoutMs });
    this.timer = setInterval(() => void this.checkHosts(), healthIntervalMs);
    this.timer.unref();
  }

  /**
   * Checks every host once and returns the pool. Fails only when no URL is given, when the hosts that answer
   * disagree on the variant, or when none answers and no `expectedVariant` was given.
   */
  static async connect(options: HttpEmbedderOptions): Promise<HttpEmbedder> {
    const urls = [...new Set(options.urls.map((url) => url.trim().replace(/\/+$/, '')).filter((url) => url.length > 0))];
    if (urls.length === 0) throw new DejavuError('EMBEDDER_UNAVAILABLE', 'no embedder URL given');
    const timeoutMs = healthTimeoutOf(options);
    const answers = await Promise.all(urls.map((url) => fetchHealth(url, timeoutMs).catch((error: unknown) => errorMessage(error))));
    const healthy = answers.filter((answer): answer is WireHealth => typeof answer !== 'string' && answer.ok);
    const variants = new Set(healthy.map((answer) => answer.variant));
    if (variants.size > 1) {
      throw new DejavuError('EMBEDDER_REJECTED', `embedder hosts disagree on the vector variant: ${[...variants].join(', ')}`, { urls });
    }
    const variant = healthy[0]?.variant ?? options.expectedVariant;
    if (variant === undefined) {
      throw new DejavuError('EMBEDDER_UNAVAILABLE', `no embedder host answered /healthz (${describeAnswers(urls, answers)}); start them with \`npm run embedder\` or unset EMBEDDER_URL`, {
        urls,
      });
    }
    const embedder = new HttpEmbedder(urls, options.token, variant, options);
    urls.forEach((url, index) => embedder.applyHealth(embedder.hosts[index]!, answers[index]!));
    if (healthy.length === 0) {
      log.warn(
        { urls, variant, errors: answers },
        `no embedder host answered /healthz yet (${describeAnswers(urls, answers)}); starting anyway with variant ${variant}: images wait up to ${embedder.waitMs} ms for a host, then fail with EMBEDDER_UNAVAILABLE`,
      );
    }
    return embedder;
  }

  /** `http (2 hosts: tensorflow-gpu)`; the remote backend is the first one a host reported. */
  get backend(): string {
    const remote = this.hosts.find((host) => host.backend !== undefined)?.backend ?? 'no host answered yet';
    return `http (${this.hosts.length} host${this.hosts.length === 1 ? '' : 's'}: ${remote})`;
  }

  /** A snapshot of every host's state. */
  hostStatus(): EmbedderHostStatus[] {
    return this.hosts.map((host) => ({ ...host }));
  }

  /** Checks every host now (joins a check already running). */
  checkHosts(): Promise<void> {
    if (this.checking !== undefined) return this.checking;
    this.lastCheckStarted = Date.now();
    const check = Promise.all(
      this.hosts.map(async (host) => this.applyHealth(host, await fetchHealth(host.url, this.healthTimeoutMs, this.healthAgent).catch((error: unknown) => errorMessage(error)))),
    ).then(() => undefined);
    this.checking = check.finally(() => {
      this.checking = undefined;
    });
    return this.checking;
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
    this.closed = true;
    clearInterval(this.timer);
    await Promise.all([this.agent.close(), this.healthAgent.close()]);
  }

  private checkVariant(variant: string): void {
    if (variant !== this.variant) {
      throw new DejavuError('EMBEDDER_REJECTED', `embedder host now produces variant ${variant}, expected ${this.variant}`);
    }
  }

  private applyHealth(host: EmbedderHostStatus, answer: WireHealth | string): void {
    if (typeof answer === 'string') return this.markDown(host, answer);
    if (!answer.ok) return this.markDown(host, '/healthz answered ok: false');
    if (answer.variant !== this.variant) {
      return this.markDown(host, `produces vectors of variant ${answer.variant}, this pool uses ${this.variant} (same MODEL_DIR and version on every host?)`);
    }
    host.backend = answer.backend;
    if (!host.up) {
      host.up = true;
      log.info({ url: host.url, backend: answer.backend }, 'embedder host is up');
    }
  }

  private markDown(host: EmbedderHostStatus, reason: string): void {
    if (host.up) log.warn({ url: host.url, reason }, 'embedder host marked down; it is used again once /healthz answers');
    host.up = false;
    host.lastError = reason;
  }

  /** The up host with the fewest requests in flight, not among `excluded`; ties rotate. */
  private pick(excluded: ReadonlySet<EmbedderHostStatus>): EmbedderHostStatus | undefined {
    let best: EmbedderHostStatus | undefined;
    for (let offset = 0; offset < this.hosts.length; offset += 1) {
      const host = this.hosts[(this.cursor + offset) % this.hosts.length]!;
      if (!host.up || excluded.has(host)) continue;
      if (best === undefined || host.inFlight < best.inFlight) best = host;
    }
    this.cursor = (this.cursor + 1) % this.hosts.length;
    return best;
  }

  /** Resolves true as soon as a host is up, false at the deadline or when the pool closes. */
  private async waitForHost(deadline: number): Promise<boolean> {
    for (;;) {
      if (this.hosts.some((host) => host.up)) return true;
      const remaining = deadline - Date.now();
      if (this.closed || remaining <= 0) return false;
      if (Date.now() - this.lastCheckStarted >= RECHECK_MS) await this.checkHosts();
      else await sleep(Math.min(remaining, RECHECK_MS - (Date.now() - this.lastCheckStarted)));
    }
  }

  /** Sends to the best up host; on a host failure marks it down and tries another, waiting for one if none is up. */
  private async post<T>(path: string, body: Uint8Array, contentType: string): Promise<T> {
    const deadline = Date.now() + this.waitMs;
    const tried = new Set<EmbedderHostStatus>();
    for (;;) {
      const host = this.pick(tried);
      if (host === undefined) {
        if (!(await this.waitForHost(deadline))) throw this.unavailable();
        // A host that failed this request earlier may be back (a check found it healthy): it may be tried again.
        tried.clear();
        continue;
      }
      tried.add(host);
      host.inFlight += 1;
      try {
        const answer = await this.postTo<T>(host.url, path, body, contentType);
        host.served += 1;
        return answer;
      } catch (error) {
        if (!(error instanceof HostError)) throw error;
        this.markDown(host, error.message);
        log.warn({ url: host.url, reason: error.message }, 'embedder request failed; retrying on another host');
      } finally {
        host.inFlight -= 1;
      }
    }
  }

  private unavailable(): DejavuError {
    const hosts = this.hosts.map((host) => ({ url: host.url, lastError: host.lastError }));
    const detail = hosts.map((host) => `${host.url}: ${host.lastError ?? 'down'}`).join('; ');
    return new DejavuError(
      'EMBEDDER_UNAVAILABLE',
      `no embedder host is up${this.waitMs > 0 ? ` (waited ${(this.waitMs / 1000).toFixed(1)} s)` : ''}: ${detail}; start them with \`npm run embedder\` or check EMBEDDER_URL`,
      { hosts },
    );
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
      throw new HostError(errorMessage(error));
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
      throw new HostError(`unreadable response: ${errorMessage(error)}`);
    }
  }
}

async function fetchHealth(url: string, timeoutMs: number, dispatcher?: Agent): Promise<WireHealth> {
  const response = await request(`${url}/healthz`, { signal: AbortSignal.timeout(timeoutMs), ...(dispatcher === undefined ? {} : { dispatcher }) });
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw new Error(`/healthz answered HTTP ${response.statusCode}`);
  }
  return (await response.body.json()) as WireHealth;
}

function describeAnswers(urls: readonly string[], answers: ReadonlyArray<WireHealth | string>): string {
  return urls.map((url, index) => `${url}: ${typeof answers[index] === 'string' ? answers[index] : 'ok'}`).join('; ');
}

function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici wraps connection failures; the cause names the real problem (ECONNREFUSED, timeout).
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
