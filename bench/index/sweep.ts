/** `--only sweep`: HNSW build and search parameters at one guild size, which picks HNSW_DEFAULTS. */
import { HnswVectorIndex } from '../../src/index/hnsw.ts';
import { generate, type GeneratorKind } from '../index-vectors.ts';
import { D, QUERIES, row } from './data.ts';
import { addAllMs, timeQueries, top10Labels } from './measure.ts';
import { ms, type TableRow } from './table.ts';
import { exactTopK } from './truth.ts';

const GRAPHS = [[8, 100], [16, 100], [16, 200], [24, 200]] as const;
const EF_SEARCH = [16, 32, 64, 128];

export function sweep(reals: Float32Array, generator: GeneratorKind, n: number): void {
  console.log(`\n## HNSW parameters at ${n} images (recall@10 vs exact, ${QUERIES} queries, single thread)`);
  const data = generate(generator, reals, n, 1);
  const queries = generate(generator, reals, QUERIES, 2);
  const truth = Array.from({ length: QUERIES }, (_, q) => exactTopK(data, n, row(queries, q), 10));
  const rows: TableRow[] = [];
  for (const [m, efConstruction] of GRAPHS) {
    const index = HnswVectorIndex.create(D, { m, efConstruction, efSearch: 64 }, n);
    const build = addAllMs(index, data, n) / 1000;
    for (const ef of EF_SEARCH) {
      index.setEfSearch(ef);
      const result = timeQueries(top10Labels(index), queries, truth);
      rows.push({ M: m, efC: efConstruction, ef, 'build s': build.toFixed(1), 'recall@10': result.recall.toFixed(4), p50: ms(result.p50), p99: ms(result.p99) });
    }
  }
  console.table(rows);
}
