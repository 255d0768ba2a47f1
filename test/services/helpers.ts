/** Shared pieces of the services tests: a local CDN on 127.0.0.1, services on a temp DATA_DIR, image references. */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type Config } from '../../src/config.ts';
import { createServices, type AppServices } from '../../src/services/context.ts';
import type { ImageReference } from '../../src/services/types.ts';
import type { ImageSource } from '../../src/store/types.ts';
import { oxfordImage, SHARED_MODEL_DIR } from '../helpers/shared.ts';

export interface LocalCdn {
  base: string;
  /** `127.0.0.1:port`, the CDN_ALLOWED_HOSTS entry that lets services download from it. */
  host: string;
  /** Every path+query requested, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** Hosts of the local CDNs open now: services started by startServices may download from each. */
const openCdnHosts = new Set<string>();

/**
 * Serves `/oxford/<file>` from the shared near-duplicate set, `/bytes/<name>` from `extra`, with the
 * content type given by `?type=` (default image/jpeg).
 */
export async function startCdn(extra: Record<string, Uint8Array> = {}): Promise<LocalCdn> {
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    requests.push(`${url.pathname}${url.search}`);
    const type = url.searchParams.get('type') ?? 'image/jpeg';
    let body: Uint8Array | undefined;
    if (url.pathname.startsWith('/oxford/')) {
      try {
        body = oxfordImage(url.pathname.slice('/oxford/'.length));
      } catch {
        body = undefined;
      }
    } else if (url.pathname.startsWith('/bytes/')) {
      body = extra[url.pathname.slice('/bytes/'.length)];
    }
    if (body === undefined) {
      response.writeHead(404);
      response.end();
      return;
    }
    response.writeHead(200, { 'content-type': type, 'content-length': body.length });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const host = `127.0.0.1:${port}`;
  openCdnHosts.add(host);
  return {
    base: `http://${host}`,
    host,
    requests,
    close: async () => {
      openCdnHosts.delete(host);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface TestServices {
  services: AppServices;
  config: Config;
  dataDir: string;
}

/**
 * Real services (real embedder on the shared weights, real store) on a DATA_DIR of their own, allowed to
 * download from the local CDNs already started (start the CDN first).
 */
export async function startServices(dataDir?: string, environment: Record<string, string> = {}): Promise<TestServices> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'dejavu-services-')));
  const config = parseConfig({
    DATA_DIR: dir,
    MODEL_DIR: SHARED_MODEL_DIR,
    CDN_ALLOWED_HOSTS: [...openCdnHosts].join(','),
    EMBEDDING_BACKEND: 'wasm',
    EMBEDDING_WORKERS: '1',
    INDEX_CONCURRENCY: '4',
    LOG_LEVEL: 'silent',
    ...environment,
  });
  return { services: await createServices(config), config, dataDir: dir };
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

let counter = 0;

/** A Discord-like image reference for `url`; ids unique per call unless given. */
export function imageRef(url: string, overrides: Partial<ImageSource> = {}, extra: Partial<ImageReference> = {}): ImageReference {
  counter += 1;
  const source: ImageSource = {
    guildId: '100',
    channelId: '200',
    messageId: `${300 + counter}`,
    sourceKey: `${900 + counter}`,
    authorId: 'alice',
    createdAt: Date.UTC(2026, 0, 1) + counter * 60_000,
    nsfw: false,
    kind: 'attachment',
    label: url.slice(url.lastIndexOf('/') + 1),
    ...overrides,
  };
  return { source, url, contentType: 'image/jpeg', ...extra };
}
