import { Events } from 'discord.js';
import { translatorFor } from '../../locale.ts';
import { answerSimilar } from '../../similar-search.ts';
import { defineEvent } from '../event.ts';
import { DEFAULT_COUNT } from '../../../../commands/similar.ts';
import { imagesOfMessage } from '../../images.ts';

/** The reply is public (in the channel), so results are limited to what the channel's audience can see. */
export default defineEvent({
  name: 'Answer the search reaction with similar images',
  event: Events.MessageReactionAdd,
  async execute(context, partialReaction, partialUser) {
    const user = partialUser.partial ? await partialUser.fetch() : partialUser;
    const reaction = partialReaction.partial ? await partialReaction.fetch() : partialReaction;
    const message = reaction.message.partial ? await reaction.message.fetch() : reaction.message;
    if (!message.inGuild() || user.bot) return;
    const settings = await context.services.settings.get(message.guildId);
    const emoji = reaction.emoji.id ?? reaction.emoji.name;
    if (emoji !== settings.reactionEmoji) return;
    if (imagesOfMessage(message).length === 0) return;
    const log = { guildId: message.guildId, channelId: message.channelId, messageId: message.id, memberId: user.id };
    const cooldownKey = `${message.guildId}:${user.id}`;
    if (!context.services.reactionCooldowns.tryAcquire(cooldownKey)) {
      context.log.debug({ ...log, remainingMs: context.services.reactionCooldowns.remainingMs(cooldownKey) }, 'reaction search cooling down');
      return;
    }
    const member = await message.guild.members.fetch(user.id);
    const t = translatorFor(settings, null, message.guild.preferredLocale);
    const payload = await answerSimilar(context, {
      guild: message.guild,
      asker: member,
      replyChannel: message.channel,
      ephemeral: false,
      k: DEFAULT_COUNT,
      input: { kind: 'message', message },
      t,
      header: t('similar.reactionHeader', { user: `<@${user.id}>` }),
    });
    await message.reply({ ...payload, allowedMentions: { users: [user.id], repliedUser: false } });
    context.log.info(log, 'reaction search answered');
  },
});
