/**
 * The duplicate-notice moderation parts of `/dejavu`: the `templates` and `allowed-role` settings of
 * `/dejavu config`, and `/dejavu reports` (recent "Not a repost" reports; `undo` takes one back).
 * Kept apart from commands/dejavu.ts, which adds these to its subcommand table and calls them.
 */
import { ApplicationCommandOptionType, EmbedBuilder, type APIEmbedField, type ChatInputCommandInteraction } from 'discord.js';
import type { GuildSettings, TemplateMatchMode } from '../../src/services/types.ts';
import type { BotContext } from '../../src/discord/context.ts';
import type { Translate } from '../../src/discord/i18n.ts';
import { discordTimestamp, messageLink } from '../../src/discord/links.ts';
import type { OptionTable, OptionValues } from '../../src/discord/options.ts';

const TEMPLATE_MODES = ['ignore', 'note'] as const satisfies readonly TemplateMatchMode[];
/** Reports listed by `/dejavu reports`. */
const REPORTS_LISTED = 10;

/** Options of `/dejavu config` (commands/dejavu.ts adds them to the subcommand's table). */
export const MODERATION_CONFIG_OPTIONS = {
  templates: { type: ApplicationCommandOptionType.String, choices: TEMPLATE_MODES },
  'allowed-role': { type: ApplicationCommandOptionType.Role },
  'clear-allowed-role': { type: ApplicationCommandOptionType.Boolean },
} as const satisfies OptionTable;

/** The settings patch of those options (empty when none was given). */
export function moderationConfigPatch(interaction: ChatInputCommandInteraction<'cached'>, options: OptionValues<typeof MODERATION_CONFIG_OPTIONS>): Partial<GuildSettings> {
  const patch: Partial<GuildSettings> = {};
  if (options.templates !== null) patch.templateMatches = options.templates;
  const roleId = options['allowed-role'];
  // Only a role of this guild; @everyone would silence every notice, which is what `mode: off` is for.
  if (roleId !== null && roleId !== interaction.guildId && interaction.guild.roles.cache.has(roleId)) patch.allowedReposterRoleId = roleId;
  if (options['clear-allowed-role'] === true) patch.allowedReposterRoleId = null;
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
export const REPORTS_OPTIONS = {
  undo: { type: ApplicationCommandOptionType.String, minLength: 1, maxLength: 32 },
} as const satisfies OptionTable;

export async function reports(
  interaction: ChatInputCommandInteraction<'cached'>,
  context: BotContext,
  t: Translate,
  { undo }: OptionValues<typeof REPORTS_OPTIONS>,
): Promise<EmbedBuilder | string> {
  const guildId = interaction.guildId;
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
