/** Picks the reply language: a per-guild override, then the user's Discord locale, then the guild's. */
import type { GuildSettings } from '../services/types.ts';
import { languageOf, translate, type Translate } from './i18n.ts';

export function translatorFor(settings: Pick<GuildSettings, 'locale'> | null, userLocale?: string | null, guildLocale?: string | null): Translate {
  return translate(languageOf(settings?.locale, userLocale, guildLocale));
}
