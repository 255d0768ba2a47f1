/**
 * Slash-command options typed from the command's own definition: a command lists its options once, as a
 * constant table; the builder is made from that table (`addOptions`) and the handler reads its arguments with
 * `readOptions`, whose result type is derived from the same table. Renaming an option in the table renames
 * the handler's field, so a handler still using the old name fails to compile.
 */
import {
  ApplicationCommandOptionType,
  type APIApplicationCommandOptionChoice,
  type ApplicationCommandOptionBase,
  type Attachment,
  type ChatInputCommandInteraction,
  type SlashCommandBuilder,
} from 'discord.js';
import { localizations, translate } from './i18n.ts';

interface OptionBase {
  /** Marks the option required in Discord; its argument is then never null. */
  readonly required?: boolean;
}

/** The option kinds our commands use, with the limits Discord enforces for each. */
export type OptionDefinition =
  | (OptionBase & { readonly type: ApplicationCommandOptionType.Attachment })
  | (OptionBase & { readonly type: ApplicationCommandOptionType.String; readonly maxLength?: number; readonly choices?: readonly string[] })
  | (OptionBase & { readonly type: ApplicationCommandOptionType.Integer; readonly minValue?: number; readonly maxValue?: number });

/** A command's options by name, in the order Discord shows them. */
export type OptionTable = Readonly<Record<string, OptionDefinition>>;

/** The value one option yields: its choices when it has some, else the type of its kind. */
type ValueOf<O extends OptionDefinition> = O extends { readonly choices: readonly (infer C)[] }
  ? C
  : O['type'] extends ApplicationCommandOptionType.Attachment
    ? Attachment
    : O['type'] extends ApplicationCommandOptionType.String
      ? string
      : number;

/** A handler's arguments: one field per option of the table, null when the member left it out. */
export type OptionValues<T extends OptionTable> = {
  -readonly [Name in keyof T]: T[Name] extends { readonly required: true } ? ValueOf<T[Name]> : ValueOf<T[Name]> | null;
};

/**
 * Adds the table's options to `builder`, names and descriptions (English, with every translation) from
 * `${localeKey}.options.<name>.name|description`, choice names from `${localeKey}.choices.<value>`.
 */
export function addOptions(builder: SlashCommandBuilder, table: OptionTable, localeKey: string): SlashCommandBuilder {
  const en = translate('en');
  for (const [name, option] of Object.entries(table)) {
    const nameKey = `${localeKey}.options.${name}.name`;
    const descriptionKey = `${localeKey}.options.${name}.description`;
    const describe = <B extends ApplicationCommandOptionBase>(added: B): B => {
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
          if (option.maxLength !== undefined) described.setMaxLength(option.maxLength);
          if (option.choices !== undefined) {
            described.addChoices(...option.choices.map((value): APIApplicationCommandOptionChoice<string> => ({ name: en(`${localeKey}.choices.${value}`), name_localizations: localizations(`${localeKey}.choices.${value}`), value })));
          }
          return described;
        });
        break;
      case ApplicationCommandOptionType.Integer:
        builder.addIntegerOption((added) => {
          const described = describe(added);
          if (option.minValue !== undefined) described.setMinValue(option.minValue);
          if (option.maxValue !== undefined) described.setMaxValue(option.maxValue);
          return described;
        });
        break;
    }
  }
  return builder;
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
    }
  }
  // The loop above fills exactly the table's names with their kinds' values: OptionValues<T> describes it.
  return values as OptionValues<T>;
}
