/**
 * The one place where the environment is read. Every setting is validated once at start-up;
 * a bad value stops the process with a message naming the variable.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { allowedHostProblems } from './services/allowed-hosts.ts';

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
  /**
   * Shards this machine runs, e.g. `0,1` (with DISCORD_SHARD_COUNT=4 another machine runs `2,3`). Empty: all of them.
   * Needs a numeric DISCORD_SHARD_COUNT, the same on every machine, so that each guild maps to one shard.
   */
  DISCORD_SHARD_LIST: z
    .string()
    .optional()
    .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.split(',').map((item) => item.trim()).filter((item) => item.length > 0)))
    .pipe(z.array(z.string().regex(/^\d{1,6}$/, 'shard ids are non-negative integers').transform(Number)).optional()),
  /** Hosts images are downloaded from: `host` (default port only), `host:port`, `*.domain` (src/services/allowed-hosts.ts). */
  CDN_ALLOWED_HOSTS: list
    .default(['cdn.discordapp.com', 'media.discordapp.net'])
    .superRefine((entries, context) => {
      for (const problem of allowedHostProblems(entries)) context.addIssue({ code: 'custom', message: problem });
    }),

  // Storage
  DATA_DIR: z.string().default('data'),
  /** Empty: SQLite in DATA_DIR. `redis://…` or `postgresql://…` select keyv's official adapters. */
  KEYV_URL: optionalUrl,
  /**
   * Where images and vectors live: `hnsw` (default) = hnswlib index files in DATA_DIR + records in keyv, one
   * process; `postgres` = PostgreSQL with pgvector at DATABASE_URL, shared by every shard and machine.
   */
  VECTOR_STORE: z.enum(['hnsw', 'postgres']).default('hnsw'),
  /** `postgresql://user:password@host:port/database` with the pgvector extension (≥ 0.8); required by VECTOR_STORE=postgres. */
  DATABASE_URL: optionalUrl,
  /**
   * Embedding column type of a new PostgreSQL schema: `halfvec` (default: half the size, same recall in
   * bench/index.ts) or `vector` (float32). An existing schema keeps its type; naming the other one is refused.
   */
  PG_VECTOR_TYPE: z
    .string()
    .optional()
    .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()))
    .pipe(z.enum(['halfvec', 'vector']).optional()),
  /** PostgreSQL schema of the tables (created if missing): several deployments or test runs can share one database. */
  PG_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lowercase letters, digits and _ (a PostgreSQL identifier)').default('public'),
  /**
   * hnsw.ef_search of PostgreSQL searches: higher finds more of the true neighbours, slower. 200 gives
   * recall@10 0.983 at 100k images in a guild; at 1M, 400 gives 0.957 and 800 0.977 (docs/benchmarks.md, "PostgreSQL").
   */
  PG_EF_SEARCH: z.coerce.number().int().min(1).max(1000).default(200),

  // Embedding
  /** A compatible TF.js graph model; default: the model fetched into DATA_DIR/models. */
  MODEL_DIR: z.string().optional(),
  /** Comma-separated URLs of `npm run embedder` hosts; empty: embed in-process. */
  EMBEDDER_URL: optionalUrl,
  EMBEDDER_TOKEN: z.string().optional(),
  /** With EMBEDDER_URL: how often each host's /healthz is checked; a host marked down returns after a good check. */
  EMBEDDER_HEALTH_INTERVAL_MS: z.coerce.number().int().min(100).default(10_000),
  /** With EMBEDDER_URL: how long an image waits for a host when none is up, then fails with EMBEDDER_UNAVAILABLE. */
  EMBEDDER_WAIT_MS: z.coerce.number().int().min(0).default(30_000),
  /** `auto`: ONNX Runtime CUDA (provider installed + GPU), tfjs-node-gpu, tfjs-node, ONNX Runtime CPU, the wasm pool. `cpu` is the slow pure-JS backend. */
  EMBEDDING_BACKEND: z.enum(['auto', 'ort', 'ort-cuda', 'gpu', 'node', 'wasm', 'cpu']).default('auto'),
  EMBEDDING_WORKERS: z.coerce.number().int().min(1).max(64).default(availableParallelism()),
  /** ONNX Runtime intra-op threads per embedding worker (2 cores: 2 workers × 1 thread cost the least CPU per image). */
  EMBEDDING_THREADS: z.coerce.number().int().min(1).max(64).default(1),
  EMBEDDING_MAX_BATCH: z.coerce.number().int().min(1).max(256).default(16),
  EMBEDDING_BATCH_WAIT_MS: z.coerce.number().int().min(0).max(1000).default(4),

  // Image limits
  MAX_IMAGE_BYTES: z.coerce.number().int().positive().default(25 * 1024 * 1024),
  MAX_IMAGE_PIXELS: z.coerce.number().int().positive().default(50_000_000),
  DECODE_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  DOWNLOAD_TIMEOUT_MS: z.coerce.number().int().positive().default(15_000),

  // GIFs and videos (src/services/media.ts, src/embedding/frames.ts, src/embedding/video.ts)
  /** Frames indexed per animated GIF/WebP or video: first, middle, last non-blank. */
  MEDIA_FRAMES: z.coerce.number().int().min(1).max(3).default(3),
  /** ffmpeg binary for video keyframes; videos are skipped (logged) when it does not run. */
  FFMPEG_PATH: z.string().min(1).default('ffmpeg'),
  /** Largest video downloaded. */
  VIDEO_MAX_BYTES: z.coerce.number().int().positive().default(50 * 1024 * 1024),
  /** Longest video indexed, in seconds. */
  VIDEO_MAX_SECONDS: z.coerce.number().int().positive().default(180),
  /** Wall-clock limit of one video's keyframe extraction. */
  VIDEO_TIMEOUT_MS: z.coerce.number().int().positive().default(20_000),

  // Indexing pipeline (src/services)
  /** Images downloaded/embedded at once; the embedder batches what arrives together. */
  INDEX_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  /** Images waiting in the work queue at most (references, not bytes); a full queue blocks producers. */
  INDEX_QUEUE_MAX: z.coerce.number().int().min(1).default(5000),
  /** Per-user cooldown of the reaction search. */
  REACTION_COOLDOWN_MS: z.coerce.number().int().min(0).default(10_000),
  /** On SIGTERM, queued images get this long to finish; the rest are saved and indexed at the next start. */
  SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).default(8000),

  // Shared state across processes (several shards or machines)
  /**
   * `redis://…`: locks for per-channel work and the durable job queue (BullMQ) live in Redis, shared by every
   * process. Empty (one process): in-process locks and an in-process job runner, no Redis needed.
   */
  REDIS_URL: optionalUrl,
  /** Prefix of every Redis key of this bot (locks, queue): several deployments can share one Redis. */
  REDIS_PREFIX: z.string().regex(/^[\w.-]+$/).default('dejavu'),
  /** Backfill / re-embedding jobs one process runs at once. */
  JOB_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  /** Attempts per job before it goes to the dead-letter list (`dejavu jobs`). */
  JOB_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  /** First retry delay; doubles at each attempt. */
  JOB_BACKOFF_MS: z.coerce.number().int().min(0).default(30_000),
  /**
   * Lease of a running job and of a channel lock, renewed while the holder lives. A process killed mid-job
   * gives its job (and lock) back after about this long.
   */
  JOB_LOCK_MS: z.coerce.number().int().min(1000).default(30_000),
  /**
   * Pause of a re-signing job (new duplicate signatures for stored images) after each message it re-signed:
   * keeps its CDN downloads and history reads well under Discord's limits while live traffic goes on.
   */
  RESIGN_PAUSE_MS: z.coerce.number().int().min(0).max(60_000).default(200),

  // Embedder HTTP service
  EMBEDDER_HOST: z.string().default('127.0.0.1'),
  EMBEDDER_PORT: z.coerce.number().int().min(0).max(65535).default(8470),
  EMBEDDER_MAX_BODY_BYTES: z.coerce.number().int().positive().default(64 * 1024 * 1024),
});

