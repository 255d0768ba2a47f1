/** Small helpers shared by the command handlers. */
import { MessageFlags, type ChatInputCommandInteraction, type Guild, type GuildBasedChannel, type GuildMember, type MessageComponentInteraction, type MessageContextMenuCommandInteraction } from 'discord.js';
import type { GuildSettings } from '../services/types.ts';
import type { BotContext } from './context.ts';
import { describeForUser } from './errors.ts';
import type { Translate } from './i18n.ts';
import { translatorFor } from './locale.ts';
import type { ReplyPayload } from './replies/similar.ts';

type GuildInteraction = ChatInputCommandInteraction | MessageContextMenuCommandInteraction | MessageComponentInteraction;

export interface InteractionScope {
  guild: Guild;
  member: GuildMember;
  channel: GuildBasedChannel;
  settings: GuildSettings;
  t: Translate;
}

/**
 * The guild, member, channel, settings and translator of an interaction, or null (after answering)
 * when it does not come from a cached guild channel.
 */
export async function interactionScope(interaction: GuildInteraction, context: BotContext): Promise<InteractionScope | null> {
  const guild = interaction.guild;
  const channel = interaction.channel;
  if (!guild || !interaction.inCachedGuild() || !channel || channel.isDMBased()) {
    await interaction.reply({ content: translatorFor(null, interaction.locale, interaction.guildLocale)('errors.guildOnly'), flags: MessageFlags.Ephemeral });
    return null;
  }
  const settings = await context.services.settings.get(guild.id);
  const t = translatorFor(settings, interaction.locale, interaction.guildLocale);
  return { guild, member: interaction.member, channel, settings, t };
}

/** Edits a deferred reply with a result, or with the user-facing message of an error (and logs it). */
export async function finishDeferred(
  interaction: GuildInteraction,
  context: BotContext,
  t: Translate,
  work: () => Promise<ReplyPayload | string>,
): Promise<void> {
  try {
    const result = await work();
    await interaction.editReply(typeof result === 'string' ? { content: result, embeds: [], files: [], components: [] } : result);
  } catch (error) {
    context.log.warn({ guildId: interaction.guildId, channelId: interaction.channelId, memberId: interaction.user.id, err: error }, 'interaction failed');
    await interaction.editReply({ content: describeForUser(error, t), embeds: [], files: [], components: [] });
  }
}
