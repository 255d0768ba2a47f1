import { Events } from 'discord.js';
import { historyFetchers } from '../../backfill.ts';
import { catchUpGuild } from '../../catch-up.ts';
import { queueResignJobs } from '../../resign.ts';
import { defineEvent } from '../event.ts';

/**
 * Once logged in: start taking channel jobs (backfills, re-embeddings) from the queue — any shard runs any
 * guild's job, reading history over REST — then catch up on messages posted while the bot was offline in
 * this shard's guilds, one guild after another (../../catch-up.ts). Channels holding images with an older
 * duplicate signature get a re-signing job first (it runs alongside).
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
    // Images signed by an older signature format get a new one in the background (src/services/resign.ts);
    // finding them reads every record once, so it runs alongside the catch-up below.
    const resignQueued = queueResignJobs(context, client);
    for (const guild of client.guilds.cache.values()) await catchUpGuild(context, guild);
    await resignQueued;
  },
});
