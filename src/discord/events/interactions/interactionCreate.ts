import { Events, MessageFlags, type ButtonInteraction } from 'discord.js';
import { findCommand } from '../../commands.ts';
import type { BotContext } from '../../context.ts';
import { describeForUser } from '../../errors.ts';
import { translatorFor } from '../../locale.ts';
import { parsePageButtonId } from '../../replies/similar.ts';
import { handleNotARepost } from '../../reports.ts';
import { answerPage } from '../../similar-search.ts';
import { RecentIds } from '../../once.ts';
import { defineEvent } from '../event.ts';

/** "Previous"/"Next" on a similarity answer: only the asker may page; the asker's permissions are re-checked. */
async function turnPage(interaction: ButtonInteraction, context: BotContext): Promise<void> {
  const parsed = parsePageButtonId(interaction.customId);
  if (!parsed || !interaction.inCachedGuild()) return;
  const settings = await context.services.settings.get(interaction.guildId);
  const t = translatorFor(settings, interaction.locale, interaction.guildLocale);
  const session = context.sessions.get(parsed.sessionId);
  if (!session || session.guildId !== interaction.guildId) {
    await interaction.reply({ content: t('similar.expired'), flags: MessageFlags.Ephemeral });
    return;
  }
  if (session.askerId !== interaction.user.id) {
    await interaction.reply({ content: t('similar.notYours'), flags: MessageFlags.Ephemeral });
    return;
  }
  await interaction.deferUpdate();
  try {
    const payload = await answerPage(context, interaction.guild, interaction.member, session, parsed.sessionId, parsed.page, t);
    await interaction.editReply({ content: payload.content ?? null, embeds: payload.embeds, files: payload.files, components: payload.components, attachments: [] });
  } catch (error) {
    context.log.warn({ guildId: interaction.guildId, memberId: interaction.user.id, err: error }, 'page turn failed');
    await interaction.followUp({ content: describeForUser(error, t), flags: MessageFlags.Ephemeral });
  }
}

/**
 * Interactions already routed. A gateway RESUME can replay an INTERACTION_CREATE the bot already handled;
 * answering it twice fails with "already acknowledged" and would turn a good answer into an error.
 */
const seen = new RecentIds(10_000);

export default defineEvent({
  name: 'Route commands and buttons',
  event: Events.InteractionCreate,
  async execute(context, interaction) {
    const fields = { guildId: interaction.guildId, channelId: interaction.channelId, memberId: interaction.user.id, interactionId: interaction.id };
    if (!seen.firstSighting(interaction.id)) {
      context.log.warn(fields, 'interaction delivered twice: ignored');
      return;
    }
    try {
      if (interaction.isButton()) {
        if (await handleNotARepost(interaction, context)) return;
        await turnPage(interaction, context);
        return;
      }
      if (!interaction.isChatInputCommand() && !interaction.isMessageContextMenuCommand()) return;
      const command = findCommand(interaction.commandName);
      if (!command) {
        context.log.warn({ ...fields, command: interaction.commandName }, 'unknown command');
        return;
      }
      context.log.debug({ ...fields, command: interaction.commandName }, 'command');
      if (command.kind === 'chat-input' && interaction.isChatInputCommand()) await command.execute(interaction, context);
      else if (command.kind === 'message-context' && interaction.isMessageContextMenuCommand()) await command.execute(interaction, context);
    } catch (error) {
      context.log.error({ ...fields, err: error }, 'interaction failed');
      if (!interaction.isRepliable()) return;
      // In the member's language; the guild's settings only if they can still be read.
      const settings = interaction.guildId === null ? null : await context.services.settings.get(interaction.guildId).catch(() => null);
      const content = describeForUser(error, translatorFor(settings, interaction.locale, interaction.guildLocale));
      const answer = interaction.deferred || interaction.replied ? interaction.followUp({ content, flags: MessageFlags.Ephemeral }) : interaction.reply({ content, flags: MessageFlags.Ephemeral });
      await answer.catch(() => undefined);
    }
  },
});
