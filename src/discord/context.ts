/** What every command, button and event handler receives. */
import type { Client } from 'discord.js';
import type { Logger } from '../logger.ts';
import type { Services } from '../services/context.ts';
import type { SimilarSessions } from './sessions.ts';

export interface BotContext {
  client: Client;
  services: Services;
  sessions: SimilarSessions;
  log: Logger;
}
