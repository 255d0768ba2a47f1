import { Events } from 'discord.js';
import { isDejavuError } from '../../../errors.ts';
import { crawlableChannels, historyFetcher, historyFetchers } from '../../backfill.ts';
import { defineEvent } from '../event.ts';

/**
 * Once logged in: start taking channel jobs (backfills, re-embeddings) from the queue — any shard runs any
 * guild's job, reading history over REST — then catch up on messages posted while the bot was offline, for
 * every channel of this shard's guilds whose newest message the bot remembers (backfilled or live). Channels run one after
 * another so a restart does not flood Discord's REST limits; a channel another process is crawling right
 * now (its lock is taken) is left to it.
 */
export default defineEvent({
  name: 'Start the job worker and catch up on messages posted while offline',
  event: Events.ClientReady,
  once: true,
  async execute(context, client) {
    const shards = client.shard?.ids ?? [0];
    try {
      await context.services.jobs.start(historyFetchers(client), `shard ${shards.join(',')} pid ${process.pid}`);
    } catch (error) {
      context.log.error({ err: error }, 'job worker did not start; queued backfills wait for another process');
    }
    for (const guild of client.guilds.cache.values()) {
      const fetchPage = historyFetcher(guild);
      const readable = crawlableChannels(guild).map((channel) => channel.id);
      for (const channelId of await context.services.backfill.knownChannels(guild.id, readable)) {
        if (!guild.channels.cache.has(channelId)) continue;
        try {
          const progress = await context.services.backfill.catchUp({ guildId: guild.id, channelId, fetchPage });
          if (progress.scanned > 0) context.log.info({ guildId: guild.id, channelId, scanned: progress.scanned, indexed: progress.indexed }, 'caught up');
        } catch (error) {
          if (isDejavuError(error) && error.code === 'LOCKED') context.log.info({ guildId: guild.id, channelId }, 'catch-up skipped: another process is crawling the channel');
          else context.log.warn({ guildId: guild.id, channelId, err: error }, 'catch-up failed');
        }
      }
    }
  },
});
