/**
 * Long index rebuilds are written as generators that yield after each vector, so one implementation serves
 * both callers: `runSteps` drives it to the end at once (small indexes, journal replay), `runInSlices`
 * gives the event loop back every few milliseconds (a million-vector rebuild takes many minutes, and the
 * bot must keep answering Discord's heartbeats and other guilds meanwhile).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

export function runSteps<T>(steps: Generator<void, T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Runs `steps` in slices of about `sliceMs`; undefined when `cancelled()` turned true between slices. */
export async function runInSlices<T>(steps: Generator<void, T>, cancelled: () => boolean, sliceMs = 15): Promise<T | undefined> {
  let sliceStart = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (performance.now() - sliceStart < sliceMs) continue;
    await nextTurn();
    if (cancelled()) {
      steps.return(undefined as T); // runs the generator's finally blocks (releases what it holds)
      return undefined;
    }
    sliceStart = performance.now();
  }
}

/**
 * The steps of `fill` (which builds `target`), then `target`; if the caller abandons the steps (cancelled
 * in `runInSlices`) or they throw, `target` is closed, so a half-built graph frees its memory at once.
 */
export function* closeIfAbandoned<T extends { close?(): void }>(target: T, fill: Generator<void, void>): Generator<void, T> {
  let finished = false;
  try {
    yield* fill;
    finished = true;
    return target;
  } finally {
    if (!finished) target.close?.();
  }
}
