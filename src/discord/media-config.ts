/**
 * The GIF part of `/dejavu config`: its option, the settings patch it makes, and the settings field.
 * Kept apart from commands/dejavu.ts so the media settings live in one place.
 */
import type { APIEmbedField, ChatInputCommandInteraction, SlashCommandSubcommandBuilder } from 'discord.js';
import type { GuildSettings } from '../services/types.ts';
import { localizations, translate, type Translate } from './i18n.ts';

const en = translate('en');

export function addMediaOptions(sub: SlashCommandSubcommandBuilder): SlashCommandSubcommandBuilder {
  const path = 'media.options.gif-reposts';
  return sub.addBooleanOption((o) =>
    o
      .setName('gif-reposts')
      .setNameLocalizations(localizations(`${path}.name`))
      .setDescription(en(`${path}.description`))
      .setDescriptionLocalizations(localizations(`${path}.description`)),
  );
}

export function mediaPatch(options: ChatInputCommandInteraction['options']): Partial<GuildSettings> {
  const gifReposts = options.getBoolean('gif-reposts');
  return gifReposts === null ? {} : { gifReposts };
}

export function mediaField(t: Translate, settings: GuildSettings): APIEmbedField {
  return { name: t('media.config.gifReposts'), value: settings.gifReposts ? t('config.yes') : t('config.no'), inline: true };
}
