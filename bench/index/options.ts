/** The bench's command line, read once into typed options (flags and defaults: bench/index.ts). */
import {
  HNSW_EF_CONSTRUCTION,
  HNSW_EF_SEARCH,
  HNSW_M,
  REDUCED_HNSW_EF_CONSTRUCTION,
  REDUCED_HNSW_M,
  REDUCED_RERANK,
  type VectorType,
} from '../../src/store/postgres/index.ts';
import type { GeneratorKind } from '../index-vectors.ts';
import type { ScaleIndexKind } from './scale-settings.ts';

export interface HnswBuild {
  m: number;
  efConstruction: number;
}

export interface ScaleOptions {
  /** `--index`: index kinds built per size. */
  kinds: ScaleIndexKind[];
  /** `--generator`: here a list, each generator its own guild (the other sections take one). */
  generators: GeneratorKind[];
  /** `--loads N`: load children per snapshot. */
  loads: number;
  /** `--reuse DIR`: snapshots kept in DIR, one already there loaded instead of built again. */
  reuse: string | undefined;
  /** `--keep` (or `--reuse`): snapshots are not deleted. */
  keep: boolean;
}

export interface PostgresOptions {
  /** --database-url, TEST_POSTGRES_URL or DATABASE_URL; checked only when a PostgreSQL section runs. */
  databaseUrl: string | undefined;
  /** `--pg-types`: column types measured (the many-guilds run takes the first). */
  types: VectorType[];
  /** `--pg-m`, `--pg-ef-construction` (defaults: the store's own). */
  graph: HnswBuild;
  /** `--pg-reduced-m`, `--pg-reduced-ef-construction`: the reduced points' graph. */
  reducedGraph: HnswBuild;
  /** `--pg-ef`: hnsw.ef_search values. */
  efSearch: number[];
  /** `--pg-rerank`: candidates re-ranked by reduced search. */
  rerank: number[];
  /** `--pg-searches`: `full` and/or `reduced`, what is built and measured. */
  searches: string[];
  /** `--pg-warmup N`: untimed searches before each timed pass (other queries than the measured ones). */
  warmup: number;
  /** `--pg-reuse SCHEMA`: search a kept schema without loading or building anything. */
  reuse: string | undefined;
  /** `--pg-keep`: keep the schema. */
  keep: boolean;
  /** `--pg-exact`: the exact-scan rows above 20k images too. */
  exact: boolean;
  /** `--pg-guild-index`: build the HNSW index of the many-guilds schema. */
  guildIndex: boolean;
  /** `--pg-maintenance-work-mem`: for CREATE INDEX. */
  maintenanceWorkMem: string;
}

export interface BenchOptions {
  /** `--only SECTION`: that section alone (any other value runs none). */
  only: string | undefined;
  /** `--store postgres` adds the PostgreSQL sections. */
  store: 'hnsw' | 'postgres';
  /** Generator of every section but scale: `hard` only when named, else `real`. */
  generator: GeneratorKind;
  /** `--sizes`: one-guild sizes (scale, projection, PostgreSQL). */
  sizes: number[];
  /** `--sweep-size`: images of the HNSW parameter sweep. */
  sweepSize: number;
  /** `--guilds` × `--per-guild`: the many-guilds sections. */
  guilds: number;
  perGuild: number;
  scale: ScaleOptions;
  postgres: PostgresOptions;
}

/** A scale child: what the parent's spawn line asks it to build or load. */
export interface ChildJob {
  mode: '--build-child' | '--load-child';
  n: number;
  path: string;
  kind: ScaleIndexKind;
  generator: GeneratorKind;
}

export type Invocation = { kind: 'child'; job: ChildJob } | { kind: 'bench'; options: BenchOptions };

/** `args` without node and the script; `env` for the database URL. */
export function parseInvocation(args: readonly string[], env: NodeJS.ProcessEnv): Invocation {
  const mode = args[0];
  if (mode === '--build-child' || mode === '--load-child') return { kind: 'child', job: parseChildJob(mode, args) };
  return { kind: 'bench', options: parseBenchOptions(args, env) };
}

function parseChildJob(mode: ChildJob['mode'], args: readonly string[]): ChildJob {
  return {
    mode,
    n: Number(args[1]),
    path: args[2] ?? '',
    kind: args[3] === 'pca-hnsw' ? 'pca-hnsw' : 'hnsw',
    generator: args[4] === 'hard' ? 'hard' : 'real',
  };
}

/** The value after `name`, if the flag is there. */
function flagValue(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

const numbers = (list: string): number[] => list.split(',').map(Number);

function parseBenchOptions(args: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  const flag = (name: string): string | undefined => flagValue(args, name);
  const full = args.includes('--full');
  const store = flag('--store') ?? 'hnsw';
  if (store !== 'hnsw' && store !== 'postgres') throw new Error(`--store must be hnsw or postgres (got ${store})`);
  const reuse = flag('--reuse');
  return {
    only: flag('--only'),
    store,
    generator: flag('--generator') === 'hard' ? 'hard' : 'real',
    sizes: numbers(flag('--sizes') ?? (full ? '10000,100000,1000000' : '10000,100000')),
    sweepSize: Number(flag('--sweep-size') ?? 10_000),
    // --full fixes the many-guilds shape: 1000 guilds × 1000.
    guilds: full ? 1000 : Number(flag('--guilds') ?? 1000),
    perGuild: full ? 1000 : Number(flag('--per-guild') ?? 100),
    scale: {
      kinds: (flag('--index') ?? 'hnsw,pca-hnsw').split(',') as ScaleIndexKind[],
      generators: (flag('--generator') ?? 'real,hard').split(',') as GeneratorKind[],
      loads: Math.max(1, Number(flag('--loads') ?? 1)),
      reuse,
      keep: reuse !== undefined || args.includes('--keep'),
    },
    postgres: {
      databaseUrl: flag('--database-url') ?? env.TEST_POSTGRES_URL ?? env.DATABASE_URL,
      types: (flag('--pg-types') ?? 'halfvec,vector').split(',') as VectorType[],
      graph: { m: Number(flag('--pg-m') ?? HNSW_M), efConstruction: Number(flag('--pg-ef-construction') ?? HNSW_EF_CONSTRUCTION) },
      reducedGraph: {
        m: Number(flag('--pg-reduced-m') ?? REDUCED_HNSW_M),
        efConstruction: Number(flag('--pg-reduced-ef-construction') ?? REDUCED_HNSW_EF_CONSTRUCTION),
      },
      efSearch: numbers(flag('--pg-ef') ?? `40,100,${HNSW_EF_SEARCH}`),
      rerank: numbers(flag('--pg-rerank') ?? `128,${REDUCED_RERANK}`),
      searches: (flag('--pg-searches') ?? 'full,reduced').split(','),
      warmup: Number(flag('--pg-warmup') ?? 200),
      reuse: flag('--pg-reuse'),
      keep: args.includes('--pg-keep'),
      exact: args.includes('--pg-exact'),
      guildIndex: args.includes('--pg-guild-index'),
      maintenanceWorkMem: flag('--pg-maintenance-work-mem') ?? '1GB',
    },
  };
}
