/**
 * Slash-command options typed from the command's own definition: a command lists its options once, as a
 * constant table (and a command with subcommands lists those once, each with its table); the builder is made
 * from that table (`addOptions`, `addSubcommands`) and the handler reads its arguments with `readOptions` or
 * `readSubcommand`, whose result type is derived from the same table. Renaming an option or a subcommand in
 * the table renames the handler's field, so a handler still using the old name fails to compile.
 *
 * Locale keys follow the table: `<key>.options.<option>.name|description` for an option,
 * `<key>.choices.<value>` for a choice, and `<key>.<subcommand>` in place of `<key>` for a subcommand's.
 */
import {
  ApplicationCommandOptionType,
  type APIApplicationCommandOptionChoice,
  type ApplicationCommandOptionAllowedChannelTypes,
  type ApplicationCommandOptionBase,
  type Attachment,
  type ChatInputCommandInteraction,
  type SlashCommandBuilder,
  type SlashCommandSubcommandBuilder,
  type SlashCommandSubcommandsOnlyBuilder,
} from 'discord.js';
import { localizations, translate } from './i18n.ts';

interface OptionBase {
  /** Marks the option required in Discord; its argument is then never null. */
  readonly required?: boolean;
}

/** The option kinds our commands use, with the limits Discord enforces for each. */
export type OptionDefinition =
  | (OptionBase & { readonly type: ApplicationCommandOptionType.Attachment })
  | (OptionBase & { readonly type: ApplicationCommandOptionType.String; readonly minLength?: number; readonly maxLength?: number; readonly choices?: readonly string[] })
  | (OptionBase & { readonly type: ApplicationCommandOptionType.Integer | ApplicationCommandOptionType.Number; readonly minValue?: number; readonly maxValue?: number })
  | (OptionBase & { readonly type: ApplicationCommandOptionType.Boolean })
  | (OptionBase & { readonly type: ApplicationCommandOptionType.Channel; readonly channelTypes?: readonly ApplicationCommandOptionAllowedChannelTypes[] })
  | (OptionBase & { readonly type: ApplicationCommandOptionType.Role | ApplicationCommandOptionType.User });

/** A command's options by name, in the order Discord shows them. */
export type OptionTable = Readonly<Record<string, OptionDefinition>>;

/** A command's subcommands by name, each with its options, in the order Discord shows them. */
export type SubcommandTable = Readonly<Record<string, OptionTable>>;

/**
 * The value each kind yields. Channels, roles and users come as ids: the handler looks them up in its own
 * guild, so an id from elsewhere never reaches a setting.
 */
interface KindValues {
  [ApplicationCommandOptionType.Attachment]: Attachment;
  [ApplicationCommandOptionType.String]: string;
  [ApplicationCommandOptionType.Integer]: number;
  [ApplicationCommandOptionType.Number]: number;
  [ApplicationCommandOptionType.Boolean]: boolean;
  [ApplicationCommandOptionType.Channel]: string;
  [ApplicationCommandOptionType.Role]: string;
  [ApplicationCommandOptionType.User]: string;
}

/** The value one option yields: its choices when it has some, else the value of its kind. */
type ValueOf<O extends OptionDefinition> = O extends { readonly choices: readonly (infer C)[] } ? C : KindValues[O['type']];

/** A handler's arguments: one field per option of the table, null when the member left it out. */
export type OptionValues<T extends OptionTable> = {
  -readonly [Name in keyof T]: T[Name] extends { readonly required: true } ? ValueOf<T[Name]> : ValueOf<T[Name]> | null;
};

/** The subcommand an interaction ran with its arguments; checking `name` narrows `options`. */
export type SubcommandCall<T extends SubcommandTable> = {
  [Name in keyof T & string]: { name: Name; options: OptionValues<T[Name]> };
}[keyof T & string];

/** What options are added to: a command without subcommands, or one subcommand. */
type OptionHost = SlashCommandBuilder | SlashCommandSubcommandBuilder;

/**
 * Adds the table's options to `builder`, names and descriptions (English, with every translation) from
 * `${localeKey}.options.<name>.name|description`, choice names from `${localeKey}.choices.<value>`.
 */
