/**
 * The spam-wave part of `/dejavu config`: its options, the settings patch they make, and the settings
 * field that shows them. Kept apart from commands/dejavu.ts so the wave settings live in one place.
 */
import { ApplicationCommandOptionType, type APIEmbedField } from 'discord.js';
import type { GuildSettings } from '../services/types.ts';
import type { Translate } from './i18n.ts';
import type { OptionTable, OptionValues } from './options.ts';

/** Discord's own limit on a timeout: 28 days. */
const MAX_TIMEOUT_MINUTES = 28 * 24 * 60;

/** The wave options of `/dejavu config` (commands/dejavu.ts adds them to the subcommand's table). */
export const WAVE_OPTIONS = {
  'wave-alerts': { type: ApplicationCommandOptionType.Boolean },
  'wave-channels': { type: ApplicationCommandOptionType.Integer, minValue: 2, maxValue: 50 },
  'wave-accounts': { type: ApplicationCommandOptionType.Integer, minValue: 2, maxValue: 50 },
  'wave-minutes': { type: ApplicationCommandOptionType.Integer, minValue: 1, maxValue: 24 * 60 },
  'wave-delete': { type: ApplicationCommandOptionType.Boolean },
  'wave-timeout': { type: ApplicationCommandOptionType.Integer, minValue: 0, maxValue: MAX_TIMEOUT_MINUTES },
  'wave-dry-run': { type: ApplicationCommandOptionType.Boolean },
} as const satisfies OptionTable;

/** The settings the wave options of one `/dejavu config` ask to change. */
export function wavePatch(options: OptionValues<typeof WAVE_OPTIONS>): Partial<GuildSettings> {
  const patch: Partial<GuildSettings> = {};
  if (options['wave-alerts'] !== null) patch.waveAlerts = options['wave-alerts'];
  if (options['wave-channels'] !== null) patch.waveChannels = options['wave-channels'];
  if (options['wave-accounts'] !== null) patch.waveAccounts = options['wave-accounts'];
  if (options['wave-minutes'] !== null) patch.waveWindowMinutes = options['wave-minutes'];
  if (options['wave-delete'] !== null) patch.waveDeleteCopies = options['wave-delete'];
  if (options['wave-timeout'] !== null) patch.waveTimeoutMinutes = options['wave-timeout'];
  if (options['wave-dry-run'] !== null) patch.waveDryRun = options['wave-dry-run'];
  return patch;
}

/** One settings field: whether waves are tracked, their rule, and the actions. */
export function waveField(t: Translate, settings: GuildSettings): APIEmbedField {
  const yesNo = (value: boolean) => (value ? t('config.yes') : t('config.no'));
  const state = !settings.waveAlerts ? t('waves.config.off') : settings.logChannelId === null ? t('waves.config.needsLogChannel') : t('waves.config.on');
  const rule = t('waves.config.rule', { channels: settings.waveChannels, accounts: settings.waveAccounts, minutes: settings.waveWindowMinutes });
  const timeout = settings.waveTimeoutMinutes > 0 ? t('config.minutes', { count: settings.waveTimeoutMinutes }) : t('config.no');
  const actions = t('waves.config.actions', { delete: yesNo(settings.waveDeleteCopies), timeout, dryRun: yesNo(settings.waveDryRun) });
  return { name: t('waves.config.title'), value: [state, rule, actions].join('\n') };
}
