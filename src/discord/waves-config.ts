/**
 * The spam-wave part of `/dejavu config`: its options, the settings patch they make, and the settings
 * field that shows them. Kept apart from commands/dejavu.ts so the wave settings live in one place.
 */
import type { APIEmbedField, ChatInputCommandInteraction, SlashCommandSubcommandBuilder } from 'discord.js';
import type { GuildSettings } from '../services/types.ts';
import { localizations, translate, type Translate } from './i18n.ts';

const en = translate('en');

type NamedOption = {
  setName(name: string): NamedOption;
  setNameLocalizations(map: ReturnType<typeof localizations>): NamedOption;
  setDescription(text: string): NamedOption;
  setDescriptionLocalizations(map: ReturnType<typeof localizations>): NamedOption;
};

function named<T extends NamedOption>(option: T, name: string): T {
  const path = `waves.options.${name}`;
  return option
    .setName(name)
    .setNameLocalizations(localizations(`${path}.name`))
    .setDescription(en(`${path}.description`))
    .setDescriptionLocalizations(localizations(`${path}.description`)) as T;
}

/** Discord's own limit on a timeout: 28 days. */
const MAX_TIMEOUT_MINUTES = 28 * 24 * 60;

export function addWaveOptions(sub: SlashCommandSubcommandBuilder): SlashCommandSubcommandBuilder {
  return sub
    .addBooleanOption((o) => named(o, 'wave-alerts'))
    .addIntegerOption((o) => named(o, 'wave-channels').setMinValue(2).setMaxValue(50))
    .addIntegerOption((o) => named(o, 'wave-accounts').setMinValue(2).setMaxValue(50))
    .addIntegerOption((o) => named(o, 'wave-minutes').setMinValue(1).setMaxValue(24 * 60))
    .addBooleanOption((o) => named(o, 'wave-delete'))
    .addIntegerOption((o) => named(o, 'wave-timeout').setMinValue(0).setMaxValue(MAX_TIMEOUT_MINUTES))
    .addBooleanOption((o) => named(o, 'wave-dry-run'));
}

/** The settings the wave options of one `/dejavu config` ask to change. */
export function wavePatch(options: ChatInputCommandInteraction['options']): Partial<GuildSettings> {
  const patch: Partial<GuildSettings> = {};
  const alerts = options.getBoolean('wave-alerts');
  if (alerts !== null) patch.waveAlerts = alerts;
  const channels = options.getInteger('wave-channels');
  if (channels !== null) patch.waveChannels = channels;
  const accounts = options.getInteger('wave-accounts');
  if (accounts !== null) patch.waveAccounts = accounts;
  const minutes = options.getInteger('wave-minutes');
  if (minutes !== null) patch.waveWindowMinutes = minutes;
  const remove = options.getBoolean('wave-delete');
  if (remove !== null) patch.waveDeleteCopies = remove;
  const timeout = options.getInteger('wave-timeout');
  if (timeout !== null) patch.waveTimeoutMinutes = timeout;
  const dryRun = options.getBoolean('wave-dry-run');
  if (dryRun !== null) patch.waveDryRun = dryRun;
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