export type Environment = z.infer<typeof environmentSchema>;

/** Every environment variable the configuration reads (.env.example lists each one). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(environmentSchema.shape);

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
  checkShardList(values.DISCORD_SHARD_LIST, values.DISCORD_SHARD_COUNT);
  checkVectorStore(values.VECTOR_STORE, values.DATABASE_URL);
  const dataDir = resolve(values.DATA_DIR);
  return {
    ...values,
    dataDir,
    modelDir: resolve(values.MODEL_DIR ?? `${dataDir}/models/efficientnet-b0`),
    embedderUrls: values.EMBEDDER_URL === undefined ? [] : values.EMBEDDER_URL.split(',').map((url) => url.trim()).filter(Boolean),
  };
}

/** A shard list only makes sense against a fixed total, and every id must exist in it. */
function checkShardList(list: number[] | undefined, count: number | 'auto'): void {
  if (list === undefined) return;
  if (count === 'auto') throw new ConfigError('Invalid configuration: DISCORD_SHARD_LIST needs a numeric DISCORD_SHARD_COUNT (the same total on every machine)');
  if (list.length === 0) throw new ConfigError('Invalid configuration: DISCORD_SHARD_LIST is empty');
  const outside = list.filter((id) => id >= count);
  if (outside.length > 0) throw new ConfigError(`Invalid configuration: DISCORD_SHARD_LIST: shard ${outside.join(', ')} is not below DISCORD_SHARD_COUNT=${count}`);
  if (new Set(list).size !== list.length) throw new ConfigError('Invalid configuration: DISCORD_SHARD_LIST: a shard is listed twice');
}

/** VECTOR_STORE=postgres needs a PostgreSQL URL (which `dejavu migrate` also uses with VECTOR_STORE=hnsw). */
function checkVectorStore(store: 'hnsw' | 'postgres', databaseUrl: string | undefined): void {
  if (store === 'postgres' && databaseUrl === undefined) {
    throw new ConfigError('Invalid configuration: VECTOR_STORE=postgres needs DATABASE_URL (postgresql://user:password@host:port/database, with the pgvector extension)');
  }
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('Invalid configuration: DATABASE_URL must start with postgresql:// or postgres://');
  }
}

let cached: Config | undefined;

/** The process-wide configuration, read from process.env on first use. */
export function getConfig(): Config {
  cached ??= parseConfig();
  return cached;
}
