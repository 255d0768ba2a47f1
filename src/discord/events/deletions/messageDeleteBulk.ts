import { Events } from 'discord.js';
import { defineEvent } from '../event.ts';

export default defineEvent({
  name: 'Forget the images of bulk-deleted messages',
  event: Events.MessageBulkDelete,
  async execute(context, messages, channel) {
    if (channel.isDMBased()) return;
    const removed = await context.services.removeMessages(channel.guildId, [...messages.keys()]);
    context.log.info({ guildId: channel.guildId, channelId: channel.id, messages: messages.size, removed }, 'bulk-deleted messages forgotten');
  },
});
