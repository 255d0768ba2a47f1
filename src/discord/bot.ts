/**
 * `startBot(config)`: services + client + events, logged in and ready. Used by src/main.ts, the shard
 * entry, the end-to-end tests and the bot benchmark; `stop()` shuts down in order and flushes indexes.
 */
import { Events, type Client } from 'discord.js';
import type { Config } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { childLogger } from '../logger.ts';
import { createServices, type AppServices, type ServiceOverrides } from '../services/context.ts';
import { createDiscordClient } from './client.ts';
import type { BotContext } from './context.ts';
import { EVENTS } from './events/index.ts';
import { registerEvents } from './events/event.ts';
import { SimilarSessions } from './sessions.ts';

/** How long shutdown waits for running event handlers, before and after the services close. */
const HANDLER_GRACE_MS = 10_000;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export interface BotHandle {
  client: Client;
  /** The whole set, for the tests and the benchmark; the Discord layer itself sees only `Services`. */
  services: AppServices;
  /** Resolves when every event handler started so far has finished (tests use it to wait for quiet). */
  settle(): Promise<void>;
  /** Disconnects, lets running handlers finish, drains the queue and flushes the store. Idempotent. */
  stop(): Promise<void>;
}

export interface StartBotOptions {
  /** Already created services (the benchmark reuses one set); default: `createServices(config)`. */
  services?: AppServices;
  /** Parts handed to `createServices` (e.g. one embedder shared across restarts in tests). */
  overrides?: ServiceOverrides;
  /** How long to wait for READY and every guild. */
  readyTimeoutMs?: number;
}

export async function startBot(config: Config, options: StartBotOptions = {}): Promise<BotHandle> {
  if (!config.DISCORD_TOKEN) throw new ConfigError('DISCORD_TOKEN is not set: put your bot token in .env (copy .env.example) or the environment');
  const log = childLogger('discord');
  const services = options.services ?? (await createServices(config, options.overrides));
  const client = createDiscordClient({ apiUrl: config.DISCORD_API_URL });
  const context: BotContext = { client, services, sessions: new SimilarSessions(), log };
  const running = new Set<Promise<void>>();
  registerEvents(client, context, EVENTS, running);
  client.on(Events.Error, (error) => log.error({ err: error }, 'client error'));
  client.on(Events.Warn, (message) => log.warn({ message }, 'client warning'));
  client.on(Events.ShardDisconnect, (event, shardId) => log.warn({ shardId, code: event.code }, 'shard disconnected'));

  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('Discord READY timed out')), options.readyTimeoutMs ?? 30_000);
    client.once(Events.ClientReady, () => {
      clearTimeout(timer);
      resolve();
    });
  });
  try {
    await client.login(config.DISCORD_TOKEN);
    await ready;
  } catch (error) {
    await client.destroy();
    if (!options.services) await services.close();
    throw error;
  }
  log.info({ user: client.user?.tag, guilds: client.guilds.cache.size }, 'bot ready');

  const settle = async () => {
    while (running.size > 0) await Promise.allSettled([...running]);
  };
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info('stopping');
      // Take no new events, but keep the REST client: running handlers may still need to post their
      // notice or answer. Messages that arrive from now on are picked up by the catch-up at next start.
      for (const event of EVENTS) client.removeAllListeners(event.event);
      // A running /dejavu backfill only ends when the services stop it: give ordinary handlers a moment,
      // then close the services (which stops crawls, keeping their cursors) and wait for the rest.
      await Promise.race([settle(), delay(HANDLER_GRACE_MS)]);
      if (!options.services) await services.close();
      await Promise.race([settle(), delay(HANDLER_GRACE_MS)]);
      await client.destroy();
      log.info('stopped');
    })());
  return { client, services, settle, stop };
}
