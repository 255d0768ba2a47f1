import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseConfig } from '../src/config.ts';

test('CDN_ALLOWED_HOSTS: host, host:port and *.domain are accepted; malformed entries stop the start', () => {
  assert.deepEqual(parseConfig({}).CDN_ALLOWED_HOSTS, ['cdn.discordapp.com', 'media.discordapp.net']);
  assert.deepEqual(parseConfig({ CDN_ALLOWED_HOSTS: '127.0.0.1:8080, *.example.com,[::1]:81,cdn.example.com' }).CDN_ALLOWED_HOSTS, [
    '127.0.0.1:8080',
    '*.example.com',
    '[::1]:81',
    'cdn.example.com',
  ]);
  for (const [entry, reason] of [
    ['https://cdn.example.com', /is a URL/],
    ['cdn.example.com:0', /port/],
    ['cdn.example.com:99999', /port/],
    ['cdn.example.com:http', /port/],
    ['cdn.example.com/images', /host/],
    ['a.*.example.com', /\*/],
    ['*.10.0.0.1', /domain name/],
  ] as const) {
    assert.throws(
      () => parseConfig({ CDN_ALLOWED_HOSTS: `cdn.discordapp.com,${entry}` }),
      (error: unknown) => error instanceof ConfigError && /CDN_ALLOWED_HOSTS/.test(error.message) && reason.test(error.message) && error.message.includes(entry),
      entry,
    );
  }
});
