/**
 * Opening an ImageStore: `openStoreAt` opens one at an explicit location (`dejavu migrate` opens two),
 * `openConfiguredStore` the one the configuration selects (VECTOR_STORE), for the bot's services and every
 * CLI command that reads or writes images, so they all agree on where images live and how they are searched.
 */
import type { Config } from '../config.ts';
import { DejavuError } from '../errors.ts';
import { openFileStore } from './file-store.ts';
import type { VectorType } from './postgres/index.ts';
import type { ImageStore } from './types.ts';

/** The opened store; `metadataStorage` names where records live (`dejavu stats` prints it). */
export type ConfiguredStore = ImageStore & { readonly metadataStorage: string };

export type StoreKind = 'hnsw' | 'postgres';

/** Where one image store lives and how it is opened. */
export interface StoreLocation {
  kind: StoreKind;
  /** hnsw: the data directory. */
  dataDir?: string | undefined;
  /** hnsw: keyv of the records (empty: SQLite in dataDir). */
  keyvUrl?: string | undefined;
  /** hnsw: snapshot timer; 0 for short-lived commands that flush on close (default: the store's). */
  snapshotIntervalMs?: number | undefined;
  /** postgres. */
  databaseUrl?: string | undefined;
  schema?: string | undefined;
  vectorType?: VectorType | undefined;
  /** postgres: hnsw.ef_search of a search's first round (default: the store's). */
  efSearch?: number | undefined;
}

/** What a CLI command may change about the configured store. */
export interface StoreOverrides {
  /** Data folder of the file store (`--data`); ignored by PostgreSQL. */
  dataDir?: string | undefined;
  /** File store snapshot timer; 0 for short-lived commands that flush on close. */
  snapshotIntervalMs?: number;
}

/**
 * Opens the store at `location`. `variant` is the embedder's (Embedder.variant); undefined opens it for
 * reading and removal only (stats, dupes).
 */
export async function openStoreAt(location: StoreLocation, variant: string | undefined): Promise<ConfiguredStore> {
  if (location.kind === 'hnsw') {
    if (location.dataDir === undefined) throw new DejavuError('INVALID_INPUT', 'the file store (hnsw) needs a data directory (--data)');
    return openFileStore({
      dataDir: location.dataDir,
      keyvUrl: location.keyvUrl,
      variant,
      ...(location.snapshotIntervalMs === undefined ? {} : { snapshotIntervalMs: location.snapshotIntervalMs }),
    });
  }
  if (location.databaseUrl === undefined) throw new DejavuError('INVALID_INPUT', 'the postgres store needs a database (--database-url or DATABASE_URL)');
  // Imported on demand: pg and the pgvector store stay out of the start-up of file-store hosts and commands.
  const { openPostgresImageStore } = await import('./postgres/index.ts');
  return openPostgresImageStore({
    databaseUrl: location.databaseUrl,
    variant,
    vectorType: location.vectorType,
    ...(location.schema === undefined ? {} : { schema: location.schema }),
    ...(location.efSearch === undefined ? {} : { efSearch: location.efSearch }),
  });
}

/** Where the configuration puts the store (VECTOR_STORE and its settings), with a CLI command's overrides. */
export function configuredStoreLocation(config: Config, overrides: StoreOverrides = {}): StoreLocation {
  if (config.VECTOR_STORE === 'postgres') {
    // parseConfig guarantees DATABASE_URL with VECTOR_STORE=postgres.
    return { kind: 'postgres', databaseUrl: config.DATABASE_URL ?? '', vectorType: config.PG_VECTOR_TYPE, schema: config.PG_SCHEMA, efSearch: config.PG_EF_SEARCH };
  }
  return { kind: 'hnsw', dataDir: overrides.dataDir ?? config.dataDir, keyvUrl: config.KEYV_URL, snapshotIntervalMs: overrides.snapshotIntervalMs };
}

/** Opens the configured store (see openStoreAt for `variant`). */
export async function openConfiguredStore(config: Config, variant: string | undefined, overrides: StoreOverrides = {}): Promise<ConfiguredStore> {
  return openStoreAt(configuredStoreLocation(config, overrides), variant);
}
