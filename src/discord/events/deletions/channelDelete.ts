import { Events } from 'discord.js';
import { defineEvent } from '../event.ts';

/** A deleted channel takes its threads with it; cached threads are forgotten as well. */
export default defineEvent({
  name: 'Forget the images of deleted channels',
  event: Events.ChannelDelete,
  async execute(context, channel) {
    if (channel.isDMBased()) return;
    const threads = channel.guild.channels.cache.filter((candidate) => candidate.isThread() && candidate.parentId === channel.id);
    let removed = await context.services.removeChannel(channel.guildId, channel.id);
    for (const thread of threads.values()) removed += await context.services.removeChannel(channel.guildId, thread.id);
    context.log.info({ guildId: channel.guildId, channelId: channel.id, threads: threads.size, removed }, 'deleted channel forgotten');
  },
});
