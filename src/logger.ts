/** Structured logging (pino). Logs go to stderr so that CLI stdout stays machine-readable. */
import { pino, type Logger } from 'pino';

export type { Logger };

export const logger: Logger = pino(
  { level: process.env.LOG_LEVEL ?? 'info', base: { app: 'dejavu' } },
  pino.destination({ fd: 2, sync: true }),
);

export function childLogger(module: string, fields: Record<string, unknown> = {}): Logger {
  return logger.child({ module, ...fields });
}
