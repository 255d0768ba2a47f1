/**
 * Average query expansion (AQE) for similarity search: the query vector plus its nearest neighbours' vectors,
 * re-normalised, is searched again. Neighbours share what the picture is about more than its incidental
 * details, so the second search ranks same-category images higher (corel-wang-dev mAP ≈ +0.03, docs/benchmarks.md).
 * Pure; no learned parameters.
 *
 * Use: `first = findSimilar(q, { k: QUERY_EXPANSION_NEIGHBOURS, filter })`, then
 * `findSimilar(expandQuery(q, first vectors), { k, filter })` with the SAME filter, so that nothing the
 * asker may not see shapes the answer. Not for duplicate detection (it uses the plain vector).
 */

/** Neighbours averaged into the query: 3 is the largest that keeps near-duplicate ranking intact. */
export const QUERY_EXPANSION_NEIGHBOURS = 3;

/** L2-normalised sum of the query and its neighbours (all unit vectors of one length). */
export function expandQuery(query: Float32Array, neighbours: readonly Float32Array[]): Float32Array {
  const expanded = Float32Array.from(query);
  for (const neighbour of neighbours) {
    if (neighbour.length !== query.length) throw new RangeError(`neighbour has ${neighbour.length} dimensions, query ${query.length}`);
    for (let index = 0; index < expanded.length; index += 1) expanded[index]! += neighbour[index]!;
  }
  let squares = 0;
  for (const value of expanded) squares += value * value;
  const norm = Math.sqrt(squares);
  if (norm > 0) for (let index = 0; index < expanded.length; index += 1) expanded[index]! /= norm;
  return expanded;
}
