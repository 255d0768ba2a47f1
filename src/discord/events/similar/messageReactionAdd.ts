import { Events, userMention } from 'discord.js';
import { translatorFor } from '../../locale.ts';
import { answerSimilar, DEFAULT_COUNT } from '../../similar-search.ts';
import { defineEvent } from '../event.ts';
import { imagesOfMessage } from '../../images.ts';

/**
 * The reply is public (in the channel), so results are limited to what the channel's audience can see.
 * Every reaction on the server arrives here, most of them on messages the bot has not cached: the emoji,
 * guild and user id come with the event, so anything but the search emoji is dropped before any REST call.
 */
export default defineEvent({
  name: 'Answer the search reaction with similar images',
  event: Events.MessageReactionAdd,
  async execute(context, partialReaction, partialUser) {
    const guildId = partialReaction.message.guildId;
    if (guildId === null || partialUser.bot === true) return;
    const settings = await context.services.settings.get(guildId);
    const emoji = partialReaction.emoji.id ?? partialReaction.emoji.name;
    if (emoji !== settings.reactionEmoji) return;
    const user = partialUser.partial ? await partialUser.fetch() : partialUser;
    if (user.bot) return;
    const message = partialReaction.message.partial ? await partialReaction.message.fetch() : partialReaction.message;
    if (!message.inGuild()) return;
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
      header: t('similar.reactionHeader', { user: userMention(user.id) }),
    });
    await message.reply({ ...payload, allowedMentions: { users: [user.id], repliedUser: false } });
    context.log.info(log, 'reaction search answered');
  },
});
