/**
 * Structured logging (pino). Logs go to stderr so that CLI stdout stays machine-readable: JSON lines when
 * stderr is a file or a pipe (collectors parse them), human-readable lines (pino-pretty) when a person
 * watches it in a terminal. Both are written synchronously, so a fatal line is out before the process exits.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export type LogFormat = 'pretty' | 'json';

/** Pretty only for a terminal: whatever reads a file or a pipe wants one JSON object per line. */
export function logFormatFor(stream: { isTTY?: boolean }): LogFormat {
  return stream.isTTY === true ? 'pretty' : 'json';
}

function destination(format: LogFormat): DestinationStream {
  if (format === 'json') return pino.destination({ fd: 2, sync: true });
  return pretty({ destination: 2, sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,app' });
}

export const logger: Logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { app: 'dejavu' } }, destination(logFormatFor(process.stderr)));

export function childLogger(module: string, fields: Record<string, unknown> = {}): Logger {
  return logger.child({ module, ...fields });
}
