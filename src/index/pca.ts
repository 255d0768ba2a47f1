/**
 * Linear projection of unit embeddings onto their top principal subspace (uncentred: the subspace that keeps
 * the most energy of x, so inner products q·x are best preserved by (Pq)·(Px)). Photo embeddings put most
 * of their variance in a few dozen to a few hundred directions (bench/index-vectors.ts measures ~53
 * effective dimensions for the photos of ../shared), so an HNSW graph over 256 projected dimensions finds
 * the same candidates as one over 1280 at a fifth of the distance cost and memory.
 */
import { StoreError } from '../errors.ts';
import { dot } from './exact.ts';
import { seededRandom } from './random.ts';
import { runSteps } from './steps.ts';

export interface Projection {
  /** Input dimensions (d). */
  readonly inputDimensions: number;
  /** Output dimensions (r). */
  readonly outputDimensions: number;
  /** r rows of d values, orthonormal. */
  readonly basis: Float32Array;
}

/**
 * Fits an r-dimensional projection to `samples` by subspace iteration on their second-moment matrix
 * (d×d, built once: n·d²/2 multiply-adds), `iterations` rounds of Q ← orth(C·Q).
 */
export function fitProjection(samples: readonly Float32Array[], outputDimensions: number, iterations = 5, seed = 1): Projection {
  return runSteps(fitProjectionSteps(samples, outputDimensions, iterations, seed));
}

/**
 * `fitProjection` in steps of about a millisecond each (one sample, or one basis row of one round; see
 * steps.ts): at 2048 samples of 1280-d the fit takes seconds, which a background rebuild must not block.
 */
export function* fitProjectionSteps(samples: readonly Float32Array[], outputDimensions: number, iterations = 5, seed = 1): Generator<void, Projection> {
  const first = samples[0];
  if (first === undefined) throw new StoreError('INVALID_INPUT', 'Cannot fit a projection to zero samples', {});
  const d = first.length;
  const r = Math.min(outputDimensions, d);
  const moment = new Float64Array(d * d);
  for (const x of samples) {
    for (let i = 0; i < d; i++) {
      const xi = x[i] ?? 0;
      if (xi === 0) continue;
      const rowStart = i * d;
      for (let j = i; j < d; j++) moment[rowStart + j] = (moment[rowStart + j] ?? 0) + xi * (x[j] ?? 0);
    }
    yield;
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) moment[i * d + j] = moment[j * d + i] ?? 0;
  const random = seededRandom(seed);
  let basis = new Float64Array(r * d);
  for (let k = 0; k < basis.length; k++) basis[k] = random() - 0.5;
  orthonormalise(basis, r, d);
  for (let round = 0; round < iterations; round++) {
    const next = new Float64Array(r * d);
    for (let k = 0; k < r; k++) {
      for (let i = 0; i < d; i++) {
        let sum = 0;
        const rowStart = i * d;
        const basisStart = k * d;
        for (let j = 0; j < d; j++) sum += (moment[rowStart + j] ?? 0) * (basis[basisStart + j] ?? 0);
        next[basisStart + i] = sum;
      }
      yield;
    }
    orthonormalise(next, r, d);
    yield;
    basis = next;
  }
  return { inputDimensions: d, outputDimensions: r, basis: Float32Array.from(basis) };
}

/** Modified Gram-Schmidt on r rows of length d (a row that collapses is replaced by a unit axis). */
function orthonormalise(rows: Float64Array, r: number, d: number): void {
  for (let k = 0; k < r; k++) {
    const start = k * d;
    for (let p = 0; p < k; p++) {
      let overlap = 0;
      for (let i = 0; i < d; i++) overlap += (rows[start + i] ?? 0) * (rows[p * d + i] ?? 0);
      for (let i = 0; i < d; i++) rows[start + i] = (rows[start + i] ?? 0) - overlap * (rows[p * d + i] ?? 0);
    }
    let norm = 0;
    for (let i = 0; i < d; i++) norm += (rows[start + i] ?? 0) ** 2;
    norm = Math.sqrt(norm);
    if (norm < 1e-9) {
      rows.fill(0, start, start + d);
      rows[start + (k % d)] = 1;
      continue;
    }
    for (let i = 0; i < d; i++) rows[start + i] = (rows[start + i] ?? 0) / norm;
  }
}

/** P·x as a plain array (what hnswlib-node takes). */
export function project(projection: Projection, x: Float32Array): number[] {
  const { inputDimensions: d, outputDimensions: r, basis } = projection;
  const out = new Array<number>(r);
  for (let k = 0; k < r; k++) out[k] = dot(x, basis, k * d, d);
  return out;
}

/**
 * [Px, ‖x − PᵀPx‖]: the projection plus the norm of what it drops. Every point keeps the norm of x, so a
 * graph over these points under inner product ranks like one under distance (reduced-hnsw.ts), while the
 * query [Pq, 0] still scores Pq·Px.
 */
export function projectWithResidual(projection: Projection, x: Float32Array): number[] {
  const projected = project(projection, x);
  let residual = dot(x, x, 0, projection.inputDimensions);
  for (const value of projected) residual -= value * value;
  projected.push(Math.sqrt(Math.max(0, residual)));
  return projected;
}
