import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { CONFIG_VARIABLES, ConfigError, parseConfig } from '../src/config.ts';

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

test('.env.example lists every configuration variable, and its uncommented values are the defaults', () => {
  const lines = readFileSync(resolve(import.meta.dirname, '..', '.env.example'), 'utf8').split('\n');
  const listed = new Map<string, { value: string; commented: boolean }>();
  for (const line of lines) {
    const match = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match !== null) listed.set(match[2]!, { value: match[3]!, commented: match[1] !== undefined });
  }
  assert.deepEqual([...CONFIG_VARIABLES].filter((name) => !listed.has(name)), [], 'in src/config.ts but not in .env.example');
  assert.deepEqual([...listed.keys()].filter((name) => !CONFIG_VARIABLES.includes(name)), [], 'in .env.example but not read by src/config.ts');
  const defaults = parseConfig({}) as unknown as Record<string, unknown>;
  for (const [name, { value, commented }] of listed) {
    if (commented || value === '') continue;
    const parsed = parseConfig({ [name]: value }) as unknown as Record<string, unknown>;
    assert.deepEqual(parsed[name], defaults[name], `${name}=${value} in .env.example is not the default`);
  }
});
