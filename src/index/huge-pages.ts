/**
 * hnswlib reads a guild's graph into native (malloc) memory: 1.2 GB for a million images. On Linux, glibc's
 * `malloc.hugetlb=1` tunable backs such allocations with transparent huge pages, so filling them takes 512×
 * fewer page faults, which dominate loading on virtual machines: 1M-image pca-hnsw load 7.1–7.7 s with it vs
 * 10.6–12.7 s without (`npm run bench:index -- --only scale`, same snapshot; docs/benchmarks.md, "Vector index"). glibc reads
 * the tunable when a process starts, so it is given to processes we spawn (shards); other C libraries ignore it.
 */
export const HUGE_PAGE_TUNABLE = 'glibc.malloc.hugetlb=1';

/** `env` with the huge-page tunable added, unless it already sets `glibc.malloc.hugetlb` (an operator's choice wins). */
export function withHugePageMalloc(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const current = env.GLIBC_TUNABLES;
  if (current?.includes('glibc.malloc.hugetlb=') === true) return env;
  return { ...env, GLIBC_TUNABLES: current === undefined || current === '' ? HUGE_PAGE_TUNABLE : `${current}:${HUGE_PAGE_TUNABLE}` };
}
