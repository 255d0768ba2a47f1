/** Exact top 10 by brute-force scan: the ground truth recall is measured against, cached where it is costly. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dot } from '../../src/index/exact.ts';
import type { GeneratorKind } from '../index-vectors.ts';
import { BENCH_CACHE_DIR, D, row } from './data.ts';

/** Labels of the k rows of `data` (n × D) nearest `query` among those `keep` allows. */
export function filteredTopK(data: Float32Array, n: number, query: Float32Array, k: number, keep: (i: number) => boolean): number[] {
  const scores: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) if (keep(i)) scores.push([i, dot(query, data, i * D, D)]);
  return scores.sort((a, b) => b[1] - a[1]).slice(0, k).map(([i]) => i);
}

export function exactTopK(data: Float32Array, n: number, query: Float32Array, k: number): number[] {
  return filteredTopK(data, n, query, k, () => true);
}

/** Where the exact top 10 of `queries` over the scale data (`name`: which labels count) is cached. */
export function truthCachePath(name: string, generator: GeneratorKind, n: number, queries: number): string {
  return join(BENCH_CACHE_DIR, `truth-${generator}-${n}-${queries}-${name}.json`);
}

export function readTruthCache(path: string): number[][] | undefined {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as number[][]) : undefined;
}

export function writeTruthCache(path: string, truth: number[][]): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, JSON.stringify(truth));
}

/**
 * Exact top 10 of every benchmark query over the scale section's first n vectors (optionally only labels
 * `keep` allows), cached in data/bench-cache: at 1M it costs ~10 minutes of one core.
 */
export function cachedTruth(name: string, generator: GeneratorKind, data: Float32Array, n: number, queries: Float32Array, keep?: (i: number) => boolean): number[][] {
  const path = truthCachePath(name, generator, n, queries.length / D);
  const cached = readTruthCache(path);
  if (cached !== undefined) return cached;
  const truth = Array.from({ length: queries.length / D }, (_, q) => filteredTopK(data, n, row(queries, q), 10, keep ?? (() => true)));
  writeTruthCache(path, truth);
  return truth;
}
