/**
 * Every user-facing string goes through here. Replies use the asking user's Discord locale (or the guild's,
 * or a per-guild override); command definitions get Discord localisations for every non-English locale.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import i18next, { type TFunction } from 'i18next';
import type { LocalizationMap } from 'discord.js';

export const SUPPORTED_LANGUAGES = ['en', 'ja'] as const;
export type Language = (typeof SUPPORTED_LANGUAGES)[number];

type Resource = Record<string, unknown>;

function loadLocale(language: Language): Resource {
  return JSON.parse(readFileSync(join(import.meta.dirname, 'locales', `${language}.json`), 'utf8')) as Resource;
}

const instance = i18next.createInstance();
void instance.init({
  initAsync: false,
  lng: 'en',
  fallbackLng: 'en',
  supportedLngs: [...SUPPORTED_LANGUAGES],
  resources: Object.fromEntries(SUPPORTED_LANGUAGES.map((language) => [language, { translation: loadLocale(language) }])),
  // Discord renders markdown, not HTML: nothing to escape.
  interpolation: { escapeValue: false },
  returnNull: false,
});

/** Maps a Discord locale (`en-US`, `ja`, …) or a settings override to one of our languages. */
export function languageOf(...candidates: ReadonlyArray<string | null | undefined>): Language {
  for (const candidate of candidates) {
    if (!candidate) continue;
    const base = candidate.toLowerCase().split('-')[0];
    const match = SUPPORTED_LANGUAGES.find((language) => language === base);
    if (match) return match;
  }
  return 'en';
}

/** A translator bound to one language. */
export function translator(language: Language): TFunction {
  return instance.getFixedT(language);
}

export type Translate = (key: string, values?: Record<string, unknown>) => string;

/** `t(key, values)` for a language, typed loosely enough to accept any key of the locale files. */
export function translate(language: Language): Translate {
  const t = translator(language);
  return (key, values) => String(t(key, values ?? {}));
}

/** Discord's locale codes for each non-English language we ship. */
const DISCORD_LOCALES: Record<Exclude<Language, 'en'>, readonly string[]> = { ja: ['ja'] };

/** `{ ja: '…' }` for a key, for setNameLocalizations / setDescriptionLocalizations. */
export function localizations(key: string): LocalizationMap {
  const map: Record<string, string> = {};
  for (const [language, locales] of Object.entries(DISCORD_LOCALES)) {
    const text = translate(language as Language)(key);
    for (const locale of locales) map[locale] = text;
  }
  return map as LocalizationMap;
}
