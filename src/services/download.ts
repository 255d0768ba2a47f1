/**
 * Image downloads from Discord's CDN (and user-supplied URLs for /similar), with the security rules:
 * - only http(s) URLs whose host and port are allowed (`CDN_ALLOWED_HOSTS`, rule in allowed-hosts.ts: a bare
 *   host allows the scheme's default port only, `host:port` that port, `*.domain` its subdomains);
 * - redirects are followed by hand, each target checked by the same rule;
 * - private, loopback and link-local addresses are never connected to, unless the URL's host is listed
 *   exactly (a wildcard match is not enough). DNS is resolved by our own `lookup`, which checks the
 *   addresses and hands the checked one to the socket: the address checked is the address connected to,
 *   so a DNS answer that changes between check and connect (rebinding) cannot slip through. The socket
 *   connector checks host and port once more, so no connection is opened to an origin the list lacks;
 * - a host whose downloads keep being refused is logged once as an error naming CDN_ALLOWED_HOSTS, since
 *   a mistyped list otherwise shows up only as images that are never indexed;
 * - a byte cap (reading stops past it), a time cap per attempt, retries with exponential backoff and
 *   jitter on 5xx, 429 and network errors (Retry-After honoured), and an image/* content type.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, buildConnector, request, type Dispatcher } from 'undici';
import { DejavuError, DownloadError, type ErrorCode } from '../errors.ts';
import { childLogger, type Logger } from '../logger.ts';
import { bareHost, matchUrl, parseAllowedHosts, type AllowedHost, type HostMatch } from './allowed-hosts.ts';
import { isVideoType } from './media.ts';

const log = childLogger('download');

export interface DownloadOptions {
  /** `CDN_ALLOWED_HOSTS` entries: `host`, `host:port`, `*.domain` (see allowed-hosts.ts). */
  allowedHosts: readonly string[];
  maxBytes: number;
  /** Time cap for one attempt (connect + headers + body). */
  timeoutMs: number;
  /** Extra attempts after the first on 5xx, 429 and network errors. Default 2. */
  retries?: number;
  /** First backoff delay; doubled each retry, ±50 % jitter. Default 250 ms. */
  backoffMs?: number;
  /** A Retry-After longer than this fails the download instead of waiting. Default 10 s. */
  maxRetryAfterMs?: number;
  /** Redirects followed at most. Default 5. */
  maxRedirects?: number;
  /** DNS resolution; default node's `dns.lookup`. Tests pass their own to simulate public/private answers. */
  resolveHost?: (hostname: string) => Promise<LookupAddress[]>;
  /** Default: the `download` child of the process logger. */
  logger?: Logger;
}

/** A video download: video content types only, under its own size cap. */
export interface MediaDownload {
  video?: boolean;
  /** Cap for this download instead of the downloader's (image) cap. */
  maxBytes?: number;
}

export interface DownloadResult {
  bytes: Uint8Array;
  contentType: string;
  /** URL finally read (after redirects). */
  url: string;
  attempts: number;
}

export type DownloadErrorCode = Extract<
  ErrorCode,
  'HOST_NOT_ALLOWED' | 'DOWNLOAD_FAILED' | 'DOWNLOAD_TIMEOUT' | 'DOWNLOAD_TOO_LARGE' | 'IMAGE_UNSUPPORTED'
>;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Addresses never reached unless the host is listed exactly. */
const PRIVATE_ADDRESSES = (() => {
  const list = new BlockList();
  for (const [net, prefix] of [
    ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
    ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
  ] as const) list.addSubnet(net, prefix, 'ipv4');
  for (const [net, prefix] of [
    ['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96], ['100::', 64],
  ] as const) list.addSubnet(net, prefix, 'ipv6');
  return list;
})();

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true; // not an address at all: refuse
  return PRIVATE_ADDRESSES.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** Refusals of one origin after which the allow list is probably wrong, and said so once. */
const REFUSALS_BEFORE_ERROR = 3;
/** Origins whose refusals are counted at most (memory stays bounded whatever URLs users send). */
const MAX_COUNTED_ORIGINS = 1000;

/** Parses and checks a URL against the allow list; throws HOST_NOT_ALLOWED. */
export function checkUrl(raw: string, allowedHosts: readonly AllowedHost[]): { url: URL; match: Exclude<HostMatch, 'none'> } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DownloadError('HOST_NOT_ALLOWED', 'Not a valid URL', { url: raw });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DownloadError('HOST_NOT_ALLOWED', `Only http(s) URLs are fetched, not ${url.protocol}`, { url: raw });
  }
  if (url.username !== '' || url.password !== '') {
    throw new DownloadError('HOST_NOT_ALLOWED', 'URLs with credentials are not fetched', { host: url.hostname });
  }
  const match = matchUrl(url, allowedHosts);
  if (match === 'none') {
    throw new DownloadError('HOST_NOT_ALLOWED', `${url.host} is not in the allowed hosts (host and port)`, { host: url.hostname, origin: url.host });
  }
  return { url, match };
}

