/** Latency and recall over a query set, for any index or store. */
import type { VectorIndex } from '../../src/index/types.ts';
import type { ScoredRecord } from '../../src/store/types.ts';
import { D, row } from './data.ts';
import { withInterval } from './table.ts';

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Per key, the median over runs. */
export function medianOf(runs: Array<Record<string, number>>): Record<string, number> {
  const keys = new Set(runs.flatMap((run) => Object.keys(run)));
  return Object.fromEntries([...keys].map((key) => [key, percentile(runs.map((run) => run[key] ?? Number.NaN), 50)]));
}

/** Adds rows 0…n−1 of `data` as labels 0…n−1; ms for all of them. */
export function addAllMs(index: VectorIndex, data: Float32Array, n: number): number {
  const start = performance.now();
  for (let i = 0; i < n; i++) index.add(i, row(data, i));
  return performance.now() - start;
}

/** Labels of an index's top 10 for a query: the search every timed pass makes. */
export const top10Labels =
  (index: VectorIndex) =>
  (query: Float32Array): number[] =>
    index.search(query, 10).map((hit) => hit.label);

export interface QueryTimes {
  p50: number;
  p99: number;
  /** Mean recall@10; NaN without a truth. */
  recall: number;
  /** True top-10 labels each query returned (empty without a truth). */
  found: number[];
}

/** Latency percentiles of `search` over `queries`; with `truth`, recall@10 and the true labels found per query. */
export function timeQueries(search: (query: Float32Array) => number[], queries: Float32Array, truth?: number[][]): QueryTimes {
  const times: number[] = [];
  const found: number[] = [];
  const count = queries.length / D;
  for (let q = 0; q < count; q++) {
    const query = row(queries, q);
    const start = performance.now();
    const labels = search(query);
    times.push(performance.now() - start);
    if (truth !== undefined) found.push(labels.filter((label) => truth[q]?.includes(label)).length);
  }
  const recall = truth === undefined ? Number.NaN : found.reduce((sum, f) => sum + f, 0) / (count * 10);
  return { p50: percentile(times, 50), p99: percentile(times, 99), recall, found };
}

export interface StoreQueryTimes {
  p50: number;
  p99: number;
  /** Recall@10 with its 95% interval, as printed. */
  recall: string;
  /** Fewest hits any query got (a filtered search may come back short). */
  fewest: number;
}

/**
 * Latency and recall of `count` store searches; query q's hits are matched to `truth[q]` by source key,
 * which the PostgreSQL sections set to the vector's row number.
 */
export async function timeStoreQueries(count: number, search: (q: number) => Promise<ScoredRecord[]>, truth: number[][]): Promise<StoreQueryTimes> {
  const times: number[] = [];
  const found: number[] = [];
  let fewest = Number.POSITIVE_INFINITY;
  for (let q = 0; q < count; q++) {
    const start = performance.now();
    const hits = await search(q);
    times.push(performance.now() - start);
    fewest = Math.min(fewest, hits.length);
    found.push(hits.filter((hit) => truth[q]?.includes(Number(hit.record.sourceKey))).length);
  }
  return { recall: recallText(found), p50: percentile(times, 50), p99: percentile(times, 99), fewest };
}

/** Mean recall@10 over queries (`found`: true top-10 labels each query returned) with its 95% interval. */
export function recallWithInterval(found: number[]): { recall: number; interval: number } {
  const recalls = found.map((f) => f / 10);
  const mean = recalls.reduce((sum, r) => sum + r, 0) / recalls.length;
  const variance = recalls.reduce((sum, r) => sum + (r - mean) ** 2, 0) / Math.max(1, recalls.length - 1);
  return { recall: mean, interval: 1.96 * Math.sqrt(variance / recalls.length) };
}

/** "recall ± interval", as the tables print it. */
export function recallText(found: number[]): string {
  const { recall, interval } = recallWithInterval(found);
  return withInterval(recall, interval);
}
