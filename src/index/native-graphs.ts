/**
 * hnswlib-node graphs live in native memory that is freed only when V8 garbage-collects the JS wrapper, and
 * V8 does not count that memory, so it sees no reason to collect: a bot cycling through 1000 guilds of 1000
 * images kept every evicted graph (2.4 GB RSS with 32 guilds loaded; `npm run bench:index -- --only guilds`).
 * Closing an index therefore frees its graph at once (`initIndex` deletes the old one) and parks the
 * wrapper, which still holds hnswlib's fixed 65536 label locks (2.6 MB), in a small pool that the next index
 * of the same dimensions reuses.
 */
import hnswlib from 'hnswlib-node';
import { StoreError } from '../errors.ts';

const { HierarchicalNSW } = hnswlib;
export type NativeGraph = InstanceType<typeof HierarchicalNSW>;

/** Idle wrappers kept per dimension count: enough for load/evict churn, bounded. */
const MAX_IDLE_PER_DIMENSIONS = 8;
const idle = new Map<number, NativeGraph[]>();

/** An inner-product graph wrapper of `dimensions`, reused when one is idle; call initIndex or readIndex next. */
export function acquireGraph(dimensions: number): NativeGraph {
  return idle.get(dimensions)?.pop() ?? new HierarchicalNSW('ip', dimensions);
}

/** Frees `graph`'s nodes now and parks its wrapper; `graph` must not be used by its old owner again. */
export function releaseGraph(graph: NativeGraph): void {
  const dimensions = graph.getNumDimensions();
  graph.initIndex({ maxElements: 1, m: 2, efConstruction: 1 });
  const parked = idle.get(dimensions) ?? [];
  if (parked.length < MAX_IDLE_PER_DIMENSIONS) parked.push(graph);
  idle.set(dimensions, parked);
}

/** Idle wrappers per dimension count (for tests). */
export function idleGraphs(dimensions: number): number {
  return idle.get(dimensions)?.length ?? 0;
}

/**
 * Reads the graph file at `path` into a pooled wrapper; INDEX_CORRUPT (the wrapper goes back to the pool)
 * when it cannot be read or has other than `dimensions` dimensions.
 */
export async function readGraph(path: string, dimensions: number): Promise<NativeGraph> {
  const graph = acquireGraph(dimensions);
  try {
    await graph.readIndex(path);
  } catch (error) {
    releaseGraph(graph);
    throw new StoreError('INDEX_CORRUPT', `HNSW graph ${path} cannot be read: ${String(error)}`, { path }, { cause: error });
  }
  const found = graph.getNumDimensions();
  if (found !== dimensions) {
    releaseGraph(graph);
    throw new StoreError('INDEX_CORRUPT', `HNSW graph ${path} has ${found} dimensions, expected ${dimensions}`, { path });
  }
  return graph;
}

/** `graph`, or STORE_FAILED once its index is closed: the wrapper may already serve another guild's index. */
export function openGraph(graph: NativeGraph | undefined): NativeGraph {
  if (graph === undefined) throw new StoreError('STORE_FAILED', 'This vector index is closed', {});
  return graph;
}

/** True when `label` was stored but marked deleted (it is live again now); hnswlib throws otherwise. */
export function unmarkIfDeleted(graph: NativeGraph, label: number): boolean {
  try {
    graph.unmarkDelete(label);
    return true;
  } catch {
    return false;
  }
}
