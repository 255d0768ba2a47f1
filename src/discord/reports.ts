/**
 * The "Not a repost" button on a duplicate notice. The poster of the flagged message and moderators
 * (Manage Messages in that channel, or Manage Server) may press it: the notice is deleted, the pairs it
 * listed are never noticed again in this guild, and the report shows in `/dejavu stats` and `/dejavu reports`.
 */
import { MessageFlags, PermissionFlagsBits, type ButtonInteraction, type GuildMember, type PermissionsBitField } from 'discord.js';
import type { BotContext } from './context.ts';
import { translatorFor } from './locale.ts';
import { parseNotARepostButtonId } from './replies/duplicate.ts';

/** Moderators, for reports: may manage messages where the notice is, or manage the server. */
export function isModerator(member: GuildMember, permissions: Readonly<PermissionsBitField> | null): boolean {
  const bits = permissions ?? member.permissions;
  return bits.has(PermissionFlagsBits.ManageMessages, true) || bits.has(PermissionFlagsBits.ManageGuild, true);
}

/** Handles the button if it is a "Not a repost" one; false for any other button. */
export async function handleNotARepost(interaction: ButtonInteraction, context: BotContext): Promise<boolean> {
  const messageId = parseNotARepostButtonId(interaction.customId);
  if (messageId === null) return false;
  if (!interaction.inCachedGuild()) return true;
  const guildId = interaction.guildId;
  const settings = await context.services.settings.get(guildId);
  const t = translatorFor(settings, interaction.locale, interaction.guildLocale);
  const fields = { guildId, channelId: interaction.channelId, messageId, memberId: interaction.user.id, noticeMessageId: interaction.message.id };
  const notice = await context.services.reports.notice(guildId, messageId);
  if (notice === undefined || notice.noticeMessageId !== interaction.message.id) {
    context.log.info(fields, 'not-a-repost button on a notice that can no longer be reported');
    await interaction.reply({ content: t('reports.expired'), flags: MessageFlags.Ephemeral });
    return true;
  }
  const poster = notice.posterId === interaction.user.id;
  if (!poster && !isModerator(interaction.member, interaction.memberPermissions)) {
    context.log.info(fields, 'not-a-repost refused: neither the poster nor a moderator');
    await interaction.reply({ content: t('reports.notAllowed'), flags: MessageFlags.Ephemeral });
    return true;
  }
  await interaction.deferUpdate();
  const report = await context.services.reports.report(notice, interaction.user.id);
  context.log.info({ ...fields, reportId: report.id, pairs: report.pairs.length, by: poster ? 'poster' : 'moderator' }, 'duplicate notice reported as not a repost');
  try {
    await interaction.message.delete();
  } catch (error) {
    context.log.warn({ ...fields, err: error }, 'reported notice could not be deleted');
  }
  await interaction.followUp({ content: t('reports.thanks'), flags: MessageFlags.Ephemeral }).catch((error: unknown) => context.log.warn({ ...fields, err: error }, 'report confirmation failed'));
  return true;
}
