/**
 * Synthetic embedding sets for `npm run bench:index`, grown from the real EfficientNet-B0 embeddings of
 * ../shared/datasets (1454 photos). Two generators:
 *
 *  - `hard`: w·real_a + (1−w)·real_b + isotropic gaussian noise of norm 0.6, unit length. Isotropic noise in
 *    1280-d spreads every vector over all directions: nearly random points, far harder for a graph index
 *    than photo embeddings (kept so the old numbers stay comparable and nobody is misled).
 *  - `real`: the same two-photo mix, but the noise is shaped by the photos' own second-moment structure: a
 *    random gaussian combination of centred real embeddings, (1/√m)·Σ g_j (x_j − μ), has (up to sampling)
 *    the covariance of the photos, so its variance sits in the same few hundred directions. Its scale is
 *    the one whose nearest-neighbour cosines match held-out real photos (`realismReport`).
 */
import { seededRandom } from '../src/index/random.ts';

export type GeneratorKind = 'hard' | 'real';

const D = 1280;
const HARD_NOISE = 0.6;
/** Noise scale of the `real` generator (relative to a unit photo embedding); see `realismReport`. */
export const REAL_NOISE = 0.3;
/** Centred photos combined per noise vector. */
const NOISE_TERMS = 16;

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Mean of the rows of `matrix` (count × D). */
function meanRow(matrix: Float32Array): Float32Array {
  const count = matrix.length / D;
  const mean = new Float32Array(D);
  for (let r = 0; r < count; r++) for (let i = 0; i < D; i++) mean[i] = (mean[i] ?? 0) + (matrix[r * D + i] ?? 0) / count;
  return mean;
}

/** n unit vectors (row-major) from the photos in `reals` (count × D). */
export function generate(kind: GeneratorKind, reals: Float32Array, n: number, seed: number, noiseScale = kind === 'hard' ? HARD_NOISE : REAL_NOISE): Float32Array {
  const random = seededRandom(seed);
  const count = reals.length / D;
  const mean = kind === 'real' ? meanRow(reals) : new Float32Array(D);
  const out = new Float32Array(n * D);
  const noise = new Float32Array(D);
  for (let row = 0; row < n; row++) {
    const a = Math.floor(random() * count) * D;
    const b = Math.floor(random() * count) * D;
    const weight = random();
    noise.fill(0);
    if (kind === 'hard') {
      for (let i = 0; i < D; i++) noise[i] = gaussian(random);
    } else {
      for (let j = 0; j < NOISE_TERMS; j++) {
        const c = Math.floor(random() * count) * D;
        const g = gaussian(random);
        for (let i = 0; i < D; i++) noise[i] = (noise[i] ?? 0) + g * ((reals[c + i] ?? 0) - (mean[i] ?? 0));
      }
    }
    let noiseNorm = 0;
    for (let i = 0; i < D; i++) noiseNorm += (noise[i] ?? 0) ** 2;
    // hard: fixed noise norm; real: the photos' own spread, scaled (its norm varies like theirs).
    const scale = kind === 'hard' ? noiseScale / Math.sqrt(noiseNorm) : noiseScale / Math.sqrt(NOISE_TERMS);
    let norm = 0;
    for (let i = 0; i < D; i++) {
      const value = weight * (reals[a + i] ?? 0) + (1 - weight) * (reals[b + i] ?? 0) + scale * (noise[i] ?? 0);
      out[row * D + i] = value;
      norm += value * value;
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < D; i++) out[row * D + i] = (out[row * D + i] ?? 0) / norm;
  }
  return out;
}

function dotRows(a: Float32Array, i: number, b: Float32Array, j: number): number {
  let s = 0;
  for (let t = 0; t < D; t++) s += (a[i * D + t] ?? 0) * (b[j * D + t] ?? 0);
  return s;
}

/** For each row of `queries`, the cosine of its nearest row in `base` (all unit vectors). */
export function nearestCosines(queries: Float32Array, base: Float32Array): number[] {
  const result: number[] = [];
  for (let q = 0; q < queries.length / D; q++) {
    let best = -1;
    for (let r = 0; r < base.length / D; r++) best = Math.max(best, dotRows(queries, q, base, r));
    result.push(best);
  }
  return result.sort((x, y) => x - y);
}

/**
 * Participation ratio (tr C)² / tr(C²) of the centred rows' covariance C: the number of directions the
 * variance effectively spreads over (1280 for isotropic noise). Computed on the n×n Gram matrix.
 */
export function effectiveDimensions(matrix: Float32Array): number {
  const n = matrix.length / D;
  const centred = new Float32Array(matrix);
  const mean = meanRow(matrix);
  for (let r = 0; r < n; r++) for (let i = 0; i < D; i++) centred[r * D + i] = (centred[r * D + i] ?? 0) - (mean[i] ?? 0);
  let trace = 0;
  let frobenius = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const g = dotRows(centred, i, centred, j);
      if (i === j) trace += g;
      frobenius += (i === j ? 1 : 2) * g * g;
    }
  }
  return (trace * trace) / frobenius;
}

export interface RealismRow {
  source: string;
  'NN cosine p10/p50/p90': string;
  'effective dims': string;
}

/**
 * Holds out `heldOut` photos; the rest feed the generators. Compares the held-out photos' nearest-neighbour
 * cosines (to the other photos) and effective dimensions with those of generated sets of the same sizes.
 */
export function realismReport(reals: Float32Array, heldOut = 300, noiseScales: number[] = [REAL_NOISE]): RealismRow[] {
  const count = reals.length / D;
  const fit = reals.subarray(0, (count - heldOut) * D);
  const held = reals.subarray((count - heldOut) * D);
  const fitCount = count - heldOut;
  const describe = (source: string, queries: Float32Array, base: Float32Array): RealismRow => {
    const cosines = nearestCosines(queries, base);
    const at = (p: number): string => (cosines[Math.min(cosines.length - 1, Math.floor(p * cosines.length))] ?? 0).toFixed(3);
    return { source, 'NN cosine p10/p50/p90': `${at(0.1)} / ${at(0.5)} / ${at(0.9)}`, 'effective dims': effectiveDimensions(queries).toFixed(0) };
  };
  const rows = [describe(`held-out photos (${heldOut}) vs ${fitCount} other photos`, held, fit)];
  for (const scale of noiseScales) {
    rows.push(describe(`real generator, noise ${scale}`, generate('real', fit, heldOut, 21, scale), generate('real', fit, fitCount, 22, scale)));
  }
  rows.push(describe('hard generator (noise 0.6)', generate('hard', fit, heldOut, 21), generate('hard', fit, fitCount, 22)));
  return rows;
}
