/**
 * keyv factory shared by every module that keeps small records (image metadata, guild settings, cursors).
 * Adapter by URL: none → SQLite file `DATA_DIR/dejavu.sqlite`; `redis://`/`rediss://` → @keyv/redis;
 * `postgres://`/`postgresql://` → @keyv/postgres. Each caller passes its own namespace.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import KeyvPostgres from '@keyv/postgres';
import KeyvRedis from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import { Keyv, type KeyvStoreAdapter } from 'keyv';
import { StoreError } from '../errors.ts';
import { childLogger } from '../logger.ts';

export interface KeyvOptions {
  dataDir: string;
  /** Empty: SQLite in dataDir. */
  keyvUrl?: string | undefined;
}

/** Which keyv adapter holds the records, chosen by KEYV_URL's scheme. */
export type KeyvAdapterName = 'sqlite' | 'redis' | 'postgres';

const log = childLogger('keyv');

export function keyvAdapterName(keyvUrl: string | undefined): KeyvAdapterName {
  if (keyvUrl === undefined || keyvUrl === '') return 'sqlite';
  const scheme = keyvUrl.slice(0, keyvUrl.indexOf(':')).toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') return 'redis';
  if (scheme === 'postgres' || scheme === 'postgresql') return 'postgres';
  if (scheme === 'sqlite') return 'sqlite';
  throw new StoreError('INVALID_INPUT', `KEYV_URL must start with redis://, rediss://, postgres://, postgresql:// or sqlite:// (got ${scheme}://)`, {
    scheme,
  });
}

/**
 * @keyv/postgres keeps ONE module-wide pg pool for all its adapters and `disconnect()` ends it, which would
 * break every other namespace still open (and a second disconnect throws). Count the open adapters and end
 * the pool with the last one.
 */
let openPostgresAdapters = 0;

function sharedPoolAdapter(adapter: KeyvPostgres): KeyvPostgres {
  openPostgresAdapters++;
  const endPool = adapter.disconnect.bind(adapter);
  adapter.disconnect = async (): Promise<void> => {
    openPostgresAdapters--;
    if (openPostgresAdapters === 0) await endPool();
  };
  return adapter;
}

/** Rows per upsert statement: far below SQLite's 32766 bound parameters, large enough for any bulk add. */
const SQLITE_ROWS_PER_STATEMENT = 500;

/**
 * @keyv/sqlite has no setMany, so keyv would run one autocommit INSERT (one disk sync) per entry. A
 * multi-row upsert is one transaction: a bulk add costs one sync per SQLITE_ROWS_PER_STATEMENT entries.
 */
function withSqliteSetMany(adapter: KeyvSqlite): KeyvSqlite {
  const table = adapter.opts.table ?? 'keyv';
  const setMany = async (entries: ReadonlyArray<{ key: string; value: unknown }>): Promise<void> => {
    for (let start = 0; start < entries.length; start += SQLITE_ROWS_PER_STATEMENT) {
      const rows = entries.slice(start, start + SQLITE_ROWS_PER_STATEMENT);
      await adapter.query(
        `INSERT INTO ${table} (key, value) VALUES ${rows.map(() => '(?, ?)').join(', ')} ON CONFLICT(key) DO UPDATE SET value=excluded.value`,
        ...rows.flatMap((row) => [row.key, row.value]),
      );
    }
  };
  return Object.assign(adapter, { setMany });
}

/** Makes `disconnect()` safe to call twice (the adapters throw on a second call). */
function disconnectOnce<Adapter extends KeyvStoreAdapter>(adapter: Adapter): Adapter {
  const disconnect = adapter.disconnect?.bind(adapter);
  let done: Promise<void> | undefined;
  adapter.disconnect = (): Promise<void> => (done ??= disconnect?.() ?? Promise.resolve());
  return adapter;
}

export function createKeyv<Value = unknown>(options: KeyvOptions, namespace: string): Keyv<Value> {
  const adapter = keyvAdapterName(options.keyvUrl);
  let store: KeyvStoreAdapter;
  if (adapter === 'redis') {
    store = new KeyvRedis(options.keyvUrl);
  } else if (adapter === 'postgres') {
    store = sharedPoolAdapter(new KeyvPostgres({ uri: options.keyvUrl }));
  } else {
    mkdirSync(options.dataDir, { recursive: true });
    const uri = options.keyvUrl ?? `sqlite://${join(options.dataDir, 'dejavu.sqlite')}`;
    store = withSqliteSetMany(new KeyvSqlite({ uri, busyTimeout: 10_000 }));
  }
  // throwOnErrors: a failed write must reject (keyv's default resolves `false` and only emits an event,
  // which would acknowledge data that was never stored).
  const keyv = new Keyv<Value>({ store: disconnectOnce(store), namespace, throwOnErrors: true });
  // keyv also emits adapter errors as events; without a listener Node would crash the process on them.
  keyv.on('error', (error: unknown) => log.error({ err: error, adapter, namespace }, 'keyv adapter error'));
  return keyv;
}
