/**
 * Typed errors. Expected failures (a corrupt image, a host that is not allowed) carry a stable
 * `code` that the CLI prints and the bot maps to a user-facing message, plus structured context for logs.
 */
export type ErrorCode =
  // image input
  | 'IMAGE_EMPTY'
  | 'IMAGE_TOO_LARGE'
  | 'IMAGE_TOO_MANY_PIXELS'
  | 'IMAGE_UNSUPPORTED'
  | 'IMAGE_CORRUPT'
  | 'IMAGE_DECODE_TIMEOUT'
  // model and embedding
  | 'MODEL_MISSING'
  | 'MODEL_CORRUPT'
  | 'BACKEND_UNAVAILABLE'
  | 'EMBEDDER_UNAVAILABLE'
  | 'EMBEDDER_REJECTED'
  // downloads
  | 'HOST_NOT_ALLOWED'
  | 'DOWNLOAD_FAILED'
  | 'DOWNLOAD_TIMEOUT'
  | 'DOWNLOAD_TOO_LARGE'
  // storage
  | 'INDEX_CORRUPT'
  | 'INDEX_VARIANT_MISMATCH'
  | 'STORE_FAILED'
  | 'QUEUE_FULL'
  // another process holds the lock of this work (src/services/locks.ts); it is retried later
  | 'LOCKED'
  // a durable job failed or was not found (src/services/jobs)
  | 'JOB_FAILED'
  | 'NOT_FOUND'
  | 'CONFIG_INVALID'
  | 'INVALID_INPUT';

export class DejavuError extends Error {
  override readonly name: string = 'DejavuError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly context: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** `CODE: message`, the form the CLI prints. */
  override toString(): string {
    return `${this.code}: ${this.message}`;
  }
}

export class ImageError extends DejavuError {
  override readonly name = 'ImageError';
}

export class ModelError extends DejavuError {
  override readonly name = 'ModelError';
}

export class DownloadError extends DejavuError {
  override readonly name = 'DownloadError';
}

/** A missing or invalid setting: the message names the variable and how to fix it. */
export class ConfigError extends DejavuError {
  override readonly name = 'ConfigError';

  constructor(message: string, context: Record<string, unknown> = {}) {
    super('CONFIG_INVALID', message, context);
  }
}

export class StoreError extends DejavuError {
  override readonly name = 'StoreError';
}

export function isDejavuError(error: unknown): error is DejavuError {
  return error instanceof DejavuError;
}

/** A one-line description of any thrown value, for logs and CLI output. */
export function describeError(error: unknown): string {
  if (error instanceof DejavuError) return error.toString();
  if (error instanceof Error) return `INTERNAL: ${error.message}`;
  return `INTERNAL: ${String(error)}`;
}
