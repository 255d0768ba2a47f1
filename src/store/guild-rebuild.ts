/**
 * When a guild's index is rebuilt (its kind no longer fits its size, or too many vectors are marked
 * deleted) and how a large rebuild runs in the background: built from the current index a few milliseconds
 * at a time while the guild keeps serving from it, with the changes made meanwhile recorded and replayed
 * onto the new index before it is swapped in (./guild-index.ts does the swap under the guild's lock).
 */
import { preferredKind, rebuildSteps, type IndexPolicy } from '../index/select.ts';
import { runInSlices } from '../index/steps.ts';
import type { VectorIndex } from '../index/types.ts';
import { childLogger } from '../logger.ts';

const log = childLogger('guild-index');

/**
 * Index rebuilds (kind switch, compaction) of bigger guilds run in the background, a few milliseconds at a
 * time, while the guild keeps serving from its current index: rebuilding 100k vectors into the PCA graph
 * takes minutes, and holding the guild (or the whole event loop) that long would stall searches, indexing
 * and the gateway heartbeat. Below this size a rebuild takes a few seconds at most and runs inline.
 */
export const BACKGROUND_REBUILD_MIN_SIZE = 5000;
/** Compact when marked-deleted vectors exceed this fraction of the stored ones (HNSW). */
const COMPACT_DELETED_FRACTION = 0.25;

/** Whether the index should be rebuilt: the wrong kind for its size, or too many vectors marked deleted. */
export function needsRebuild(index: VectorIndex, policy: IndexPolicy, compactDeletedFraction = COMPACT_DELETED_FRACTION): boolean {
  const stored = index.size + index.deletedCount;
  const deletedFraction = stored === 0 ? 0 : index.deletedCount / stored;
  const wrongKind = preferredKind(index.size, policy) !== index.kind;
  return wrongKind || deletedFraction > compactDeletedFraction;
}

/** Whether a rebuild of `index` runs in the background rather than inline. */
export function rebuildsInBackground(index: VectorIndex, minSize = BACKGROUND_REBUILD_MIN_SIZE): boolean {
  return index.size + index.deletedCount > minSize;
}

interface Change {
  id: number;
  /** Absent: a removal. */
  vector?: Float32Array;
}

/** One background rebuild: the changes applied since it started, replayed onto the new index when it ends. */
export class BackgroundRebuild {
  private readonly changes: Change[] = [];
  private cancelled = false;
  readonly startedAt = performance.now();
  /** Settles once the new index was handed to `finish`, or the rebuild was cancelled or failed. */
  readonly done: Promise<void>;

  /**
   * Starts building from `source` in slices of at most `sliceMs`. `finish` gets the built index (it checks
   * `isCancelled`, replays the changes and swaps it in); `settled` runs at the end whatever happened. A
   * failure leaves the current index in place (logged; the guild retries at its next snapshot).
   */
  constructor(
    source: VectorIndex,
    policy: IndexPolicy,
    sliceMs: number | undefined,
    guildId: string,
    finish: (target: VectorIndex) => Promise<void>,
    settled: () => void,
  ) {
    log.info({ guildId, kind: source.kind, size: source.size, deleted: source.deletedCount }, 'index rebuild started in the background');
    this.done = runInSlices(rebuildSteps(source, policy), () => this.cancelled, sliceMs)
      .then((target) => (target === undefined ? undefined : finish(target)))
      .catch((error: unknown) => log.error({ err: error, guildId }, 'index rebuild failed; keeping the current index'))
      .finally(settled);
  }

  get isCancelled(): boolean {
    return this.cancelled;
  }

  cancel(): void {
    this.cancelled = true;
  }

  recordAdd(id: number, vector: Float32Array): void {
    this.changes.push({ id, vector });
  }

  recordRemove(id: number): void {
    this.changes.push({ id });
  }

  /** Applies the changes recorded since the rebuild started to the index it built. */
  replayOnto(target: VectorIndex): void {
    for (const change of this.changes) {
      if (change.vector === undefined) target.remove(change.id);
      else target.add(change.id, change.vector);
    }
  }
}
