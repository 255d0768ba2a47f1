/**
 * The GIF part of `/dejavu config`: its option, the settings patch it makes, and the settings field.
 * Kept apart from commands/dejavu.ts so the media settings live in one place.
 */
import { ApplicationCommandOptionType, type APIEmbedField } from 'discord.js';
import type { GuildSettings } from '../services/types.ts';
import type { Translate } from './i18n.ts';
import type { OptionTable, OptionValues } from './options.ts';

/** The media option of `/dejavu config` (commands/dejavu.ts adds it to the subcommand's table). */
export const MEDIA_OPTIONS = {
  'gif-reposts': { type: ApplicationCommandOptionType.Boolean },
} as const satisfies OptionTable;

export function mediaPatch(options: OptionValues<typeof MEDIA_OPTIONS>): Partial<GuildSettings> {
  const gifReposts = options['gif-reposts'];
  return gifReposts === null ? {} : { gifReposts };
}

export function mediaField(t: Translate, settings: GuildSettings): APIEmbedField {
  return { name: t('media.config.gifReposts'), value: settings.gifReposts ? t('config.yes') : t('config.no'), inline: true };
}
