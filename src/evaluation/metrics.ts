/**
 * Retrieval and decision metrics. Pure functions over rankings and scored pairs, so they can be
 * checked on hand-made examples (test/evaluation/metrics.test.ts).
 */

/**
 * Average precision of one ranking. `relevant[r]` says whether the item at rank r (0 = best) is relevant;
 * `totalRelevant` counts every relevant item, ranked or not (unranked ones count as misses).
 */
export function averagePrecision(relevant: readonly boolean[], totalRelevant: number): number {
  if (totalRelevant <= 0) return 0;
  let hits = 0;
  let sum = 0;
  relevant.forEach((isRelevant, rank) => {
    if (!isRelevant) return;
    hits += 1;
    sum += hits / (rank + 1);
  });
  return sum / totalRelevant;
}

/** Fraction of the first k ranks that are relevant (ranks beyond the list count as not relevant). */
export function precisionAtK(relevant: readonly boolean[], k: number): number {
  let hits = 0;
  for (let rank = 0; rank < k && rank < relevant.length; rank += 1) if (relevant[rank]) hits += 1;
  return hits / k;
}

/** 1 when the best-ranked item is relevant. */
export function recallAt1(relevant: readonly boolean[]): number {
  return relevant[0] === true ? 1 : 0;
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;
}

/**
 * Indices of `candidates` ordered by descending score; ties keep index order, so a ranking never
 * depends on sort stability quirks.
 */
export function rankByScore(scores: ArrayLike<number>, candidates: readonly number[]): number[] {
  return [...candidates].sort((a, b) => (scores[b] ?? -Infinity) - (scores[a] ?? -Infinity) || a - b);
}

/** Scores given by a duplicate decision to labelled pairs. -Infinity = the pair was never reported. */
export interface ScoredPairs {
  positives: Float64Array;
  negatives: Float64Array;
}

export interface OperatingPoint {
  /** Pairs with score ≥ threshold are called duplicates. */
  threshold: number;
  recall: number;
  precision: number;
  truePositives: number;
  falsePositives: number;
}

/** Recall and precision when pairs scoring ≥ threshold are called duplicates. */
export function operatingPointAt(pairs: ScoredPairs, threshold: number): OperatingPoint {
  let truePositives = 0;
  let falsePositives = 0;
  for (const score of pairs.positives) if (score >= threshold && score > -Infinity) truePositives += 1;
  for (const score of pairs.negatives) if (score >= threshold && score > -Infinity) falsePositives += 1;
  const called = truePositives + falsePositives;
  return {
    threshold,
    recall: pairs.positives.length === 0 ? 0 : truePositives / pairs.positives.length,
    precision: called === 0 ? 1 : truePositives / called,
    truePositives,
    falsePositives,
  };
}

/**
 * The best recall reachable with precision ≥ minPrecision by one threshold on the score, and that threshold
 * (the lowest score still called a duplicate). Thresholds are only placed between distinct scores, so tied
 * positives and negatives are called together, as a real threshold would.
 */
export function bestRecallAtPrecision(pairs: ScoredPairs, minPrecision: number): OperatingPoint {
  const labelled: Array<[number, boolean]> = [];
  for (const score of pairs.positives) if (score > -Infinity) labelled.push([score, true]);
  for (const score of pairs.negatives) if (score > -Infinity) labelled.push([score, false]);
  labelled.sort((a, b) => b[0] - a[0]);

  let best: OperatingPoint = { threshold: Infinity, recall: 0, precision: 1, truePositives: 0, falsePositives: 0 };
  let truePositives = 0;
  let falsePositives = 0;
  for (let index = 0; index < labelled.length; index += 1) {
    const [score, isPositive] = labelled[index] as [number, boolean];
    if (isPositive) truePositives += 1;
    else falsePositives += 1;
    const next = labelled[index + 1];
    if (next !== undefined && next[0] === score) continue;
    const precision = truePositives / (truePositives + falsePositives);
    const recall = truePositives / Math.max(1, pairs.positives.length);
    if (precision >= minPrecision && recall > best.recall) {
      best = { threshold: score, recall, precision, truePositives, falsePositives };
    }
  }
  return best;
}
