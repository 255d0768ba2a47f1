/** src/discord/options.ts: a command's option table makes its builder and types its handler's arguments. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationCommandOptionType, SlashCommandBuilder } from 'discord.js';
import { addOptions, addSubcommands, type OptionTable, type OptionValues, type SubcommandCall, type SubcommandTable } from '../../src/discord/options.ts';

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

const SUBCOMMANDS = {
  config: { threshold: { type: ApplicationCommandOptionType.Number, minValue: 50, maxValue: 100 }, mode: { type: ApplicationCommandOptionType.String, choices: ['reply', 'off'] } },
  forget: { member: { type: ApplicationCommandOptionType.User, required: true } },
  stats: {},
} as const satisfies SubcommandTable;

test('subcommands come from their table: names, their options, their locale keys', () => {
  const json = addSubcommands(new SlashCommandBuilder().setName('dejavu').setDescription('d'), SUBCOMMANDS, 'commands.dejavu').toJSON();
  const subcommands = (json.options ?? []) as Array<{ name: string; type: number; name_localizations?: Record<string, string>; options?: Array<{ name: string; type: number; required?: boolean; min_value?: number; choices?: Array<{ value: string; name: string }> }> }>;
  assert.deepEqual(subcommands.map((sub) => [sub.name, sub.type, (sub.options ?? []).map((option) => option.name)]), [
    ['config', ApplicationCommandOptionType.Subcommand, ['threshold', 'mode']],
    ['forget', ApplicationCommandOptionType.Subcommand, ['member']],
    ['stats', ApplicationCommandOptionType.Subcommand, []],
  ]);
  assert.equal(subcommands[0]?.options?.[0]?.type, ApplicationCommandOptionType.Number);
  assert.equal(subcommands[0]?.options?.[0]?.min_value, 50);
  assert.deepEqual(subcommands[0]?.options?.[1]?.choices?.map((choice) => choice.name), ['Reply to the message', 'Do nothing']);
  assert.equal(subcommands[1]?.options?.[0]?.required, true);
  assert.ok(subcommands[1]?.name_localizations?.ja, 'subcommand names in Japanese');
});

test('a subcommand call narrows to that subcommand\'s arguments', () => {
  const describe = (call: SubcommandCall<typeof SUBCOMMANDS>): string => {
    if (call.name === 'forget') return call.options.member;
    // @ts-expect-error: `member` is an option of `forget` only.
    if (call.name === 'stats') return String(call.options.member);
    // @ts-expect-error: a subcommand the table does not have (a renamed one) does not compile.
    if (call.name === 'settings') return '';
    return String(call.options.mode);
  };
  assert.equal(describe({ name: 'forget', options: { member: '42' } }), '42');
  assert.equal(describe({ name: 'config', options: { threshold: null, mode: 'off' } }), 'off');
});
