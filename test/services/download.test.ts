import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { DejavuError } from '../../src/errors.ts';
import { matchUrl, parseAllowedHost, type AllowedHost } from '../../src/services/allowed-hosts.ts';
import {
  backoffDelay,
  Downloader,
  downloadImage,
  isPrivateAddress,
  parseRetryAfter,
  renditionUrl,
  type DownloadOptions,
} from '../../src/services/download.ts';

const PNG_BYTES = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

let server: Server;
let port = 0;
/** Another local service on another port: nothing may ever reach it. */
let otherService: Server;
let otherPort = 0;
let otherHits = 0;
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
  } else if (path === '/redirect-other-port') {
    response.writeHead(302, { location: `http://127.0.0.1:${otherPort}/image.png` });
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
  otherService = createServer((request, response) => {
    otherHits += 1;
    handle(request, response);
  });
  await new Promise<void>((resolve) => otherService.listen(0, '127.0.0.1', resolve));
  otherPort = (otherService.address() as AddressInfo).port;
});

after(async () => {
  for (const each of [server, otherService]) {
    each.closeAllConnections();
    await new Promise<void>((resolve) => each.close(() => resolve()));
  }
});

function options(overrides: Partial<DownloadOptions> = {}): DownloadOptions {
  return { allowedHosts: [`127.0.0.1:${port}`], maxBytes: 1024 * 1024, timeoutMs: 2000, backoffMs: 10, ...overrides };
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

test('a bare host allows only its default port; host:port exactly that port, also after a redirect', async () => {
  const before = otherHits;
  // 127.1 and 0x7f000001 are 127.0.0.1 once parsed: listing the address covers them, but not other ports.
  for (const listed of [['127.0.0.1'], [`127.0.0.1:${port}`]]) {
    for (const host of ['127.0.0.1', '127.1', '0x7f000001']) {
      await rejectsWith(downloadImage(`http://${host}:${otherPort}/image.png`, options({ allowedHosts: listed })), 'HOST_NOT_ALLOWED');
    }
  }
  await rejectsWith(downloadImage(`http://127.0.0.1:${port}/image.png`, options({ allowedHosts: ['127.0.0.1'] })), 'HOST_NOT_ALLOWED');
  // The listed port works under every spelling of the address; a redirect to another port does not.
  for (const host of ['127.0.0.1', '127.1', '0x7f000001']) {
    const result = await downloadImage(`http://${host}:${port}/image.png`, options());
    assert.deepEqual(Buffer.from(result.bytes), PNG_BYTES);
  }
  await rejectsWith(downloadImage(`http://127.0.0.1:${port}/redirect-other-port`, options()), 'HOST_NOT_ALLOWED');
  assert.equal(otherHits, before, 'the service on the other port was never reached');
  // Listing both ports allows both.
  const both = await downloadImage(`http://127.0.0.1:${port}/redirect-other-port`, options({ allowedHosts: [`127.0.0.1:${port}`, `127.0.0.1:${otherPort}`] }));
  assert.deepEqual(Buffer.from(both.bytes), PNG_BYTES);
  assert.equal(otherHits, before + 1);
});

test('repeated refusals of one origin log one error that names CDN_ALLOWED_HOSTS', async () => {
  const lines: Array<{ level: number; msg: string; origin?: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as (typeof lines)[number]);
      done();
    },
  });
  const downloader = new Downloader(options({ allowedHosts: ['127.0.0.1'], logger: pino({ level: 'info' }, sink) }));
  try {
    for (let i = 0; i < 6; i++) await rejectsWith(downloader.download(`http://127.0.0.1:${port}/image.png?n=${i}`), 'HOST_NOT_ALLOWED');
    await rejectsWith(downloader.download(`http://127.0.0.1:${otherPort}/image.png`), 'HOST_NOT_ALLOWED');
  } finally {
    await downloader.close();
  }
  const errors = lines.filter((line) => line.level >= 50);
  assert.equal(errors.length, 1, JSON.stringify(lines));
  assert.equal(errors[0]?.origin, `127.0.0.1:${port}`);
  assert.match(errors[0]?.msg ?? '', /CDN_ALLOWED_HOSTS/);
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
  const downloader = new Downloader(options({ allowedHosts: [`*.example.test:${port}`], resolveHost }));
  try {
    await rejectsWith(downloader.download(`http://cdn.example.test:${port}/image.png`), 'HOST_NOT_ALLOWED');
  } finally {
    await downloader.close();
  }
  // Listed exactly: allowed, and the socket goes to the address our lookup returned.
  const listed = await downloadImage(`http://cdn.example.test:${port}/image.png`, options({ allowedHosts: [`cdn.example.test:${port}`], resolveHost }));
  assert.deepEqual(Buffer.from(listed.bytes), PNG_BYTES);
});

function parse(entry: string): AllowedHost {
  const parsed = parseAllowedHost(entry);
  if ('error' in parsed) assert.fail(parsed.error);
  return parsed;
}

test('address, host and header helpers', () => {
  for (const address of ['127.0.0.1', '10.1.2.3', '192.168.0.1', '172.20.0.1', '169.254.169.254', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '0.0.0.0']) {
    assert.equal(isPrivateAddress(address), true, address);
  }
  for (const address of ['162.159.128.233', '8.8.8.8', '2606:4700::6810:84e5']) assert.equal(isPrivateAddress(address), false, address);
  const match = (url: string, entries: string[]): string => matchUrl(new URL(url), entries.map(parse));
  assert.equal(match('https://cdn.discordapp.com/a.png', ['cdn.discordapp.com']), 'exact');
  assert.equal(match('https://CDN.discordapp.com./a.png', ['cdn.discordapp.com']), 'exact');
  assert.equal(match('http://cdn.discordapp.com/a.png', ['cdn.discordapp.com']), 'exact');
  assert.equal(match('https://cdn.discordapp.com:8443/a.png', ['cdn.discordapp.com']), 'none');
  assert.equal(match('https://cdn.discordapp.com:8443/a.png', ['cdn.discordapp.com:8443']), 'exact');
  assert.equal(match('https://cdn.discordapp.com/a.png', ['cdn.discordapp.com:8443']), 'none');
  assert.equal(match('https://cdn.discordapp.com:443/a.png', ['cdn.discordapp.com']), 'exact');
  assert.equal(match('http://cdn.discordapp.com:443/a.png', ['cdn.discordapp.com']), 'none');
  assert.equal(match('https://evil-cdn.discordapp.com/a.png', ['cdn.discordapp.com']), 'none');
  assert.equal(match('https://a.example.com/a.png', ['*.example.com']), 'wildcard');
  assert.equal(match('https://a.example.com:444/a.png', ['*.example.com']), 'none');
  assert.equal(match('https://example.com/a.png', ['*.example.com']), 'none');
  assert.equal(match('https://badexample.com/a.png', ['*.example.com']), 'none');
  assert.equal(match('http://[::1]:8080/a.png', ['[::1]:8080']), 'exact');
  assert.equal(match('http://[::1]/a.png', ['[::1]:8080']), 'none');
  assert.equal(match('http://127.1/a.png', ['0x7f000001']), 'exact');
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
