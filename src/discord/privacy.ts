/**
 * `/dejavu forget-me`, `/dejavu forget member:` and `/dejavu remember-me`: members take their images out of
 * this server's index and keep new ones out, until they ask to be remembered. Any member may forget or
 * remember themselves; forgetting someone else needs Manage Server. The work is the services' (the
 * indexer forgets under the guild's lock, the store compacts its files); this is the Discord side.
 */
import { MessageFlags, type ChatInputCommandInteraction, type SlashCommandSubcommandsOnlyBuilder } from 'discord.js';
import type { BotContext } from './context.ts';
import { localizations, translate, type Translate } from './i18n.ts';
import { finishDeferred } from './interactions.ts';
import { canManageGuild } from './permissions.ts';

const en = translate('en');
const key = (path: string): string => `commands.dejavu.${path}`;

/** The privacy subcommands; `forget-me` and `remember-me` are open to every member. */
export const PRIVACY_SUBCOMMANDS = ['forget-me', 'forget', 'remember-me'] as const;
export type PrivacySubcommand = (typeof PRIVACY_SUBCOMMANDS)[number];

export function isPrivacySubcommand(name: string): name is PrivacySubcommand {
  return (PRIVACY_SUBCOMMANDS as readonly string[]).includes(name);
}

/** Adds the three subcommands to `/dejavu`, with English names and Japanese localisations. */
export function addPrivacySubcommands(builder: SlashCommandSubcommandsOnlyBuilder): SlashCommandSubcommandsOnlyBuilder {
  const named = <T extends { setName(name: string): T; setNameLocalizations(map: ReturnType<typeof localizations>): T; setDescription(text: string): T; setDescriptionLocalizations(map: ReturnType<typeof localizations>): T }>(
    item: T,
    path: string,
  ): T =>
    item
      .setName(en(`${path}.name`))
      .setNameLocalizations(localizations(`${path}.name`))
      .setDescription(en(`${path}.description`))
      .setDescriptionLocalizations(localizations(`${path}.description`));
  return builder
    .addSubcommand((sub) => named(sub, key('forget-me')))
    .addSubcommand((sub) => named(sub, key('forget')).addUserOption((option) => named(option, key('forget.options.member')).setRequired(true)))
    .addSubcommand((sub) => named(sub, key('remember-me')));
}

/** Runs a privacy subcommand: an ephemeral answer with how many images were removed. */
export async function executePrivacy(interaction: ChatInputCommandInteraction<'cached'>, context: BotContext, subcommand: PrivacySubcommand, t: Translate): Promise<void> {
  if (subcommand === 'forget' && !canManageGuild(interaction.member, interaction.memberPermissions)) {
    await interaction.reply({ content: t('errors.manageGuild'), flags: MessageFlags.Ephemeral });
    return;
  }
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  await finishDeferred(interaction, context, t, async () => {
    const { guildId, user } = interaction;
    if (subcommand === 'remember-me') {
      const wasForgotten = await context.services.rememberMember(guildId, user.id);
      context.log.info({ guildId, memberId: user.id, wasForgotten }, 'member asked to be indexed again');
      return t(wasForgotten ? 'privacy.remembered' : 'privacy.notForgotten');
    }
    const target = subcommand === 'forget' ? interaction.options.getUser('member', true) : user;
    const removed = await context.services.forgetMember(guildId, target.id, user.id);
    context.log.info({ guildId, memberId: target.id, byMemberId: user.id, removed }, 'member forgotten');
    return target.id === user.id ? t('privacy.forgotten', { count: removed }) : t('privacy.forgottenOther', { count: removed, member: `<@${target.id}>` });
  });
}
