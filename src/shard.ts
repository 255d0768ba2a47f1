/**
 * `npm run start:sharded`: a ShardingManager that runs src/main.ts once per shard (Discord requires sharding
 * beyond 2 500 guilds). Each shard is a full bot process with its own services; guild data never crosses
 * shards because every guild lives on exactly one shard.
 */
import { join } from 'node:path';
import { ShardingManager } from 'discord.js';
import { getConfig } from './config.ts';
import { childLogger } from './logger.ts';

const log = childLogger('shard-manager');
const config = getConfig();
if (!config.DISCORD_TOKEN) throw new Error('DISCORD_TOKEN is not set');

const manager = new ShardingManager(join(import.meta.dirname, 'main.ts'), {
  token: config.DISCORD_TOKEN,
  // 'auto' asks Discord's own API for the recommended count (ShardingManager ignores DISCORD_API_URL).
  totalShards: config.DISCORD_SHARD_COUNT,
  execArgv: ['--import', 'tsx'],
});
manager.on('shardCreate', (shard) => {
  log.info({ shardId: shard.id }, 'shard launched');
  shard.on('death', () => log.warn({ shardId: shard.id }, 'shard process died'));
});
/** Each shard gets SIGTERM and flushes its own indexes; the manager exits once all have exited. */
const SHUTDOWN_GRACE_MS = 30_000;
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
await manager.spawn();
