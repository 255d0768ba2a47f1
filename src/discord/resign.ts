/**
 * At startup: a `resign` job for every channel of this shard's guilds that still holds images signed by an
 * older duplicate-signature format. The job queue deduplicates a channel's pending job, so several shards or
 * restarts queue it once; until it has run, those images keep their old signature and decision.
 */
import type { Client } from 'discord.js';
import type { BotContext } from './context.ts';

export async function queueResignJobs(context: BotContext, client: Client): Promise<number> {
  let queued = 0;
  for (const guild of client.guilds.cache.values()) {
    try {
      const channels = await context.services.resign.staleChannels(guild.id);
      // Not only cached channels: archived threads are fetched by the job (a channel gone for good ends it at once).
      for (const channelId of channels) {
        await context.services.jobs.enqueue({ kind: 'resign', guildId: guild.id, channelId });
        queued += 1;
      }
      if (channels.length > 0) context.log.info({ guildId: guild.id, channels: channels.length }, 're-signing jobs queued for images with an older signature');
    } catch (error) {
      context.log.warn({ guildId: guild.id, err: error }, 'queueing re-signing jobs failed; the next start tries again');
    }
  }
  return queued;
}
