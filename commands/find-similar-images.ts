/** Message context menu "Find similar images": the same search as /similar, on the target message. */
import {
  ApplicationCommandType,
  ApplicationIntegrationType,
  ContextMenuCommandBuilder,
  InteractionContextType,
  MessageFlags,
  type MessageContextMenuCommandInteraction,
} from 'discord.js';
import type { BotContext } from '../src/discord/context.ts';
import { localizations, translate } from '../src/discord/i18n.ts';
import { finishDeferred, interactionScope } from '../src/discord/interactions.ts';
import { answerSimilar, DEFAULT_COUNT } from '../src/discord/similar-search.ts';

export const data = new ContextMenuCommandBuilder()
  .setName(translate('en')('commands.findSimilarImages.name'))
  .setNameLocalizations(localizations('commands.findSimilarImages.name'))
  .setType(ApplicationCommandType.Message)
  .setContexts(InteractionContextType.Guild)
  .setIntegrationTypes(ApplicationIntegrationType.GuildInstall);

export async function execute(interaction: MessageContextMenuCommandInteraction, context: BotContext): Promise<void> {
  const scope = await interactionScope(interaction, context);
  if (!scope) return;
  const { guild, member, channel, settings, t } = scope;
  await interaction.deferReply(settings.ephemeralReplies ? { flags: MessageFlags.Ephemeral } : {});
  await finishDeferred(interaction, context, t, () =>
    answerSimilar(context, {
      guild,
      asker: member,
      replyChannel: channel,
      ephemeral: settings.ephemeralReplies,
      k: DEFAULT_COUNT,
      input: { kind: 'message', message: interaction.targetMessage },
      t,
    }),
  );
}
