/** src/discord/commands.ts: the command definitions registered with Discord. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandDefinitions } from '../../src/discord/commands.ts';

test('command definitions: names, Japanese localisations; /dejavu open to members (forget-me), Manage Server checked per subcommand', () => {
  const definitions = commandDefinitions() as Array<{ name: string; name_localizations?: Record<string, string>; default_member_permissions?: string | null; type?: number }>;
  const byName = new Map(definitions.map((definition) => [definition.name, definition]));
  assert.deepEqual([...byName.keys()].sort(), ['Find similar images', 'dejavu', 'similar']);
  assert.equal(byName.get('similar')?.name_localizations?.ja, '似た画像');
  assert.equal(byName.get('Find similar images')?.type, 3);
  assert.equal(byName.get('dejavu')?.default_member_permissions ?? null, null);
  const subcommands = (byName.get('dejavu') as { options?: Array<{ name: string; name_localizations?: Record<string, string> }> } | undefined)?.options ?? [];
  for (const name of ['forget-me', 'forget', 'remember-me']) assert.ok(subcommands.find((sub) => sub.name === name)?.name_localizations?.ja, `/dejavu ${name} in Japanese`);
});
