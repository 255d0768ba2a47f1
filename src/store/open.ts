/**
 * `openConfiguredStore`: the ImageStore that the configuration selects (VECTOR_STORE), for the bot's
 * services and every CLI command that reads or writes images, so they all agree on where images live.
 */
import type { Config } from '../config.ts';
import { openImageStore } from './index.ts';
import { openPostgresImageStore } from './postgres/index.ts';
import type { ImageStore } from './types.ts';

/** The configured store; `backend` names where records live (`dejavu stats` prints it). */
export type ConfiguredStore = ImageStore & { readonly backend: string };

/** What a CLI command may change about the configured store. */
export interface StoreOverrides {
  /** Data folder of the file store (`--data`); ignored by PostgreSQL. */
  dataDir?: string | undefined;
  /** File store snapshot timer; 0 for short-lived commands that flush on close. */
  snapshotIntervalMs?: number;
}

/**
 * Opens the configured store. `variant` is the embedder's (Embedder.variant); undefined opens it for
 * reading and removal only (stats, dupes).
 */
export async function openConfiguredStore(config: Config, variant: string | undefined, overrides: StoreOverrides = {}): Promise<ConfiguredStore> {
  if (config.VECTOR_STORE === 'postgres') {
    // parseConfig guarantees DATABASE_URL with VECTOR_STORE=postgres.
    return openPostgresImageStore({ databaseUrl: config.DATABASE_URL ?? '', variant, vectorType: config.PG_VECTOR_TYPE, schema: config.PG_SCHEMA, efSearch: config.PG_EF_SEARCH });
  }
  return openImageStore({
    dataDir: overrides.dataDir ?? config.dataDir,
    keyvUrl: config.KEYV_URL,
    variant,
    ...(overrides.snapshotIntervalMs === undefined ? {} : { snapshotIntervalMs: overrides.snapshotIntervalMs }),
  });
}
