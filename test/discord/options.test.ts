/** src/discord/options.ts: a command's option table makes its builder and types its handler's arguments. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationCommandOptionType, SlashCommandBuilder } from 'discord.js';
import { addOptions, type OptionTable, type OptionValues } from '../../src/discord/options.ts';

const TABLE = {
  image: { type: ApplicationCommandOptionType.Attachment, required: true },
  count: { type: ApplicationCommandOptionType.Integer, minValue: 1, maxValue: 10 },
  scope: { type: ApplicationCommandOptionType.String, choices: ['server', 'channel'] },
} as const satisfies OptionTable;

test('the builder gets the table\'s options in order, with limits, choices and both languages', () => {
  const json = addOptions(new SlashCommandBuilder().setName('similar').setDescription('d'), TABLE, 'commands.similar').toJSON();
  const options = (json.options ?? []) as Array<{ name: string; type: number; required?: boolean; min_value?: number; max_value?: number; choices?: Array<{ value: string; name_localizations?: Record<string, string> }>; description_localizations?: Record<string, string> }>;
  assert.deepEqual(options.map((option) => [option.name, option.type, option.required ?? false]), [
    ['image', ApplicationCommandOptionType.Attachment, true],
    ['count', ApplicationCommandOptionType.Integer, false],
    ['scope', ApplicationCommandOptionType.String, false],
  ]);
  assert.equal(options[1]?.min_value, 1);
  assert.equal(options[1]?.max_value, 10);
  assert.deepEqual(options[2]?.choices?.map((choice) => choice.value), ['server', 'channel']);
  assert.ok(options[2]?.choices?.[0]?.name_localizations?.ja, 'choice names in Japanese');
  assert.ok(options[0]?.description_localizations?.ja, 'descriptions in Japanese');
});

test('the handler\'s argument type follows the table: names, kinds, choices, required', () => {
  type Values = OptionValues<typeof TABLE>;
  const scope: Values['scope'] = 'channel';
  const count: Values['count'] = null;
  // @ts-expect-error: a required option is never null.
  const image: Values['image'] = null;
  // @ts-expect-error: only the table's choices are values of `scope`.
  const otherScope: Values['scope'] = 'guild';
  // @ts-expect-error: a name the table does not have (a renamed option) does not compile.
  const renamed: Values['number'] = null;
  assert.deepEqual([scope, count, image, otherScope, renamed], ['channel', null, null, 'guild', null]);
});
