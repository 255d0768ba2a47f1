import { Events } from 'discord.js';
import { defineEvent } from '../event.ts';

/** Works for uncached messages too (Partials.Message): only ids are needed. */
export default defineEvent({
  name: 'Forget the images of deleted messages',
  event: Events.MessageDelete,
  async execute(context, message) {
    if (!message.guildId) return;
    const removed = await context.services.removeMessages(message.guildId, [message.id]);
    if (removed > 0) context.log.info({ guildId: message.guildId, channelId: message.channelId, messageId: message.id, removed }, 'deleted message forgotten');
  },
});
