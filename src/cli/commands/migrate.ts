/**
 * `dejavu migrate --from hnsw|postgres --to hnsw|postgres …`: copies every guild's records, vectors and
 * duplicate signatures from one image store to another, without re-embedding anything.
 *
 * Written against the ImageStore contract only (stats, listRecords, getVector, add). Resumable: `add` is
 * idempotent on (guild, sourceKey), and sources already in the target are skipped without a write, so an
 * interrupted run is simply started again. Both stores are opened with one embedding variant (default:
 * the configured model's, what the bot will open the target with); a guild indexed with another variant
 * is reported with the variant to pass as --variant, and nothing of it is copied. Record ids are
 * allocated anew by the target (they are internal to a store).
 *
 * Progress per guild on stderr; stdout is `{"guilds":[{"id","images","copied","skipped","failed","error"?}],
 * "copied","skipped","failed","seconds"}`.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getConfig } from '../../config.ts';
import { embedderOptionsFromConfig, expectedRemoteVariant } from '../../embedding/index.ts';
import type { ImageEmbedding } from '../../embedding/types.ts';
import { DejavuError, describeError } from '../../errors.ts';
import { openImageStore } from '../../store/index.ts';
import type { VectorType } from '../../store/postgres/index.ts';
import type { ImageRecord, ImageStore } from '../../store/types.ts';
import { imageSourceOf } from '../../store/records.ts';
import { writeStdout } from '../common.ts';
import type { CliCommand } from '../types.ts';

const HELP = `usage: dejavu migrate --from hnsw|postgres --to hnsw|postgres [options]

Copies every guild's images (records, vectors, signatures) from one store to the other without
re-embedding. Re-running resumes: images already in the target are skipped.
  --data <dir>             data directory of the hnsw store (default: DATA_DIR)
  --keyv-url <url>         where the hnsw store's records live (default: KEYV_URL; '' = SQLite in --data)
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

type StoreKind = 'hnsw' | 'postgres';
type StoreSide = 'source' | 'target';

/** Where one side of the migration lives. */
export interface StoreLocation {
  kind: StoreKind;
  /** hnsw: the data directory. */
  dataDir?: string | undefined;
  /** hnsw: keyv of the records (empty: SQLite in dataDir). */
  keyvUrl?: string | undefined;
  /** postgres. */
  databaseUrl?: string | undefined;
  schema?: string | undefined;
  vectorType?: VectorType | undefined;
}

export interface MigrateOptions {
  from: StoreLocation;
  to: StoreLocation;
  variant: string;
  /** Empty: every guild of the source. */
  guilds?: readonly string[];
  /** Images in flight per guild (default 4). */
  concurrency?: number;
  /** Guilds copied at once (default 4): the stores serialise writes within a guild, not across guilds. */
  parallelGuilds?: number;
  /** Called with one line per progress step (the CLI writes them to stderr). */
  report?: (line: string) => void;
}

export interface GuildMigration {
  id: string;
  /** Images in the source guild. */
  images: number;
  copied: number;
  /** Already in the target (an earlier run). */
  skipped: number;
  failed: number;
  /** Why the guild was not (fully) copied, e.g. a variant mismatch. */
  error?: string;
}

export interface MigrationSummary {
  guilds: GuildMigration[];
  copied: number;
  skipped: number;
  failed: number;
}

const PROGRESS_EVERY_MS = 2000;

/** Opens one side of a migration. The hnsw store never snapshots on a timer here: it flushes at the end. */
export async function openStoreAt(location: StoreLocation, variant: string): Promise<ImageStore> {
  if (location.kind === 'hnsw') {
    if (location.dataDir === undefined) throw new DejavuError('INVALID_INPUT', 'the hnsw store needs a data directory (--data)');
    return openImageStore({ dataDir: location.dataDir, keyvUrl: location.keyvUrl, variant, snapshotIntervalMs: 0 });
  }
  if (location.databaseUrl === undefined) throw new DejavuError('INVALID_INPUT', 'the postgres store needs a database (--database-url or DATABASE_URL)');
  // Loaded only when used: hnsw-only installs need no PostgreSQL client.
  const { openPostgresImageStore } = await import('../../store/postgres/index.ts');
  return openPostgresImageStore({
    databaseUrl: location.databaseUrl,
    variant,
    vectorType: location.vectorType,
    ...(location.schema === undefined ? {} : { schema: location.schema }),
  });
}

/** Copies the source's guilds into the target (see the module comment). Never throws for one guild's problem. */
export async function migrateStores(source: ImageStore, target: ImageStore, options: MigrateOptions): Promise<MigrationSummary> {
  const report = options.report ?? (() => undefined);
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const stats = await source.stats();
  const wanted = options.guilds === undefined || options.guilds.length === 0 ? undefined : new Set(options.guilds);
  const guilds = wanted === undefined ? stats : stats.filter((guild) => wanted.has(guild.id));
  if (stats.length === 0) report('the source store has no guilds: nothing to copy (check --data, --database-url, --schema)');
  for (const missing of wanted === undefined ? [] : [...wanted].filter((id) => !stats.some((guild) => guild.id === id))) {
    report(`guild ${missing}: not in the source store; nothing to copy`);
  }
  const results: GuildMigration[] = new Array<GuildMigration>(guilds.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < guilds.length) {
      const position = next++;
      const guild = guilds[position]!;
      results[position] = await migrateGuild(source, target, guild.id, guild.images, options.variant, concurrency, (line) => report(`[${position + 1}/${guilds.length}] ${line}`));
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, options.parallelGuilds ?? 4), Math.max(1, guilds.length)) }, worker));
  await target.flush();
  return {
    guilds: results,
    copied: sum(results, 'copied'),
    skipped: sum(results, 'skipped'),
    failed: sum(results, 'failed'),
  };
}

