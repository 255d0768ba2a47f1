/**
 * `--only scale`: one guild per size, index kind and generator, built and loaded in child processes
 * (scale-child.ts) so each RSS is clean; the snapshot is evicted from the page cache before every load.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HNSW_DEFAULTS } from '../../src/index/hnsw.ts';
import { withHugePageMalloc } from '../../src/index/huge-pages.ts';
import { REDUCED_INDEX_DEFAULTS } from '../../src/index/select.ts';
import type { GeneratorKind } from '../index-vectors.ts';
import { SCALE_QUERIES } from './data.ts';
import { medianOf } from './measure.ts';
import type { ChildJob, ScaleOptions } from './options.ts';
import { SCALE_SETTINGS, settingName, type ScaleIndexKind } from './scale-settings.ts';
import { evictFromPageCache, pathBytes } from './snapshot.ts';
import { mb, msPair, withInterval } from './table.ts';

type Numbers = Record<string, number>;
type Row = Record<string, string>;

/** One snapshot's runs: what the build child printed (empty when reused) and each load child's numbers. */
interface SnapshotRuns {
  n: number;
  generator: GeneratorKind;
  kind: ScaleIndexKind;
  reused: boolean;
  built: Numbers;
  loads: Numbers[];
  hugeLoads: Numbers[];
  /** Every load found the snapshot evicted from the page cache. */
  evicted: boolean;
  snapshotBytes: number;
}

/** `entry`: the bench's entry script, which the children are started through. */
export function scale(sizes: number[], options: ScaleOptions, entry: string): void {
  const reduced = REDUCED_INDEX_DEFAULTS.parameters;
  console.log(
    `\n## one guild, single thread. hnsw: M=${HNSW_DEFAULTS.m} efC=${HNSW_DEFAULTS.efConstruction} on 1280-d, setting = ef. ` +
      `pca-hnsw: M=${reduced.m} efC=${reduced.efConstruction} on ${reduced.reducedDimensions}-d PCA + exact re-rank, setting = ef = candidates re-ranked. ` +
      `Load and the first query pass after evicting the snapshot from the page cache (cold); later passes warm.`,
  );
  const dir = options.reuse ?? mkdtempSync(join(tmpdir(), 'dejavu-bench-'));
  mkdirSync(dir, { recursive: true });
  const rows: Row[] = [];
  const settingRows: Row[] = [];
  try {
    for (const n of sizes) {
      for (const generator of options.generators) {
        for (const kind of options.kinds) {
          const runs = runSnapshot(entry, dir, options, { n, path: join(dir, `index-${n}-${generator}.${kind}`), kind, generator });
          const summary = summaryRow(runs, options.loads);
          console.error(JSON.stringify(summary));
          rows.push(summary);
          for (const line of settingRowsOf(runs)) {
            console.error(JSON.stringify(line));
            settingRows.push(line);
          }
        }
      }
    }
  } finally {
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  }
  console.table(rows);
  console.table(settingRows);
}

/**
 * Builds (unless reused) and loads one snapshot: each load in a fresh child after evicting the snapshot
 * again, alternating plain glibc malloc and huge pages (src/index/huge-pages.ts); the tables show medians
 * (noisy VM). The snapshot is deleted after unless kept.
 */
function runSnapshot(entry: string, dir: string, options: ScaleOptions, target: Omit<ChildJob, 'mode'>): SnapshotRuns {
  const { n, path, kind, generator } = target;
  const reused = options.reuse !== undefined && existsSync(path);
  const built = reused ? {} : child(entry, { mode: '--build-child', ...target });
  const loads: Numbers[] = [];
  const hugeLoads: Numbers[] = [];
  let evicted = true;
  for (let run = 0; run < options.loads; run++) {
    evicted = evictFromPageCache(path) && evicted;
    loads.push(child(entry, { mode: '--load-child', ...target }));
    evicted = evictFromPageCache(path) && evicted;
    hugeLoads.push(child(entry, { mode: '--load-child', ...target }, withHugePageMalloc(process.env)));
  }
  const snapshotBytes = pathBytes(path);
  if (options.keep) console.error(`kept ${path} (load it again: npm run bench:index -- --only scale --sizes ${n} --index ${kind} --generator ${generator} --reuse ${dir})`);
  else rmSync(path, { recursive: true, force: true });
  return { n, generator, kind, reused, built, loads, hugeLoads, evicted, snapshotBytes };
}

function child(entry: string, job: ChildJob, env: NodeJS.ProcessEnv = process.env): Numbers {
  const { mode, n, path, kind, generator } = job;
  const result = spawnSync(process.execPath, ['--max-old-space-size=16384', '--import', 'tsx', entry, mode, String(n), path, kind, generator], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (result.status !== 0) throw new Error(`${mode} ${n} ${kind} ${generator} failed with status ${result.status}`);
  return JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as Numbers;
}

const loadSeconds = (runs: Numbers[]): string => runs.map((l) => (l.loadSeconds ?? 0).toFixed(1)).join(' ');

/** The snapshot's build, size, load and RSS row. */
function summaryRow(runs: SnapshotRuns, loadRuns: number): Row {
  const { built, reused } = runs;
  const loaded = medianOf(runs.loads);
  const hugeLoaded = medianOf(runs.hugeLoads);
  return {
    images: String(runs.n),
    vectors: runs.generator,
    index: runs.kind,
    'fit+build s': reused ? 'reused' : `${(built.fitSeconds ?? 0).toFixed(0)}+${(built.buildSeconds ?? 0).toFixed(0)}`,
    'build RSS Δ': reused ? '-' : mb(built.indexRssDelta ?? 0),
    snapshot: mb(runs.snapshotBytes),
    'save s': reused ? '-' : (built.saveSeconds ?? 0).toFixed(1),
    [`load s (${runs.evicted ? 'cold' : 'warm'}${loadRuns > 1 ? `, median of ${loadRuns}: ${loadSeconds(runs.loads)}` : ''})`]: (loaded.loadSeconds ?? 0).toFixed(2),
    [`load s, huge pages${loadRuns > 1 ? ` (${loadSeconds(runs.hugeLoads)})` : ''}`]: (hugeLoaded.loadSeconds ?? 0).toFixed(2),
    'RSS after load': mb(loaded.rss ?? 0),
    'RSS after load, huge pages': mb(hugeLoaded.rss ?? 0),
    'RSS after queries': mb(loaded.rssEnd ?? 0),
    'p50/p99 default, first pass': msPair(loaded.p50Cold, loaded.p99Cold),
  };
}

/** Recall and warm latency per search setting (plain-malloc loads, medians). */
function settingRowsOf(runs: SnapshotRuns): Row[] {
  const loaded = medianOf(runs.loads);
  return SCALE_SETTINGS[runs.kind].map((setting) => {
    const name = settingName(runs.kind, setting);
    const recall = withInterval(loaded[`recall ${name}`] ?? 0, loaded[`recall interval ${name}`] ?? 0);
    return { images: String(runs.n), vectors: runs.generator, index: runs.kind, setting: name, [`recall@10 (${SCALE_QUERIES} queries, 95%)`]: recall, 'p50/p99 (warm)': msPair(loaded[`p50 ${name}`], loaded[`p99 ${name}`]) };
  });
}