export function addOptions<B extends OptionHost>(builder: B, table: OptionTable, localeKey: string): B {
  const en = translate('en');
  for (const [name, option] of Object.entries(table)) {
    const nameKey = `${localeKey}.options.${name}.name`;
    const descriptionKey = `${localeKey}.options.${name}.description`;
    const describe = <A extends ApplicationCommandOptionBase>(added: A): A => {
      added.setName(name).setNameLocalizations(localizations(nameKey)).setDescription(en(descriptionKey)).setDescriptionLocalizations(localizations(descriptionKey));
      if (option.required === true) added.setRequired(true);
      return added;
    };
    switch (option.type) {
      case ApplicationCommandOptionType.Attachment:
        builder.addAttachmentOption((added) => describe(added));
        break;
      case ApplicationCommandOptionType.String:
        builder.addStringOption((added) => {
          const described = describe(added);
          if (option.minLength !== undefined) described.setMinLength(option.minLength);
          if (option.maxLength !== undefined) described.setMaxLength(option.maxLength);
          if (option.choices !== undefined) {
            described.addChoices(...option.choices.map((value): APIApplicationCommandOptionChoice<string> => ({ name: en(`${localeKey}.choices.${value}`), name_localizations: localizations(`${localeKey}.choices.${value}`), value })));
          }
          return described;
        });
        break;
      case ApplicationCommandOptionType.Integer:
      case ApplicationCommandOptionType.Number: {
        const limit = <A extends { setMinValue(value: number): A; setMaxValue(value: number): A }>(added: A): A => {
          if (option.minValue !== undefined) added.setMinValue(option.minValue);
          if (option.maxValue !== undefined) added.setMaxValue(option.maxValue);
          return added;
        };
        if (option.type === ApplicationCommandOptionType.Integer) builder.addIntegerOption((added) => limit(describe(added)));
        else builder.addNumberOption((added) => limit(describe(added)));
        break;
      }
      case ApplicationCommandOptionType.Boolean:
        builder.addBooleanOption((added) => describe(added));
        break;
      case ApplicationCommandOptionType.Channel:
        builder.addChannelOption((added) => {
          const described = describe(added);
          if (option.channelTypes !== undefined) described.addChannelTypes(...option.channelTypes);
          return described;
        });
        break;
      case ApplicationCommandOptionType.Role:
        builder.addRoleOption((added) => describe(added));
        break;
      case ApplicationCommandOptionType.User:
        builder.addUserOption((added) => describe(added));
        break;
    }
  }
  return builder;
}

/**
 * Adds the table's subcommands to `builder`, each named by its key, its description (English, with every
 * translation) from `${localeKey}.<subcommand>.description`, and its options as `addOptions` adds them.
 */
export function addSubcommands(builder: SlashCommandBuilder | SlashCommandSubcommandsOnlyBuilder, table: SubcommandTable, localeKey: string): SlashCommandSubcommandsOnlyBuilder {
  const en = translate('en');
  let result: SlashCommandSubcommandsOnlyBuilder = builder;
  for (const [name, options] of Object.entries(table)) {
    const key = `${localeKey}.${name}`;
    result = result.addSubcommand((sub) =>
      addOptions(
        sub.setName(name).setNameLocalizations(localizations(`${key}.name`)).setDescription(en(`${key}.description`)).setDescriptionLocalizations(localizations(`${key}.description`)),
        options,
        key,
      ),
    );
  }
  return result;
}

/** The interaction's arguments for the options of `table` (discord.js has already checked kinds and limits). */
export function readOptions<T extends OptionTable>(interaction: ChatInputCommandInteraction, table: T): OptionValues<T> {
  const values: Record<string, unknown> = {};
  for (const [name, option] of Object.entries(table)) {
    const required = option.required === true;
    switch (option.type) {
      case ApplicationCommandOptionType.Attachment:
        values[name] = interaction.options.getAttachment(name, required);
        break;
      case ApplicationCommandOptionType.String:
        values[name] = interaction.options.getString(name, required);
        break;
      case ApplicationCommandOptionType.Integer:
        values[name] = interaction.options.getInteger(name, required);
        break;
      case ApplicationCommandOptionType.Number:
        values[name] = interaction.options.getNumber(name, required);
        break;
      case ApplicationCommandOptionType.Boolean:
        values[name] = interaction.options.getBoolean(name, required);
        break;
      case ApplicationCommandOptionType.Channel: {
        // The raw id when Discord sent no resolved channel object (the handler resolves it in its guild).
        const raw = interaction.options.get(name, required);
        values[name] = raw?.channel?.id ?? (typeof raw?.value === 'string' ? raw.value : null);
        break;
      }
      case ApplicationCommandOptionType.Role:
        values[name] = interaction.options.getRole(name, required)?.id ?? null;
        break;
      case ApplicationCommandOptionType.User:
        values[name] = interaction.options.getUser(name, required)?.id ?? null;
        break;
    }
  }
  // The loop above fills exactly the table's names with their kinds' values: OptionValues<T> describes it.
  return values as OptionValues<T>;
}

/** The subcommand the interaction ran, with its arguments read from its options in `table`. */
export function readSubcommand<T extends SubcommandTable>(interaction: ChatInputCommandInteraction, table: T): SubcommandCall<T> {
  const name = interaction.options.getSubcommand(true);
  const options = Object.hasOwn(table, name) ? table[name] : undefined;
  // Discord only sends the subcommands the registered definition has: another name is a stale registration.
  if (options === undefined) throw new Error(`/${interaction.commandName} has no subcommand ${name}: run npm run deploy-commands`);
  // `name` is a key of the table and `options` read with its table: SubcommandCall<T> describes the pair.
  return { name, options: readOptions(interaction, options) } as SubcommandCall<T>;
}
