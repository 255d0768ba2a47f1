import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { DejavuError } from '../../src/errors.ts';
import {
  backoffDelay,
  Downloader,
  downloadImage,
  isPrivateAddress,
  matchAllowedHost,
  parseRetryAfter,
  renditionUrl,
  type DownloadOptions,
} from '../../src/services/download.ts';

const PNG_BYTES = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

let server: Server;
let port = 0;
let flakyHits = 0;
let throttledHits = 0;

function handle(request: IncomingMessage, response: ServerResponse): void {
  const path = request.url ?? '/';
  if (path.startsWith('/image.png')) {
    response.writeHead(200, { 'content-type': 'image/png', 'content-length': PNG_BYTES.length });
    response.end(PNG_BYTES);
  } else if (path === '/page.html') {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<html></html>');
  } else if (path === '/redirect-same') {
    response.writeHead(302, { location: '/image.png' });
    response.end();
  } else if (path === '/redirect-other') {
    response.writeHead(302, { location: `http://localhost:${port}/image.png` });
    response.end();
  } else if (path === '/endless') {
    // No content-length: the cap must stop the read while the server keeps sending.
    response.writeHead(200, { 'content-type': 'image/jpeg' });
    const chunk = Buffer.alloc(64 * 1024, 7);
    const timer = setInterval(() => response.write(chunk), 1);
    response.on('close', () => clearInterval(timer));
  } else if (path === '/declared-large') {
    response.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': 10_000_000 });
    response.write(Buffer.alloc(10));
  } else if (path === '/hang') {
    // Headers never come.
  } else if (path === '/flaky') {
    flakyHits += 1;
    if (flakyHits === 1) {
      response.writeHead(503);
      response.end();
    } else {
      response.writeHead(200, { 'content-type': 'image/png' });
      response.end(PNG_BYTES);
    }
  } else if (path === '/throttled') {
    throttledHits += 1;
    if (throttledHits === 1) {
      response.writeHead(429, { 'retry-after': '0' });
      response.end();
    } else {
      response.writeHead(200, { 'content-type': 'image/png' });
      response.end(PNG_BYTES);
    }
  } else if (path === '/always-503') {
    response.writeHead(503);
    response.end();
  } else {
    response.writeHead(404);
    response.end();
  }
}

before(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function options(overrides: Partial<DownloadOptions> = {}): DownloadOptions {
  return { allowedHosts: ['127.0.0.1'], maxBytes: 1024 * 1024, timeoutMs: 2000, backoffMs: 10, ...overrides };
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof DejavuError, `expected a DejavuError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  });
}

test('downloads an image from an allowed host', async () => {
  const result = await downloadImage(`http://127.0.0.1:${port}/image.png?ex=1`, options());
  assert.deepEqual(Buffer.from(result.bytes), PNG_BYTES);
  assert.equal(result.contentType, 'image/png');
  assert.equal(result.attempts, 1);
});

test('refuses hosts that are not allowed, and non-http schemes', async () => {
  await rejectsWith(downloadImage(`http://localhost:${port}/image.png`, options()), 'HOST_NOT_ALLOWED');
  await rejectsWith(downloadImage('file:///etc/passwd', options()), 'HOST_NOT_ALLOWED');
  await rejectsWith(downloadImage('not a url', options()), 'HOST_NOT_ALLOWED');
  await rejectsWith(downloadImage(`http://user:pw@127.0.0.1:${port}/image.png`, options()), 'HOST_NOT_ALLOWED');
});

test('follows redirects to allowed hosts only', async () => {
  const same = await downloadImage(`http://127.0.0.1:${port}/redirect-same`, options());
  assert.deepEqual(Buffer.from(same.bytes), PNG_BYTES);
  await rejectsWith(downloadImage(`http://127.0.0.1:${port}/redirect-other`, options()), 'HOST_NOT_ALLOWED');
});

test('refuses content that is not an image', async () => {
  await rejectsWith(downloadImage(`http://127.0.0.1:${port}/page.html`, options()), 'IMAGE_UNSUPPORTED');
});

