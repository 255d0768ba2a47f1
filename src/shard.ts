/**
 * `npm run start:sharded`: a ShardingManager that runs src/main.ts once per shard (Discord requires sharding
 * beyond 2 500 guilds). Each shard is a full bot process with its own services; live events of a guild
 * reach exactly one shard.
 *
 * Several machines: each runs this entry with the same DISCORD_SHARD_COUNT (the total) and its own
 * DISCORD_SHARD_LIST (e.g. `0,1` and `2,3`), and all of them share one PostgreSQL (VECTOR_STORE=postgres,
 * KEYV_URL) and one Redis (REDIS_URL: channel locks, the job queue). A shard process that dies is respawned
 * here; the backfill job it was running is taken over by any shard (its lease runs out after JOB_LOCK_MS).
 */
import { join } from 'node:path';
import { ShardingManager } from 'discord.js';
import { ConfigError, getConfig, type Config } from './config.ts';
import { withHugePageMalloc } from './index/huge-pages.ts';
import { childLogger } from './logger.ts';
import { exitOnStartupError } from './startup-error.ts';

const log = childLogger('shard-manager');
let config: Config;
try {
  config = getConfig();
  if (!config.DISCORD_TOKEN) throw new ConfigError('DISCORD_TOKEN is not set: put your bot token in .env (copy .env.example) or the environment');
} catch (error) {
  exitOnStartupError(error, log);
}

// Shards inherit this environment: huge pages make big guild indexes load ~1.5× faster (src/index/huge-pages.ts).
Object.assign(process.env, withHugePageMalloc(process.env));
const manager = new ShardingManager(join(import.meta.dirname, 'main.ts'), {
  token: config.DISCORD_TOKEN,
  // 'auto' asks Discord's own API for the recommended count (ShardingManager ignores DISCORD_API_URL).
  totalShards: config.DISCORD_SHARD_COUNT,
  // This machine's part of the shards; all of them when unset (config.ts checks ids against the total).
  ...(config.DISCORD_SHARD_LIST === undefined ? {} : { shardList: config.DISCORD_SHARD_LIST }),
  execArgv: ['--import', 'tsx'],
});
if (config.DISCORD_SHARD_LIST !== undefined && config.REDIS_URL === undefined) {
  log.warn('DISCORD_SHARD_LIST without REDIS_URL: shards on other machines cannot share locks or the job queue');
}
manager.on('shardCreate', (shard) => {
  log.info({ shardId: shard.id }, 'shard launched');
  shard.on('death', () => log.warn({ shardId: shard.id }, 'shard process died'));
});
/** Each shard gets SIGTERM and flushes its own indexes; the manager exits once all have exited. */
const SHUTDOWN_GRACE_MS = 30_000;
const SPAWN_READY_TIMEOUT_MS = 180_000;
const shutdown = () => {
  // A shard exiting on purpose must not be respawned.
  manager.respawn = false;
  const exits = [...manager.shards.values()].map((shard) => {
    const child = shard.process;
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      // Signal the process itself so its own SIGTERM handler (src/main.ts) runs the graceful shutdown.
      child.kill('SIGTERM');
    });
  });
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref());
  void Promise.race([Promise.all(exits), timeout]).then(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

// Signal handlers first: a SIGTERM during the (slow) spawn must still shut the shards down gracefully.
// A shard is ready once its model is loaded and it is logged in: allow slow machines more than the default 30 s.
await manager.spawn({ timeout: SPAWN_READY_TIMEOUT_MS });
