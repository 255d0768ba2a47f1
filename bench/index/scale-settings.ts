/** What the one-guild scale runs build and which search settings they measure (shared by parent and children). */
import { HnswVectorIndex } from '../../src/index/hnsw.ts';
import { ReducedHnswVectorIndex } from '../../src/index/reduced-hnsw.ts';
import type { VectorIndex } from '../../src/index/types.ts';

export type ScaleIndexKind = 'hnsw' | 'pca-hnsw';

export interface SearchSetting {
  ef: number;
  /** pca-hnsw only: graph candidates re-ranked with the full vectors. */
  rerank: number;
}

/** Search settings measured per index kind (the defaults are among them). */
export const SCALE_SETTINGS: Record<ScaleIndexKind, SearchSetting[]> = {
  hnsw: [64, 128, 256].map((ef) => ({ ef, rerank: 0 })),
  'pca-hnsw': [
    { ef: 256, rerank: 64 },
    { ef: 256, rerank: 128 },
    { ef: 512, rerank: 128 },
    { ef: 512, rerank: 256 },
    { ef: 768, rerank: 256 },
    { ef: 1024, rerank: 256 },
    { ef: 2048, rerank: 256 },
  ],
};

/** The setting's name in the tables, and the key suffix of its numbers in a load child's JSON. */
export const settingName = (kind: ScaleIndexKind, setting: SearchSetting): string => (kind === 'hnsw' ? `ef ${setting.ef}` : `ef ${setting.ef} rerank ${setting.rerank}`);

export function setBreadth(index: VectorIndex, setting: SearchSetting): void {
  if (index instanceof HnswVectorIndex) index.setEfSearch(setting.ef);
  else if (index instanceof ReducedHnswVectorIndex) {
    index.setEfSearch(setting.ef);
    index.setRerank(setting.rerank);
  }
}