/**
 * The media-proxy URL for a rendition whose longer side is at most `maxSide`, or the URL unchanged when
 * the image is already small enough (or its size is unknown).
 */
export function renditionUrl(proxyUrl: string, width: number | undefined, height: number | undefined, maxSide = 512): string {
  if (width === undefined || height === undefined || width <= 0 || height <= 0) return proxyUrl;
  const longer = Math.max(width, height);
  if (longer <= maxSide) return proxyUrl;
  const scale = maxSide / longer;
  let url: URL;
  try {
    url = new URL(proxyUrl);
  } catch {
    return proxyUrl;
  }
  url.searchParams.set('width', String(Math.max(1, Math.round(width * scale))));
  url.searchParams.set('height', String(Math.max(1, Math.round(height * scale))));
  return url.toString();
}

/** Delay before retry number `attempt` (1-based): backoff·2^(attempt-1), ±50 % jitter. */
export function backoffDelay(attempt: number, backoffMs: number, random: () => number = Math.random): number {
  const base = backoffMs * 2 ** (attempt - 1);
  return Math.round(base * (0.5 + random()));
}

/** Retry-After in ms (seconds or an HTTP date), or undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const header = Array.isArray(value) ? value[0] : value;
  if (header === undefined || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function defaultResolveHost(hostname: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses)));
  });
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** An error that is not worth another attempt. */
class FinalError extends Error {
  constructor(readonly error: DejavuError) {
    super(error.message);
  }
}

/**
 * A downloader: one keep-alive connection pool whose sockets only ever connect to checked addresses.
 * Create one per process (see createServices) and `close()` it on shutdown.
 */
export class Downloader {
  private readonly agent: Agent;
  private readonly resolveHost: (hostname: string) => Promise<LookupAddress[]>;
  private readonly allowedHosts: readonly AllowedHost[];
  /** HOST_NOT_ALLOWED refusals per origin (`host:port`); an origin past the threshold is logged once. */
  private readonly refusals = new Map<string, number>();
  private readonly log: Logger;

  constructor(private readonly options: DownloadOptions) {
    this.resolveHost = options.resolveHost ?? defaultResolveHost;
    this.log = options.logger ?? log;
    this.allowedHosts = parseAllowedHosts(options.allowedHosts);
    // Two connectors: only origins listed exactly may resolve to private addresses. undici picks a
    // connector per origin, so the choice is made with host and port, as checkUrl made it.
    const connectorFor = (exact: boolean): buildConnector.connector =>
      buildConnector({
        timeout: options.timeoutMs,
        lookup: (hostname: string, lookupOptions: { all?: boolean }, callback: LookupCallback) => this.lookup(hostname, exact, lookupOptions, callback),
      });
    const exactConnector = connectorFor(true);
    const checkedConnector = connectorFor(false);
    this.agent = new Agent({
      connect: (connectOptions, callback) => {
        const host = isIP(connectOptions.hostname) === 6 ? `[${connectOptions.hostname}]` : connectOptions.hostname;
        const origin = new URL(`${connectOptions.protocol}//${host}${connectOptions.port === '' ? '' : `:${connectOptions.port}`}/`);
        const match = matchUrl(origin, this.allowedHosts);
        if (match === 'none') {
          const error: NodeJS.ErrnoException = new Error(`${origin.host} is not in the allowed hosts`);
          error.code = 'ENOTALLOWED';
          callback(error, null);
          return;
        }
        (match === 'exact' ? exactConnector : checkedConnector)(connectOptions, callback);
      },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: 10_000,
    });
  }

