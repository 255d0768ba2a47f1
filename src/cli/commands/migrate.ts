/**
 * `dejavu migrate --from hnsw|postgres --to hnsw|postgres …`: copies every guild from one image store to
 * another without re-embedding (src/store/migrate.ts), resumably. Both stores are opened with one embedding
 * variant (default: the configured model's, what the bot will open the target with) and without a snapshot
 * timer (the file store flushes at the end).
 *
 * Progress per guild on stderr; stdout is `{"guilds":[{"id","images","copied","skipped","failed","error"?}],
 * "copied","skipped","failed","seconds"}`.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getConfig } from '../../config.ts';
import { embedderOptionsFromConfig, expectedRemoteVariant } from '../../embedding/index.ts';
import { DejavuError } from '../../errors.ts';
import { migrateStores, type MigrationSummary } from '../../store/migrate.ts';
import { openStoreAt, type StoreKind, type StoreLocation } from '../../store/open.ts';
import type { VectorType } from '../../store/postgres/index.ts';
import { writeStdout } from '../common.ts';
import type { CliCommand } from '../types.ts';

const HELP = `usage: dejavu migrate --from hnsw|postgres --to hnsw|postgres [options]

Copies every guild's images (records, vectors, signatures) from one store to the other without
re-embedding. Re-running resumes: images already in the target are skipped.
  --data <dir>             data directory of the file store (hnsw) (default: DATA_DIR)
  --keyv-url <url>         where the file store's records live (default: KEYV_URL; '' = SQLite in --data)
  --database-url <url>     PostgreSQL of the postgres store (default: DATABASE_URL)
  --schema <name>          PostgreSQL schema (default: PG_SCHEMA, public)
  --to-data <dir>          target data directory when both stores are hnsw
  --to-database-url <url>  target database when both stores are postgres (e.g. a Citus cluster)
  --to-schema <name>       target schema when both stores are postgres
  --vector-type <type>     vector or halfvec: column type of a new postgres schema (default: PG_VECTOR_TYPE)
  --guild <id>             only this guild (repeatable)
  --variant <variant>      embedding variant to migrate (default: the configured model's)
  --concurrency <n>        images copied at once per guild (default 4)
  --parallel-guilds <n>    guilds copied at once (default 4; a guild's writes are serialised by the store)`;

function positiveInteger(value: string, flag: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > 256) throw new DejavuError('INVALID_INPUT', `${flag} must be an integer from 1 to 256 (got ${JSON.stringify(value)})`);
  return number;
}

function parseKind(value: string | undefined, flag: string): StoreKind {
  if (value === 'hnsw' || value === 'postgres') return value;
  throw new DejavuError('INVALID_INPUT', `${flag} must be hnsw or postgres (got ${value === undefined ? 'nothing' : JSON.stringify(value)})`);
}

function parseVectorType(value: string | undefined): VectorType | undefined {
  if (value === undefined || value === 'vector' || value === 'halfvec') return value;
  throw new DejavuError('INVALID_INPUT', `--vector-type must be vector or halfvec (got ${JSON.stringify(value)})`);
}

export const command: CliCommand = {
  name: 'migrate',
  summary: 'copy every guild between the hnsw and postgres stores without re-embedding (resumable)',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        data: { type: 'string' },
        'keyv-url': { type: 'string' },
        'database-url': { type: 'string' },
        schema: { type: 'string' },
        'to-data': { type: 'string' },
        'to-database-url': { type: 'string' },
        'to-schema': { type: 'string' },
        'vector-type': { type: 'string' },
        guild: { type: 'string', multiple: true },
        variant: { type: 'string' },
        concurrency: { type: 'string' },
        'parallel-guilds': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help === true || positionals.length > 0 || values.from === undefined || values.to === undefined) {
      console.error(HELP);
      return values.help === true ? 0 : 2;
    }
    const started = performance.now();
    const config = getConfig();
    const fromKind = parseKind(values.from, '--from');
    const toKind = parseKind(values.to, '--to');
    const concurrency = positiveInteger(values.concurrency ?? '4', '--concurrency');
    const parallelGuilds = positiveInteger(values['parallel-guilds'] ?? '4', '--parallel-guilds');
    const dataDir = resolve(values.data ?? config.dataDir);
    // The file store's records: where the bot that built it kept them (an empty value: SQLite in --data).
    const keyvUrl = values['keyv-url'] === undefined ? config.KEYV_URL : values['keyv-url'].trim() || undefined;
    const databaseUrl = values['database-url'] ?? config.DATABASE_URL;
    const vectorType = parseVectorType(values['vector-type']) ?? config.PG_VECTOR_TYPE;
    const schema = values.schema ?? config.PG_SCHEMA;
    // No snapshot timer: the file store flushes once at the end of the copy.
    const opening = { snapshotIntervalMs: 0, efSearch: config.PG_EF_SEARCH };
    const from: StoreLocation = { kind: fromKind, dataDir, keyvUrl, databaseUrl, schema, ...opening };
    const to: StoreLocation =
      fromKind === toKind
        ? {
            kind: toKind,
            dataDir: values['to-data'] === undefined ? undefined : resolve(values['to-data']),
            keyvUrl,
            databaseUrl: values['to-database-url'] ?? databaseUrl,
            schema: values['to-schema'] ?? schema,
            vectorType,
            ...opening,
          }
        : { kind: toKind, dataDir, keyvUrl, databaseUrl, schema, vectorType, ...opening };
    checkDistinct(from, to);
    const variant = values.variant ?? (await expectedRemoteVariant(embedderOptionsFromConfig(config)));

    console.error(`migrating ${describeLocation(from)} → ${describeLocation(to)} (variant ${variant})`);
    const source = await openStoreAt(from, variant);
    let summary: MigrationSummary;
    try {
      const target = await openStoreAt(to, variant);
      try {
        summary = await migrateStores(source, target, { from, to, variant, guilds: values.guild ?? [], concurrency, parallelGuilds, report: (line) => console.error(line) });
      } finally {
        await target.close();
      }
    } finally {
      await source.close();
    }
    const failedGuilds = summary.guilds.filter((guild) => guild.error !== undefined);
    console.error(
      `done: ${summary.guilds.length} guild(s), ${summary.copied} image(s) copied, ${summary.skipped} already there, ${summary.failed} failed` +
        (failedGuilds.length > 0 ? `; ${failedGuilds.length} guild(s) not migrated: ${failedGuilds.map((guild) => guild.id).join(', ')}` : ''),
    );
    await writeStdout(`${JSON.stringify({ ...summary, seconds: Number(((performance.now() - started) / 1000).toFixed(2)) })}\n`);
    return summary.failed > 0 || failedGuilds.length > 0 ? 1 : 0;
  },
};

/** Refuses a migration of a store onto itself (it would only re-read what it writes) and shared keyv records. */
function checkDistinct(from: StoreLocation, to: StoreLocation): void {
  if (from.kind !== to.kind) return;
  if (from.kind === 'hnsw') {
    if (to.dataDir === undefined) throw new DejavuError('INVALID_INPUT', 'hnsw → hnsw needs --to-data <dir> (the target data directory)');
    if (to.dataDir === from.dataDir) throw new DejavuError('INVALID_INPUT', `source and target are the same data directory (${from.dataDir})`);
    // Records live in keyv under per-store ids: two stores sharing one KEYV_URL would overwrite each other's.
    if (from.keyvUrl !== undefined) throw new DejavuError('INVALID_INPUT', "hnsw → hnsw needs the default SQLite metadata in each data directory: unset KEYV_URL or pass --keyv-url '' (both stores would share its records)");
    return;
  }
  if (to.databaseUrl === from.databaseUrl && (to.schema ?? 'public') === (from.schema ?? 'public')) {
    throw new DejavuError('INVALID_INPUT', 'postgres → postgres needs --to-database-url or --to-schema (source and target are the same)');
  }
}

function describeLocation(location: StoreLocation): string {
  if (location.kind === 'hnsw') return `hnsw ${location.dataDir ?? '?'}${location.keyvUrl === undefined ? '' : ' (records in KEYV_URL)'}`;
  const url = location.databaseUrl === undefined ? '?' : redactPassword(location.databaseUrl);
  return `postgres ${url}${location.schema === undefined ? '' : ` schema ${location.schema}`}`;
}

function redactPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}
