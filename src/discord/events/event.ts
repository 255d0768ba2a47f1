/** Shape of an event module: a human name, the discord.js event, and a handler that never throws. */
import type { Client, ClientEvents } from 'discord.js';
import type { BotContext } from '../context.ts';

export interface BotEvent<E extends keyof ClientEvents = keyof ClientEvents> {
  name: string;
  event: E;
  once?: boolean;
  execute(context: BotContext, ...args: ClientEvents[E]): Promise<void>;
}

/** Identity with inference, so each module gets its event's argument types. */
export function defineEvent<E extends keyof ClientEvents>(event: BotEvent<E>): BotEvent<E> {
  return event;
}

/**
 * Subscribes every module. A failing handler is logged with its event name and never reaches
 * discord.js (which would otherwise emit an unhandled rejection and kill the process).
 */
export function registerEvents(client: Client, context: BotContext, events: ReadonlyArray<BotEvent<keyof ClientEvents>>, tracker?: Set<Promise<void>>): void {
  for (const module of events) {
    const listener = (...args: unknown[]) => {
      const run = (module.execute as (context: BotContext, ...rest: unknown[]) => Promise<void>)(context, ...args)
        .catch((error: unknown) => context.log.error({ event: module.event, handler: module.name, err: error }, 'event handler failed'))
        .finally(() => tracker?.delete(run));
      tracker?.add(run);
    };
    if (module.once) client.once(module.event, listener);
    else client.on(module.event, listener);
  }
}
