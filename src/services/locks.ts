/**
 * Locks for per-guild work that must not run twice at once (a channel's backfill, index maintenance).
 *
 * With Redis (REDIS_URL, several processes or machines): `SET key token NX PX ttl` takes the lock, a timer
 * renews it (compare-and-PEXPIRE) every ttl/3 while the holder lives, and only the holder may release it
 * (compare-and-DEL in Lua). A process that dies stops renewing, so its lock expires after at most `ttl`.
 * If a renewal finds the lock gone or taken, or Redis stays unreachable for a whole ttl, the lock's
 * `signal` aborts: the holder must stop, since another process may now hold the lock.
 *
 * Without Redis (one process): an in-process lock with the same interface, so callers do not care.
 */
import { randomBytes } from 'node:crypto';
import { createClient } from '@redis/client';
import { DejavuError } from '../errors.ts';
import { childLogger, type Logger } from '../logger.ts';

export interface Lock {
  readonly key: string;
  /** Aborted when the lock was lost (expired, taken over, Redis unreachable for a whole ttl) or released. */
  readonly signal: AbortSignal;
  /** Releases the lock if this holder still owns it. Idempotent. */
  release(): Promise<void>;
}

export interface LockService {
  /** Redis (shared by every process) or in-process. */
  readonly kind: 'redis' | 'local';
  /** Takes the lock now, or returns undefined when someone else holds it. */
  tryAcquire(key: string, ttlMs?: number): Promise<Lock | undefined>;
  /** Runs `task` under the lock; throws DejavuError LOCKED when someone else holds it. */
  withLock<T>(key: string, task: (signal: AbortSignal) => Promise<T>, ttlMs?: number): Promise<T>;
  close(): Promise<void>;
}

export interface LockServiceOptions {
  /** `redis://…`; undefined: in-process locks. */
  redisUrl?: string;
  /** Key prefix (REDIS_PREFIX); the lock of `key` is `<prefix>:lock:<key>`. */
  prefix?: string;
  /** Default lease (JOB_LOCK_MS). */
  ttlMs?: number;
  logger?: Logger;
}

export function lockedError(key: string): DejavuError {
  return new DejavuError('LOCKED', `Another process is already doing this work (${key})`, { key });
}

/** Redis locks when a URL is given, in-process locks otherwise. */
export async function createLockService(options: LockServiceOptions = {}): Promise<LockService> {
  const ttlMs = options.ttlMs ?? 30_000;
  if (options.redisUrl === undefined) return new LocalLockService(ttlMs);
  const client = newRedisClient(options.redisUrl);
  const log = options.logger ?? childLogger('locks');
  client.on('error', (error: unknown) => log.warn({ err: error }, 'redis connection error'));
  await client.connect();
  return new RedisLockService(client, { prefix: options.prefix ?? 'dejavu', ttlMs, logger: log });
}

abstract class BaseLockService implements LockService {
  abstract readonly kind: 'redis' | 'local';
  abstract tryAcquire(key: string, ttlMs?: number): Promise<Lock | undefined>;
  abstract close(): Promise<void>;

  async withLock<T>(key: string, task: (signal: AbortSignal) => Promise<T>, ttlMs?: number): Promise<T> {
    const lock = await this.tryAcquire(key, ttlMs);
    if (lock === undefined) throw lockedError(key);
    try {
      return await task(lock.signal);
    } finally {
      await lock.release();
    }
  }
}

/** One process: a set of held keys. Leases never expire (the process holding them is this one). */
export class LocalLockService extends BaseLockService {
  readonly kind = 'local';
  private readonly held = new Map<string, AbortController>();

  constructor(readonly ttlMs = 30_000) {
    super();
  }

  tryAcquire(key: string): Promise<Lock | undefined> {
    if (this.held.has(key)) return Promise.resolve(undefined);
    const controller = new AbortController();
    this.held.set(key, controller);
    const release = (): Promise<void> => {
      if (this.held.get(key) === controller) this.held.delete(key);
      controller.abort(new Error(`lock ${key} released`));
      return Promise.resolve();
    };
    return Promise.resolve({ key, signal: controller.signal, release });
  }

  close(): Promise<void> {
    for (const controller of this.held.values()) controller.abort(new Error('lock service closed'));
    this.held.clear();
    return Promise.resolve();
  }
}

/** Extends the lease only if the caller still owns the lock. */
const RENEW_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
/** Deletes the lock only if the caller still owns it. */
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/** A node-redis client with the default modules and RESP2, the one `createLockService` makes. */
export function newRedisClient(url: string) {
  return createClient({ url });
}
type RedisClient = ReturnType<typeof newRedisClient>;

export class RedisLockService extends BaseLockService {
  readonly kind = 'redis';
  private readonly active = new Set<() => Promise<void>>();
  private closed = false;

  constructor(
    private readonly client: RedisClient,
    private readonly options: { prefix: string; ttlMs: number; logger: Logger },
  ) {
    super();
  }

  async tryAcquire(key: string, ttlMs = this.options.ttlMs): Promise<Lock | undefined> {
    if (this.closed) throw new DejavuError('LOCKED', 'The lock service is closed', { key });
    const redisKey = `${this.options.prefix}:lock:${key}`;
    const token = randomBytes(16).toString('hex');
    const taken: unknown = await this.client.sendCommand(['SET', redisKey, token, 'NX', 'PX', String(ttlMs)]);
    if (taken !== 'OK') return undefined;

    const controller = new AbortController();
    let lastRenewed = Date.now();
    let renewing: Promise<void> | undefined;
    const renew = async (): Promise<void> => {
      try {
        const extended = await this.client.eval(RENEW_SCRIPT, { keys: [redisKey], arguments: [token, String(ttlMs)] });
        if (extended === 1) {
          lastRenewed = Date.now();
          return;
        }
        this.options.logger.warn({ key }, 'lock lost: it expired or another process took it');
        controller.abort(lockedError(key));
      } catch (error) {
        // Redis unreachable: keep trying while the lease may still be ours, then give up.
        if (Date.now() - lastRenewed >= ttlMs) {
          this.options.logger.warn({ key, err: error }, 'lock lost: redis unreachable for a whole lease');
          controller.abort(lockedError(key));
        }
      }
    };
    const timer = setInterval(() => {
      if (renewing === undefined && !controller.signal.aborted) renewing = renew().finally(() => (renewing = undefined));
    }, Math.max(100, Math.floor(ttlMs / 3)));
    timer.unref();

    let released: Promise<void> | undefined;
    const release = (): Promise<void> =>
      (released ??= (async () => {
        clearInterval(timer);
        this.active.delete(release);
        await renewing;
        const stillOurs = !controller.signal.aborted;
        controller.abort(new Error(`lock ${key} released`));
        if (stillOurs) {
          await this.client.eval(RELEASE_SCRIPT, { keys: [redisKey], arguments: [token] }).catch((error: unknown) => {
            // The lease runs out by itself; nothing else to do.
            this.options.logger.warn({ key, err: error }, 'releasing a lock failed; it expires by itself');
          });
        }
      })());
    this.active.add(release);
    return { key, signal: controller.signal, release };
  }

  /** Releases every lock still held, then disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.active].map((release) => release()));
    await this.client.close().catch(() => undefined);
  }
}
