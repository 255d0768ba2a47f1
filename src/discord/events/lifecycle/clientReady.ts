import { Events } from 'discord.js';
import { historyFetcher } from '../../backfill.ts';
import { defineEvent } from '../event.ts';

/**
 * Startup catch-up: for every channel whose newest message the bot remembers, index what was posted while
 * it was offline. Channels run one after another so a restart does not flood Discord's REST limits.
 */
export default defineEvent({
  name: 'Catch up on messages posted while offline',
  event: Events.ClientReady,
  once: true,
  async execute(context, client) {
    for (const guild of client.guilds.cache.values()) {
      const fetchPage = historyFetcher(guild);
      for (const channelId of await context.services.backfill.knownChannels(guild.id)) {
        if (!guild.channels.cache.has(channelId)) continue;
        try {
          const progress = await context.services.backfill.catchUp({ guildId: guild.id, channelId, fetchPage });
          if (progress.scanned > 0) context.log.info({ guildId: guild.id, channelId, scanned: progress.scanned, indexed: progress.indexed }, 'caught up');
        } catch (error) {
          context.log.warn({ guildId: guild.id, channelId, err: error }, 'catch-up failed');
        }
      }
    }
  },
});
