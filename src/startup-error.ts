/**
 * How the bot's entry points (`npm start`, `npm run start:sharded`) report the error that stopped them.
 * A configuration error is the person's to fix, so it is one plain line saying what to do, without a stack
 * trace; anything else is a bug or an outage and is logged in full.
 */
import { ConfigError, describeError } from './errors.ts';
import type { Logger } from './logger.ts';

/** The line printed for a configuration error. */
export function configErrorLine(error: ConfigError): string {
  const hint = error.message.includes('.env') ? '' : ' (set it in .env or the environment; .env.example describes every variable)';
  return `dejavu: ${error.message}${hint}`;
}

export function exitOnStartupError(error: unknown, log: Logger): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`${configErrorLine(error)}\n`);
    process.exit(1);
  }
  log.fatal({ err: error }, describeError(error));
  process.exit(1);
}