  /** Resolves and checks the addresses of `hostname`; the socket connects to exactly what passed. */
  private lookup(hostname: string, exact: boolean, lookupOptions: { all?: boolean }, callback: LookupCallback): void {
    const host = bareHost(hostname);
    const literal = isIP(host) !== 0 ? [{ address: host, family: isIP(host) }] : undefined;
    (literal !== undefined ? Promise.resolve(literal) : this.resolveHost(host)).then(
      (addresses) => {
        const usable = exact ? addresses : addresses.filter((entry) => !isPrivateAddress(entry.address));
        if (usable.length === 0) {
          const error: NodeJS.ErrnoException = new Error(`${host} resolves only to private addresses`);
          error.code = 'EPRIVATEADDRESS';
          this.log.warn({ host, addresses: addresses.map((entry) => entry.address) }, 'refused a private address');
          callback(error, lookupOptions.all === true ? [] : '');
          return;
        }
        if (lookupOptions.all === true) callback(null, usable);
        else callback(null, usable[0]!.address, usable[0]!.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, lookupOptions.all === true ? [] : ''),
    );
  }

  /**
   * Downloads an image (or, with `media.video`, a video: its own size cap and content types).
   * Throws DownloadError (HOST_NOT_ALLOWED, DOWNLOAD_*, IMAGE_UNSUPPORTED).
   */
  async download(rawUrl: string, signal?: AbortSignal, media: MediaDownload = {}): Promise<DownloadResult> {
    try {
      return await this.downloadWithRetries(rawUrl, signal, media);
    } catch (error) {
      if (error instanceof DejavuError && error.code === 'HOST_NOT_ALLOWED') this.noteRefusal(error);
      throw error;
    }
  }

  /** Counts a refusal; the third from one origin logs one error saying which variable to change. */
  private noteRefusal(error: DejavuError): void {
    const origin = error.context.origin;
    if (typeof origin !== 'string') return; // not a URL problem (scheme, credentials): no list fixes it
    const count = (this.refusals.get(origin) ?? 0) + 1;
    if (count > REFUSALS_BEFORE_ERROR) return;
    if (!this.refusals.has(origin) && this.refusals.size >= MAX_COUNTED_ORIGINS) return;
    this.refusals.set(origin, count);
    if (count === REFUSALS_BEFORE_ERROR) {
      this.log.error(
        { origin, reason: error.message, allowedHosts: this.options.allowedHosts },
        `downloads from ${origin} keep being refused: if it serves your images, list it in CDN_ALLOWED_HOSTS (a bare host allows only the default port; add :port for another)`,
      );
    }
  }

  private async downloadWithRetries(rawUrl: string, signal: AbortSignal | undefined, media: MediaDownload): Promise<DownloadResult> {
    const retries = this.options.retries ?? 2;
    const backoffMs = this.options.backoffMs ?? 250;
    const maxRetryAfterMs = this.options.maxRetryAfterMs ?? 10_000;
    checkUrl(rawUrl, this.allowedHosts);
    for (let attempt = 1; ; attempt += 1) {
      try {
        const result = await this.attempt(rawUrl, signal, media);
        return { ...result, attempts: attempt };
      } catch (error) {
        if (error instanceof FinalError) throw error.error;
        const retry = error as RetryableError;
        if (attempt > retries || signal?.aborted === true) throw retry.error;
        const delay = retry.retryAfterMs ?? backoffDelay(attempt, backoffMs);
        if (delay > maxRetryAfterMs) throw retry.error;
        this.log.debug({ url: redact(rawUrl), attempt, delay, code: retry.error.code }, 'retrying download');
        await sleep(delay, undefined, signal === undefined ? undefined : { signal }).catch(() => undefined);
      }
    }
  }

  /** One attempt, following redirects. Throws FinalError or RetryableError. */
  private async attempt(rawUrl: string, outerSignal: AbortSignal | undefined, media: MediaDownload): Promise<Omit<DownloadResult, 'attempts'>> {
    const maxBytes = media.maxBytes ?? this.options.maxBytes;
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const signal = outerSignal === undefined ? timeout : AbortSignal.any([timeout, outerSignal]);
    let current = rawUrl;
    for (let redirects = 0; ; redirects += 1) {
      let url: URL;
      try {
        const checked = checkUrl(current, this.allowedHosts);
        url = checked.url;
        // Sockets skip DNS for IP literals, so our lookup never sees them: check them here.
        const host = bareHost(url.hostname);
        if (checked.match !== 'exact' && isIP(host) !== 0 && isPrivateAddress(host)) {
          throw new DownloadError('HOST_NOT_ALLOWED', `Address ${host} is private`, { host, origin: url.host });
        }
      } catch (error) {
        throw new FinalError(error as DejavuError);
      }
      let response: Dispatcher.ResponseData;
      try {
        response = await request(url, {
          method: 'GET',
          dispatcher: this.agent,
          signal,
          headers: { accept: media.video === true ? 'video/*' : 'image/*', 'user-agent': 'DejavuBot (https://github.com/dejavu, 0.1)' },
        });
      } catch (error) {
        throw this.transportError(error, url, timeout);
      }
      const { statusCode, headers, body } = response;
      if (REDIRECT_STATUSES.has(statusCode)) {
        await body.dump().catch(() => undefined);
        const location = headers.location;
        const target = Array.isArray(location) ? location[0] : location;
        if (target === undefined) throw new FinalError(new DownloadError('DOWNLOAD_FAILED', 'Redirect without a location', { host: url.hostname, statusCode }));
        if (redirects >= (this.options.maxRedirects ?? 5)) throw new FinalError(new DownloadError('DOWNLOAD_FAILED', 'Too many redirects', { host: url.hostname }));
        current = new URL(target, url).toString();
        continue;
      }
      if (statusCode === 429 || statusCode >= 500) {
        await body.dump().catch(() => undefined);
        throw new RetryableError(
          new DownloadError('DOWNLOAD_FAILED', `HTTP ${statusCode}`, { host: url.hostname, statusCode }),
          parseRetryAfter(headers['retry-after']),
        );
      }
      if (statusCode !== 200) {
        await body.dump().catch(() => undefined);
        throw new FinalError(new DownloadError('DOWNLOAD_FAILED', `HTTP ${statusCode}`, { host: url.hostname, statusCode }));
      }
      const contentType = String(headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (media.video === true ? !isVideoType(contentType) : !contentType.startsWith('image/') || contentType === 'image/svg+xml') {
        await body.dump().catch(() => undefined);
        throw new FinalError(new DownloadError('IMAGE_UNSUPPORTED', `Not an image (${contentType || 'no content type'})`, { host: url.hostname, contentType }));
      }
      const declared = Number(headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        discard(body);
        throw new FinalError(tooLarge(url, maxBytes, declared));
      }
      const bytes = await this.readCapped(body, url, timeout, maxBytes);
      return { bytes, contentType, url: url.toString() };
    }
  }

  private async readCapped(body: Dispatcher.ResponseData['body'], url: URL, timeout: AbortSignal, maxBytes: number): Promise<Uint8Array> {
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > maxBytes) {
          discard(body);
          throw new FinalError(tooLarge(url, maxBytes, total));
        }
        chunks.push(chunk);
      }
    } catch (error) {
      if (error instanceof FinalError) throw error;
      throw this.transportError(error, url, timeout);
    }
    const joined = Buffer.concat(chunks, total);
    return new Uint8Array(joined.buffer, joined.byteOffset, joined.length);
  }

  private transportError(error: unknown, url: URL, timeout: AbortSignal): Error {
    if (timeout.aborted) {
      return new FinalError(new DownloadError('DOWNLOAD_TIMEOUT', `No complete answer within ${this.options.timeoutMs} ms`, { host: url.hostname }, { cause: error }));
    }
    const code = (error as NodeJS.ErrnoException).code ?? (error as { cause?: NodeJS.ErrnoException }).cause?.code;
    if (code === 'EPRIVATEADDRESS' || code === 'ENOTALLOWED') {
      const reason = code === 'EPRIVATEADDRESS' ? 'resolves to a private address' : 'is not in the allowed hosts';
      return new FinalError(new DownloadError('HOST_NOT_ALLOWED', `Host ${url.host} ${reason}`, { host: url.hostname, origin: url.host }, { cause: error }));
    }
    if ((error as Error).name === 'AbortError') {
      return new FinalError(new DownloadError('DOWNLOAD_FAILED', 'Download aborted', { host: url.hostname }, { cause: error }));
    }
    return new RetryableError(new DownloadError('DOWNLOAD_FAILED', `Network error: ${(error as Error).message}`, { host: url.hostname, code }, { cause: error }));
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

class RetryableError extends Error {
  constructor(readonly error: DejavuError, readonly retryAfterMs?: number) {
    super(error.message);
  }
}

function tooLarge(url: URL, maxBytes: number, bytes: number): DownloadError {
  return new DownloadError('DOWNLOAD_TOO_LARGE', `Image is larger than ${maxBytes} bytes`, { host: url.hostname, maxBytes, bytes });
}

/** CDN URLs carry signed query strings; logs keep host and path only. */
export function redact(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

/** One-off download with a temporary pool (CLI, tests). Long-lived code should keep a Downloader. */
export async function downloadImage(url: string, options: DownloadOptions, signal?: AbortSignal): Promise<DownloadResult> {
  const downloader = new Downloader(options);
  try {
    return await downloader.download(url, signal);
  } finally {
    await downloader.close();
  }
}

/**
 * Abandons a response body. undici 6 emits an 'error' (RequestAbortedError) when a body is destroyed
 * before its end; nobody reads it any more, so that error is expected and swallowed here.
 */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}
