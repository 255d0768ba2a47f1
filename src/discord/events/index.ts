/** Every event module of the bot. One file per feature and event. */
import type { ClientEvents } from 'discord.js';
import channelDelete from './deletions/channelDelete.ts';
import guildDelete from './deletions/guildDelete.ts';
import messageDelete from './deletions/messageDelete.ts';
import messageDeleteBulk from './deletions/messageDeleteBulk.ts';
import threadDelete from './deletions/threadDelete.ts';
import type { BotEvent } from './event.ts';
import messageCreate from './indexing/messageCreate.ts';
import messageUpdate from './indexing/messageUpdate.ts';
import interactionCreate from './interactions/interactionCreate.ts';
import clientReady from './lifecycle/clientReady.ts';
import messageReactionAdd from './similar/messageReactionAdd.ts';

export const EVENTS = [
  messageCreate,
  messageUpdate,
  messageDelete,
  messageDeleteBulk,
  channelDelete,
  threadDelete,
  guildDelete,
  messageReactionAdd,
  interactionCreate,
  clientReady,
] as unknown as ReadonlyArray<BotEvent<keyof ClientEvents>>;
