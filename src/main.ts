/**
 * `npm start`: the bot in one process (in-process embedding, local indexes, SQLite metadata by default).
 * SIGTERM/SIGINT stop it gracefully: disconnect, finish running work, flush indexes, exit.
 */
import { getConfig } from './config.ts';
import { startBot } from './discord/bot.ts';
import { childLogger } from './logger.ts';
import { exitOnStartupError } from './startup-error.ts';

const log = childLogger('main');

async function main(): Promise<void> {
  const bot = await startBot(getConfig());
  let signals = 0;
  const shutdown = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(130);
    }
    log.info({ signal }, 'shutting down');
    bot.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error: unknown) => exitOnStartupError(error, log));