test('stops reading past the size cap', async () => {
  const started = Date.now();
  await rejectsWith(downloadImage(`http://127.0.0.1:${port}/endless`, options({ maxBytes: 512 * 1024 })), 'DOWNLOAD_TOO_LARGE');
  await rejectsWith(downloadImage(`http://127.0.0.1:${port}/declared-large`, options()), 'DOWNLOAD_TOO_LARGE');
  assert.ok(Date.now() - started < 2000, 'the endless stream was cut off, not read until the timeout');
});

test('gives up after the time cap', async () => {
  const started = Date.now();
  await rejectsWith(downloadImage(`http://127.0.0.1:${port}/hang`, options({ timeoutMs: 300 })), 'DOWNLOAD_TIMEOUT');
  assert.ok(Date.now() - started < 1500);
});

test('retries a 503 and a 429 (Retry-After) and then succeeds', async () => {
  const flaky = await downloadImage(`http://127.0.0.1:${port}/flaky`, options());
  assert.equal(flaky.attempts, 2);
  assert.equal(flakyHits, 2);
  const throttled = await downloadImage(`http://127.0.0.1:${port}/throttled`, options());
  assert.equal(throttled.attempts, 2);
  await rejectsWith(downloadImage(`http://127.0.0.1:${port}/always-503`, options({ retries: 2 })), 'DOWNLOAD_FAILED');
});

test('never connects to a private address unless the host is listed exactly', async () => {
  // A wildcard-allowed name whose DNS answer is loopback (e.g. DNS rebinding) is refused.
  const resolveHost = async () => [{ address: '127.0.0.1', family: 4 }];
  const downloader = new Downloader(options({ allowedHosts: ['*.example.test'], resolveHost }));
  try {
    await rejectsWith(downloader.download(`http://cdn.example.test:${port}/image.png`), 'HOST_NOT_ALLOWED');
  } finally {
    await downloader.close();
  }
  // Listed exactly: allowed, and the socket goes to the address our lookup returned.
  const listed = await downloadImage(`http://cdn.example.test:${port}/image.png`, options({ allowedHosts: ['cdn.example.test'], resolveHost }));
  assert.deepEqual(Buffer.from(listed.bytes), PNG_BYTES);
});

test('address, host and header helpers', () => {
  for (const address of ['127.0.0.1', '10.1.2.3', '192.168.0.1', '172.20.0.1', '169.254.169.254', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '0.0.0.0']) {
    assert.equal(isPrivateAddress(address), true, address);
  }
  for (const address of ['162.159.128.233', '8.8.8.8', '2606:4700::6810:84e5']) assert.equal(isPrivateAddress(address), false, address);
  assert.equal(matchAllowedHost('cdn.discordapp.com', ['cdn.discordapp.com']), 'exact');
  assert.equal(matchAllowedHost('CDN.discordapp.com.', ['cdn.discordapp.com']), 'exact');
  assert.equal(matchAllowedHost('evil-cdn.discordapp.com', ['cdn.discordapp.com']), 'none');
  assert.equal(matchAllowedHost('a.example.com', ['*.example.com']), 'wildcard');
  assert.equal(matchAllowedHost('example.com', ['*.example.com']), 'none');
  assert.equal(matchAllowedHost('badexample.com', ['*.example.com']), 'none');
  assert.equal(parseRetryAfter('2'), 2000);
  assert.equal(parseRetryAfter(undefined), undefined);
  assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4000), 6000);
  assert.equal(backoffDelay(1, 100, () => 0.5), 100);
  assert.equal(backoffDelay(3, 100, () => 0.5), 400);
  assert.equal(backoffDelay(3, 100, () => 0), 200);
});

test('renditionUrl asks the media proxy for a downscaled copy only when the image is large', () => {
  const proxy = 'https://media.discordapp.net/attachments/1/2/a.png?ex=abc';
  const url = new URL(renditionUrl(proxy, 2048, 1024, 512));
  assert.equal(url.searchParams.get('width'), '512');
  assert.equal(url.searchParams.get('height'), '256');
  assert.equal(url.searchParams.get('ex'), 'abc');
  assert.equal(renditionUrl(proxy, 400, 300, 512), proxy);
  assert.equal(renditionUrl(proxy, undefined, undefined, 512), proxy);
});
