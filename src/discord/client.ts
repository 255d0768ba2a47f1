/** The discord.js client the bot runs on: the intents and partials it needs, and the REST base from config. */
import { Client, GatewayIntentBits, Options, Partials } from 'discord.js';

export interface ClientOptions {
  /** REST base (`DISCORD_API_URL`): Discord's own, or the fake server in tests. */
  apiUrl: string;
}

export const INTENTS = [
  GatewayIntentBits.Guilds,
  GatewayIntentBits.GuildMessages,
  // Privileged: without it messages from others arrive with no attachments and no embeds.
  GatewayIntentBits.MessageContent,
  GatewayIntentBits.GuildMessageReactions,
] as const;

/** Deletes, edits and reactions on messages sent before the last restart arrive only as partials. */
export const PARTIALS = [Partials.Message, Partials.Channel, Partials.Reaction, Partials.User, Partials.GuildMember, Partials.ThreadMember] as const;

export function createDiscordClient({ apiUrl }: ClientOptions): Client {
  return new Client({
    intents: [...INTENTS],
    partials: [...PARTIALS],
    rest: { api: apiUrl },
    // Images are indexed as they arrive; a small per-channel cache is enough for edits and reactions.
    makeCache: Options.cacheWithLimits({ ...Options.DefaultMakeCacheSettings, MessageManager: 100 }),
    allowedMentions: { parse: [], repliedUser: false },
  });
}
