import { Events } from 'discord.js';
import { imagesOfMessage } from '../../images.ts';
import { indexLiveMessage, shouldIndex } from '../../indexing.ts';
import { defineEvent } from '../event.ts';

/**
 * Two kinds of edits matter: Discord unfurling an image link after the fact (new embeds → index them,
 * with a duplicate notice if due), and an author removing attachments (→ forget the removed images).
 */
export default defineEvent({
  name: 'Index images added by edits, forget images removed by edits',
  event: Events.MessageUpdate,
  async execute(context, oldMessage, newMessage) {
    if (!newMessage.guildId) return;
    const message = newMessage.partial ? await newMessage.fetch().catch(() => null) : newMessage;
    if (!message?.inGuild()) return;
    const current = new Set(imagesOfMessage(message).map((image) => image.source.sourceKey));
    // An uncached old message (older than the last restart) has unknown images: removals on it are caught
    // later, when a search re-fetches the message and finds the image gone (see similar-search.ts).
    const previous = oldMessage.partial ? [] : imagesOfMessage(oldMessage as typeof message).map((image) => image.source.sourceKey);
    const removed = previous.filter((key) => !current.has(key));
    if (removed.length > 0) {
      // The store removes per message: drop all of it, then the images still present are indexed again
      // (cheap: their bytes hash to existing content and skip embedding).
      await context.services.removeMessages(message.guildId, [message.id]);
      context.log.info({ guildId: message.guildId, channelId: message.channelId, messageId: message.id, removed: removed.length }, 'images removed by an edit');
    }
    const settings = await context.services.settings.get(message.guildId);
    if (current.size === 0 || !shouldIndex(message, settings, context.client.user?.id ?? '')) return;
    await indexLiveMessage(context, message, settings);
  },
});
