/**
 * `/dejavu forget-me`, `/dejavu forget member:` and `/dejavu remember-me`: members take their images out of
 * this server's index and keep new ones out, until they ask to be remembered. Any member may forget or
 * remember themselves; forgetting someone else needs Manage Server. The work is the services' (the
 * indexer forgets under the guild's lock, the store compacts its files); this is the Discord side.
 */
import { ApplicationCommandOptionType, MessageFlags, type ChatInputCommandInteraction } from 'discord.js';
import type { BotContext } from './context.ts';
import type { Translate } from './i18n.ts';
import { finishDeferred } from './interactions.ts';
import type { SubcommandCall, SubcommandTable } from './options.ts';
import { canManageGuild } from './permissions.ts';

/**
 * The privacy subcommands of `/dejavu` (commands/dejavu.ts adds them to its table); `forget-me` and
 * `remember-me` are open to every member.
 */
export const PRIVACY_SUBCOMMANDS = {
  'forget-me': {},
  forget: { member: { type: ApplicationCommandOptionType.User, required: true } },
  'remember-me': {},
} as const satisfies SubcommandTable;
export type PrivacyCall = SubcommandCall<typeof PRIVACY_SUBCOMMANDS>;

/** Whether `call` is one of the privacy subcommands (narrowing it to them). */
export function isPrivacyCall<Call extends { name: string }>(call: Call): call is Extract<Call, { name: PrivacyCall['name'] }> {
  return Object.hasOwn(PRIVACY_SUBCOMMANDS, call.name);
}

/** Runs a privacy subcommand: an ephemeral answer with how many images were removed. */
export async function executePrivacy(interaction: ChatInputCommandInteraction<'cached'>, context: BotContext, call: PrivacyCall, t: Translate): Promise<void> {
  if (call.name === 'forget' && !canManageGuild(interaction.member, interaction.memberPermissions)) {
    await interaction.reply({ content: t('errors.manageGuild'), flags: MessageFlags.Ephemeral });
    return;
  }
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  await finishDeferred(interaction, context, t, async () => {
    const { guildId, user } = interaction;
    if (call.name === 'remember-me') {
      const wasForgotten = await context.services.rememberMember(guildId, user.id);
      context.log.info({ guildId, memberId: user.id, wasForgotten }, 'member asked to be indexed again');
      return t(wasForgotten ? 'privacy.remembered' : 'privacy.notForgotten');
    }
    const targetId = call.name === 'forget' ? call.options.member : user.id;
    const removed = await context.services.forgetMember(guildId, targetId, user.id);
    context.log.info({ guildId, memberId: targetId, byMemberId: user.id, removed }, 'member forgotten');
    return targetId === user.id ? t('privacy.forgotten', { count: removed }) : t('privacy.forgottenOther', { count: removed, member: `<@${targetId}>` });
  });
}
