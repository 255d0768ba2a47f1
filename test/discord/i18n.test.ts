/** src/discord/i18n.ts: every string in both languages, and which language a reply uses. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { languageOf, translate } from '../../src/discord/i18n.ts';

const LOCALES = join(import.meta.dirname, '..', '..', 'src', 'discord', 'locales');

function keysOf(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null) return [prefix];
  return Object.entries(value).flatMap(([key, child]) => keysOf(child, prefix ? `${prefix}.${key}` : key));
}

test('every English string has a Japanese translation and vice versa', () => {
  const en = keysOf(JSON.parse(readFileSync(join(LOCALES, 'en.json'), 'utf8'))).sort();
  const ja = keysOf(JSON.parse(readFileSync(join(LOCALES, 'ja.json'), 'utf8'))).sort();
  assert.deepEqual(ja, en);
});

test('languages follow the override, then the user locale, then the guild locale', () => {
  assert.equal(languageOf(null, 'ja', 'en-US'), 'ja');
  assert.equal(languageOf('en', 'ja'), 'en');
  assert.equal(languageOf(undefined, 'fr', 'ja'), 'ja');
  assert.equal(languageOf(undefined, 'de'), 'en');
  assert.match(translate('ja')('similar.cooldown', { seconds: 4 }), /4 秒/);
});
