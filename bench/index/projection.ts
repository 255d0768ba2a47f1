/**
 * `--only projection`: how much recall the PCA projection alone costs (no graph): exact search on the
 * 256-d projections, top R re-ranked with the full vectors, against exact full-vector top 10.
 */
import { dot } from '../../src/index/exact.ts';
import { fitProjection, project } from '../../src/index/pca.ts';
import { REDUCED_INDEX_DEFAULTS } from '../../src/index/select.ts';
import { TopK } from '../../src/index/top-k.ts';
import { generate, type GeneratorKind } from '../index-vectors.ts';
import { D, row, scaleChunks } from './data.ts';

const TRUTH_QUERIES = 50;
const CANDIDATES = [10, 32, 64, 128, 256];

export function projectionRecall(reals: Float32Array, generator: GeneratorKind, n: number): void {
  const { fitSamples, parameters } = REDUCED_INDEX_DEFAULTS;
  const queries = generate(generator, reals, TRUTH_QUERIES, 12);
  const full = Array.from({ length: TRUTH_QUERIES }, () => new TopK(10));
  const reduced = Array.from({ length: TRUTH_QUERIES }, () => new TopK(512));
  let projected: number[][] = [];
  let projection: ReturnType<typeof fitProjection> | undefined;
  for (const { start, count, data } of scaleChunks(generator, reals, n)) {
    if (projection === undefined) {
      // Fitted on the first chunk, as the reduced index fits on the first images it sees.
      projection = fitProjection(Array.from({ length: Math.min(fitSamples, count) }, (_, i) => row(data, i)), parameters.reducedDimensions);
      const fitted = projection;
      projected = Array.from({ length: TRUTH_QUERIES }, (_, q) => project(fitted, row(queries, q)));
    }
    for (let i = 0; i < count; i++) {
      const p = project(projection, row(data, i));
      for (let q = 0; q < TRUTH_QUERIES; q++) {
        full[q]?.offer(start + i, dot(row(queries, q), data, i * D, D));
        reduced[q]?.offer(start + i, innerProduct(projected[q] ?? [], p));
      }
    }
  }
  console.log(`\n## projection only, ${n} ${generator} vectors: exact search on ${parameters.reducedDimensions}-d, top R re-ranked exactly (${TRUTH_QUERIES} queries)`);
  const truth = full.map((top) => new Set(top.result().map((hit) => hit.label)));
  const candidates = reduced.map((top) => top.result().map((hit) => hit.label));
  console.table(
    CANDIDATES.map((r) => ({
      R: r,
      'recall@10': (candidates.reduce((sum, labels, q) => sum + labels.slice(0, r).filter((label) => truth[q]?.has(label)).length, 0) / (TRUTH_QUERIES * 10)).toFixed(3),
    })),
  );
}

function innerProduct(a: number[], b: number[]): number {
  let score = 0;
  for (let k = 0; k < b.length; k++) score += (a[k] ?? 0) * (b[k] ?? 0);
  return score;
}
