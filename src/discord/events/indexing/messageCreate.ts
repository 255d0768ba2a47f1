import { Events } from 'discord.js';
import { indexLiveMessage, shouldIndex } from '../../indexing.ts';
import { defineEvent } from '../event.ts';

export default defineEvent({
  name: 'Index the images of new messages',
  event: Events.MessageCreate,
  async execute(context, message) {
    if (!message.inGuild()) return;
    const settings = await context.services.settings.get(message.guildId);
    if (!shouldIndex(message, settings, context.client.user?.id ?? '')) {
      context.services.backfill.markSeen(message.guildId, message.channelId, message.id);
      return;
    }
    await indexLiveMessage(context, message, settings);
  },
});
