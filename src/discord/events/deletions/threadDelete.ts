import { Events } from 'discord.js';
import { defineEvent } from '../event.ts';

export default defineEvent({
  name: 'Forget the images of deleted threads',
  event: Events.ThreadDelete,
  async execute(context, thread) {
    const removed = await context.services.removeChannel(thread.guildId, thread.id);
    context.log.info({ guildId: thread.guildId, channelId: thread.id, removed }, 'deleted thread forgotten');
  },
});
