/**
 * The one place where the environment is read. Every setting is validated once at start-up;
 * a bad value stops the process with a message naming the variable.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

const list = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter((item) => item.length > 0));

const optionalUrl = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const environmentSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  // Discord
  DISCORD_TOKEN: z.string().optional(),
  DISCORD_APPLICATION_ID: z.string().optional(),
  /** REST base handed to discord.js as `rest.api` (tests point it at the fake server). */
  DISCORD_API_URL: z.string().url().default('https://discord.com/api'),
  /** Guild to register commands in (instant); without it `deploy-commands` registers them globally. */
  DISCORD_DEV_GUILD_ID: z.string().optional(),
  /** Shards for `npm run start:sharded`: a number, or `auto` (Discord's recommendation). */
  DISCORD_SHARD_COUNT: z.union([z.literal('auto'), z.coerce.number().int().min(1)]).default('auto'),
  CDN_ALLOWED_HOSTS: list.default(['cdn.discordapp.com', 'media.discordapp.net']),

  // Storage
  DATA_DIR: z.string().default('data'),
  /** Empty: SQLite in DATA_DIR. `redis://…` or `postgresql://…` select keyv's official adapters. */
  KEYV_URL: optionalUrl,

  // Embedding
  /** A compatible TF.js graph model; default: the model fetched into DATA_DIR/models. */
  MODEL_DIR: z.string().optional(),
  /** Comma-separated URLs of `npm run embedder` hosts; empty: embed in-process. */
  EMBEDDER_URL: optionalUrl,
  EMBEDDER_TOKEN: z.string().optional(),
  /** `auto` picks tfjs-node-gpu, then tfjs-node, then the wasm worker pool. `cpu` is the slow pure-JS backend. */
  EMBEDDING_BACKEND: z.enum(['auto', 'gpu', 'node', 'wasm', 'cpu']).default('auto'),
  EMBEDDING_WORKERS: z.coerce.number().int().min(1).max(64).default(availableParallelism()),
  EMBEDDING_MAX_BATCH: z.coerce.number().int().min(1).max(256).default(16),
  EMBEDDING_BATCH_WAIT_MS: z.coerce.number().int().min(0).max(1000).default(4),

  // Image limits
  MAX_IMAGE_BYTES: z.coerce.number().int().positive().default(25 * 1024 * 1024),
  MAX_IMAGE_PIXELS: z.coerce.number().int().positive().default(50_000_000),
  DECODE_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  DOWNLOAD_TIMEOUT_MS: z.coerce.number().int().positive().default(15_000),

  // Indexing pipeline (src/services)
  /** Images downloaded/embedded at once; the embedder batches what arrives together. */
  INDEX_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  /** Images waiting in the work queue at most (references, not bytes); a full queue blocks producers. */
  INDEX_QUEUE_MAX: z.coerce.number().int().min(1).default(5000),
  /** Per-user cooldown of the reaction search. */
  REACTION_COOLDOWN_MS: z.coerce.number().int().min(0).default(10_000),
  /** On SIGTERM, queued images get this long to finish; the rest are saved and indexed at the next start. */
  SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).default(8000),

  // Embedder HTTP service
  EMBEDDER_HOST: z.string().default('127.0.0.1'),
  EMBEDDER_PORT: z.coerce.number().int().min(0).max(65535).default(8470),
  EMBEDDER_MAX_BODY_BYTES: z.coerce.number().int().positive().default(64 * 1024 * 1024),
});

export type Environment = z.infer<typeof environmentSchema>;

export interface Config extends Environment {
  /** Absolute path of DATA_DIR. */
  dataDir: string;
  /** Absolute path of the model folder in use. */
  modelDir: string;
  embedderUrls: string[];
}

export { ConfigError };

/** Parses an environment (default: process.env). Pure: tests pass their own object. */
export function parseConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  const parsed = environmentSchema.safeParse(environment);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new ConfigError(`Invalid configuration: ${problems}`);
  }
  const values = parsed.data;
  const dataDir = resolve(values.DATA_DIR);
  return {
    ...values,
    dataDir,
    modelDir: resolve(values.MODEL_DIR ?? `${dataDir}/models/efficientnet-b0`),
    embedderUrls: values.EMBEDDER_URL === undefined ? [] : values.EMBEDDER_URL.split(',').map((url) => url.trim()).filter(Boolean),
  };
}

let cached: Config | undefined;

/** The process-wide configuration, read from process.env on first use. */
export function getConfig(): Config {
  cached ??= parseConfig();
  return cached;
}
