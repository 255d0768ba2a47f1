/** `--only crossover`: exact scan vs HNSW by guild size, which picks EXACT_SEARCH_MAX_IMAGES. */
import { ExactVectorIndex } from '../../src/index/exact.ts';
import { HNSW_DEFAULTS, HnswVectorIndex } from '../../src/index/hnsw.ts';
import { generate, type GeneratorKind } from '../index-vectors.ts';
import { D, QUERIES } from './data.ts';
import { addAllMs, timeQueries, top10Labels } from './measure.ts';
import { ms, type TableRow } from './table.ts';

const SIZES = [500, 1000, 2000, 4000, 8000];

export function crossover(reals: Float32Array, generator: GeneratorKind): void {
  console.log('\n## exact scan vs HNSW by guild size (per image: one insert + one duplicate query, k=10)');
  console.table(SIZES.map((n) => crossoverRow(reals, generator, n)));
}

function crossoverRow(reals: Float32Array, generator: GeneratorKind, n: number): TableRow {
  const data = generate(generator, reals, n, n);
  const queries = generate(generator, reals, QUERIES, 7);
  const exact = new ExactVectorIndex(D);
  const exactInsert = addAllMs(exact, data, n) / n;
  const hnsw = HnswVectorIndex.create(D, HNSW_DEFAULTS, n);
  const hnswInsert = addAllMs(hnsw, data, n) / n;
  const exactQuery = timeQueries(top10Labels(exact), queries);
  const hnswQuery = timeQueries(top10Labels(hnsw), queries);
  return {
    images: n,
    'exact insert': ms(exactInsert),
    'exact query p50': ms(exactQuery.p50),
    'hnsw insert': ms(hnswInsert),
    'hnsw query p50': ms(hnswQuery.p50),
    'exact insert+query': ms(exactInsert + exactQuery.p50),
    'hnsw insert+query': ms(hnswInsert + hnswQuery.p50),
  };
}