async function migrateGuild(
  source: ImageStore,
  target: ImageStore,
  guildId: string,
  images: number,
  variant: string,
  concurrency: number,
  report: (line: string) => void,
): Promise<GuildMigration> {
  const result: GuildMigration = { id: guildId, images, copied: 0, skipped: 0, failed: 0 };
  const started = performance.now();
  let lastReport = started;
  const progress = (): string => `guild ${guildId}: ${result.copied + result.skipped + result.failed}/${images} (${result.copied} copied, ${result.skipped} already there, ${result.failed} failed)`;
  /** Which store a guild-wide failure came from (the advice differs). */
  let side: StoreSide = 'target';
  try {
    // Sources the target already holds (an interrupted earlier run): skipped without a write.
    const present = new Set<string>();
    for await (const record of target.listRecords(guildId)) present.add(record.sourceKey);
    side = 'source';
    /** A failure that concerns the whole guild (a variant mismatch): stops the guild, not just one image. */
    let fatal: { error: unknown; side: StoreSide } | undefined;
    const copyOne = async (record: ImageRecord): Promise<void> => {
      if (present.has(record.sourceKey)) {
        result.skipped += 1;
        return;
      }
      let from: StoreSide = 'source';
      try {
        const vector = await source.getVector(guildId, record.id);
        if (vector === undefined) throw new DejavuError('NOT_FOUND', `record ${record.id} (${record.sourceKey}) has no vector in the source`);
        const embedding: ImageEmbedding = { vector, signature: record.signature, width: record.width, height: record.height };
        from = 'target';
        await target.add(imageSourceOf(record), record.contentHash, embedding);
        result.copied += 1;
      } catch (error) {
        if (isVariantMismatch(error)) {
          fatal ??= { error, side: from };
          return;
        }
        result.failed += 1;
        report(`guild ${guildId}: ${record.sourceKey}: ${describeError(error)}`);
      }
    };
    const running = new Set<Promise<void>>();
    for await (const record of source.listRecords(guildId)) {
      if (fatal !== undefined) break;
      const copy = copyOne(record).finally(() => running.delete(copy));
      running.add(copy);
      if (running.size >= concurrency) await Promise.race(running);
      if (performance.now() - lastReport >= PROGRESS_EVERY_MS) {
        lastReport = performance.now();
        report(progress());
      }
    }
    await Promise.all(running);
    if (fatal !== undefined) {
      side = fatal.side;
      throw fatal.error;
    }
    report(`${progress()} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    result.error = explain(error, variant, side);
    report(`guild ${guildId}: ${result.error}`);
  }
  return result;
}


function isVariantMismatch(error: unknown): error is DejavuError {
  return error instanceof DejavuError && error.code === 'INDEX_VARIANT_MISMATCH';
}

/**
 * A guild's failure in one line. A variant mismatch in the source says which --variant would move the guild
 * as it is; in the target, the guild already exists there with vectors of another kind, which must not mix.
 */
function explain(error: unknown, variant: string, side: StoreSide): string {
  if (!isVariantMismatch(error)) return describeError(error);
  const stored = error.context.indexVariant;
  const guildId = String(error.context.guildId ?? '');
  if (side === 'target') {
    return `INDEX_VARIANT_MISMATCH (target): ${error.message}; remove guild ${guildId} from the target or migrate into another data directory or schema`;
  }
  const hint = typeof stored === 'string' && stored !== variant ? `; to move it as it is, run again with --variant '${stored}' --guild ${guildId}` : '';
  return `INDEX_VARIANT_MISMATCH: ${error.message}${hint}`;
}

function sum(results: readonly GuildMigration[], field: 'copied' | 'skipped' | 'failed'): number {
  return results.reduce((total, result) => total + result[field], 0);
}

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
    // The hnsw store's records: where the bot that built it kept them (an empty value: SQLite in --data).
    const keyvUrl = values['keyv-url'] === undefined ? config.KEYV_URL : values['keyv-url'].trim() || undefined;
    const databaseUrl = values['database-url'] ?? config.DATABASE_URL;
    const vectorType = parseVectorType(values['vector-type']) ?? config.PG_VECTOR_TYPE;
    const schema = values.schema ?? config.PG_SCHEMA;
    const from: StoreLocation = { kind: fromKind, dataDir, keyvUrl, databaseUrl, schema };
    const to: StoreLocation =
      fromKind === toKind
        ? {
            kind: toKind,
            dataDir: values['to-data'] === undefined ? undefined : resolve(values['to-data']),
            keyvUrl,
            databaseUrl: values['to-database-url'] ?? databaseUrl,
            schema: values['to-schema'] ?? schema,
            vectorType,
          }
        : { kind: toKind, dataDir, keyvUrl, databaseUrl, schema, vectorType };
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
