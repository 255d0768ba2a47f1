/** commands/dejavu.ts: its pure helpers (the /dejavu subcommands run in the end-to-end tests). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEmoji } from '../../commands/dejavu.ts';

test('custom emoji are stored by id', () => {
  assert.equal(parseEmoji('<:pepe:123456789012345678>'), '123456789012345678');
  assert.equal(parseEmoji(' 🔍 '), '🔍');
});
