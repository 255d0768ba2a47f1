/**
 * `migrateStores`: copies every guild's records, vectors and duplicate signatures from one image store to
 * another, without re-embedding anything (`dejavu migrate` opens the two stores and prints the summary).
 *
 * Written against the ImageStore contract only (stats, listRecords, getVector, add). Resumable: `add` is
 * idempotent on (guild, sourceKey), and sources already in the target are skipped without a write, so an
 * interrupted run is simply started again. Both stores are opened with one embedding variant; a guild
 * indexed with another variant is reported with the variant to pass as --variant, and nothing of it is
 * copied. Record ids are allocated anew by the target (they are internal to a store).
 */
import type { ImageEmbedding } from '../embedding/types.ts';
import { DejavuError, describeError } from '../errors.ts';
import type { StoreLocation } from './open.ts';
import { imageSourceOf } from './records.ts';
import type { ImageRecord, ImageStore } from './types.ts';

type StoreSide = 'source' | 'target';

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
