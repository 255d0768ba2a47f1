import { Events } from 'discord.js';
import { defineEvent } from '../event.ts';

/** GUILD_DELETE also fires for an outage (`available: false`); only leaving the guild forgets it. */
export default defineEvent({
  name: 'Forget a guild the bot left',
  event: Events.GuildDelete,
  async execute(context, guild) {
    if (!guild.available) {
      context.log.warn({ guildId: guild.id }, 'guild unavailable (outage): index kept');
      return;
    }
    const removed = await context.services.removeGuild(guild.id);
    context.log.info({ guildId: guild.id, removed }, 'left guild forgotten');
  },
});
