/**
 * The duplicate-notice moderation parts of `/dejavu`: the `templates` and `allowed-role` settings of
 * `/dejavu config`, and `/dejavu reports` (recent "Not a repost" reports; `undo` takes one back).
 * Kept apart from commands/dejavu.ts, which adds these to its builder and calls them.
 */
import {
  EmbedBuilder,
  type APIEmbedField,
  type ChatInputCommandInteraction,
  type SlashCommandStringOption,
  type SlashCommandSubcommandBuilder,
} from 'discord.js';
import type { GuildSettings, TemplateMatchMode } from '../../src/services/types.ts';
import type { BotContext } from '../../src/discord/context.ts';
import { localizations, translate, type Translate } from '../../src/discord/i18n.ts';
import { discordTimestamp, messageLink } from '../../src/discord/links.ts';

const en = translate('en');
const key = (path: string) => `commands.dejavu.${path}`;
const TEMPLATE_MODES: readonly TemplateMatchMode[] = ['ignore', 'note'];
/** Reports listed by `/dejavu reports`. */
const REPORTS_LISTED = 10;

interface Localisable<T> {
  setName(name: string): T;
  setNameLocalizations(map: ReturnType<typeof localizations>): T;
  setDescription(text: string): T;
  setDescriptionLocalizations(map: ReturnType<typeof localizations>): T;
}

function named<T extends Localisable<T>>(builder: T, path: string, name: string): T {
  return builder
    .setName(name)
    .setNameLocalizations(localizations(`${path}.name`))
    .setDescription(en(`${path}.description`))
    .setDescriptionLocalizations(localizations(`${path}.description`));
}

/** Options added to `/dejavu config`. */
export function addModerationConfigOptions(sub: SlashCommandSubcommandBuilder): SlashCommandSubcommandBuilder {
  return sub
    .addStringOption((o: SlashCommandStringOption) =>
      named(o, key('config.options.templates'), 'templates').addChoices(
        ...TEMPLATE_MODES.map((mode) => ({ name: en(key(`config.templateModes.${mode}`)), name_localizations: localizations(key(`config.templateModes.${mode}`)), value: mode })),
      ),
    )
    .addRoleOption((o) => named(o, key('config.options.allowed-role'), 'allowed-role'))
    .addBooleanOption((o) => named(o, key('config.options.clear-allowed-role'), 'clear-allowed-role'));
}

/** The settings patch of those options (empty when none was given). */
export function moderationConfigPatch(interaction: ChatInputCommandInteraction<'cached'>): Partial<GuildSettings> {
  const options = interaction.options;
  const patch: Partial<GuildSettings> = {};
  const templates = options.getString('templates');
  if (templates === 'ignore' || templates === 'note') patch.templateMatches = templates;
  const role = options.getRole('allowed-role');
  // Only a role of this guild; @everyone would silence every notice, which is what `mode: off` is for.
  if (role && role.id !== interaction.guildId && interaction.guild.roles.cache.has(role.id)) patch.allowedReposterRoleId = role.id;
  if (options.getBoolean('clear-allowed-role') === true) patch.allowedReposterRoleId = null;
  return patch;
}

/** Fields shown in the settings embed. */
export function moderationSettingsFields(t: Translate, settings: GuildSettings): APIEmbedField[] {
  return [
    { name: t('config.templates'), value: t(`config.templateValues.${settings.templateMatches}`), inline: true },
    { name: t('config.allowedRole'), value: settings.allowedReposterRoleId ? `<@&${settings.allowedReposterRoleId}>` : t('config.none'), inline: true },
  ];
}

/** `/dejavu reports [undo]`. */
export function addReportsSubcommand(sub: SlashCommandSubcommandBuilder): SlashCommandSubcommandBuilder {
  return named(sub, key('reports'), 'reports').addStringOption((o) => named(o, key('reports.options.undo'), 'undo').setMinLength(1).setMaxLength(32));
}

export async function reports(interaction: ChatInputCommandInteraction<'cached'>, context: BotContext, t: Translate): Promise<EmbedBuilder | string> {
  const guildId = interaction.guildId;
  const undo = interaction.options.getString('undo');
  if (undo !== null) {
    const report = await context.services.reports.undo(guildId, undo.trim(), interaction.user.id);
    const fields = { guildId, memberId: interaction.user.id, reportId: undo.trim() };
    if (report === undefined) {
      context.log.info(fields, 'report undo refused: no such live report');
      return t('reports.noSuchReport', { id: undo.trim() });
    }
    context.log.info({ ...fields, pairs: report.pairs.length }, 'not-a-repost report undone');
    return t('reports.undone', { id: report.id, link: messageLink({ guildId, channelId: report.channelId, messageId: report.messageId }) });
  }
  const recent = await context.services.reports.recent(guildId, REPORTS_LISTED);
  const embed = new EmbedBuilder().setTitle(t('reports.title'));
  if (recent.length === 0) return embed.setDescription(t('reports.none'));
  const lines = recent.map((report) =>
    t(report.undoneAt === null ? 'reports.line' : 'reports.lineUndone', {
      id: report.id,
      link: messageLink({ guildId, channelId: report.channelId, messageId: report.messageId }),
      reporter: `<@${report.reporterId}>`,
      date: discordTimestamp(report.reportedAt),
    }),
  );
  return embed.setDescription([...lines, '', t('reports.undoHint')].join('\n'));
}
