/**
 * Many small guilds in one PostgreSQL schema (`--store postgres --only guilds`): `guilds` guilds of `perGuild`
 * images each (the hnswlib section's vectors, seeds 1000 + g), bulk-loaded, then one query per guild
 * (seed 5, as that section) through the store, all channels and 10% of them, recall against exact search
 * within the guild. Guilds up to EXACT_SEARCH_MAX_IMAGES are scanned exactly, so the HNSW index plays no
 * part in these searches; it is built only with `--pg-guild-index` (its cost follows the row count: see the
 * one-guild run of the same total).
 */
import pg from 'pg';
import { openPostgresImageStore, type PostgresImageStore, type VectorType } from '../../src/store/postgres/index.ts';
import type { RecordMetadata } from '../../src/store/types.ts';
import { generate, type GeneratorKind } from '../index-vectors.ts';
import { D, row } from './data.ts';
import { timeStoreQueries } from './measure.ts';
import type { PostgresOptions } from './options.ts';
import { isVisible, isVisibleRow, pgCreateIndex, pgInsertRows, pgSizes, requireDatabaseUrl } from './pg.ts';
import { mb, ms, type TableRow } from './table.ts';
import { exactTopK, filteredTopK } from './truth.ts';

export async function pgManyGuilds(reals: Float32Array, generator: GeneratorKind, guilds: number, perGuild: number, options: PostgresOptions): Promise<void> {
  const databaseUrl = requireDatabaseUrl(options);
  const vectorType: VectorType = options.types[0] ?? 'halfvec';
  console.log(`\n## PostgreSQL + pgvector, ${guilds} guilds × ${perGuild} images, ${vectorType}, one query per guild k=10`);
  const schema = `dejavu_bench_${process.pid}_guilds`;
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // Opened once before the load only to create the schema; searched through a second store after it.
    const open = (): Promise<PostgresImageStore> => openPostgresImageStore({ databaseUrl, variant: 'bench', dimensions: D, vectorType, schema, maxConnections: 2 });
    const setup = await open();
    await setup.close();
    await client.query(`DROP INDEX ${schema}.images_embedding_hnsw`);
    const queries = generate(generator, reals, guilds, 5);
    const truth: number[][] = [];
    const visible: number[][] = [];
    const start = performance.now();
    for (let g = 0; g < guilds; g++) {
      const data = generate(generator, reals, perGuild, 1000 + g);
      await client.query(`INSERT INTO ${schema}.guilds (guild_id, variant, dimensions, next_id, images) VALUES ($1, 'bench', $2, $3, $4)`, [`g${g}`, D, perGuild + 1, perGuild]);
      await pgInsertRows(client, schema, vectorType, `g${g}`, data, perGuild);
      truth.push(exactTopK(data, perGuild, row(queries, g), 10));
      visible.push(filteredTopK(data, perGuild, row(queries, g), 10, isVisibleRow));
    }
    const loadSeconds = (performance.now() - start) / 1000;
    const indexSeconds = options.guildIndex
      ? await pgCreateIndex(client, schema, 'images_embedding_hnsw', 'images', `embedding ${vectorType}_cosine_ops`, options.graph, options.maintenanceWorkMem)
      : Number.NaN;
    await client.query(`VACUUM ANALYZE ${schema}.images`);
    const store = await open();
    const rows = [await guildQueryRow(store, queries, guilds, 'all channels', truth), await guildQueryRow(store, queries, guilds, '10% of channels', visible, isVisible)];
    await store.close();
    const size = await pgSizes(client, schema);
    console.table([{ guilds, 'images/guild': perGuild, 'bulk insert s': loadSeconds.toFixed(0), 'CREATE INDEX s': indexSeconds.toFixed(0), 'table+indexes': mb(size.total), 'HNSW indexes': mb(size.hnsw) }]);
    console.table(rows);
  } finally {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  }
}

/** Query g searches guild g; its hits are checked against that guild's truth. */
async function guildQueryRow(store: PostgresImageStore, queries: Float32Array, guilds: number, query: string, truth: number[][], filter?: (record: RecordMetadata) => boolean): Promise<TableRow> {
  const options = filter === undefined ? { k: 10 } : { k: 10, filter };
  const result = await timeStoreQueries(guilds, (g) => store.findSimilar(`g${g}`, row(queries, g), options), truth);
  return { query, 'recall@10': result.recall, 'results (min)': result.fewest, p50: ms(result.p50), p99: ms(result.p99) };
}
