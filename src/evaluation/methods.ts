/** The methods `dejavu eval` and `npm run eval` compare, by name. */
import { createEmbedder, type EmbedderOptions } from '../embedding/index.ts';
import { DEFAULT_PREPROCESS, type PreprocessOptions } from '../embedding/preprocess.ts';
import { QUERY_EXPANSION_NEIGHBOURS } from '../services/query-expansion.ts';
import type { Embedder } from '../embedding/types.ts';
import { detectorMethod, dHashMethod, embeddingMethod, type EvalMethod } from './harness.ts';

export const METHOD_NAMES = ['dhash', 'plain', 'crop', 'pad', 'trim', 'trim-aqe', 'shipped'] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

/** The baseline recipe every method is compared with: 224×224 full-frame resize, average pooling, cosine. */
export const PLAIN_PREPROCESS: PreprocessOptions = { fit: 'fill', trimBorders: false };

/**
 * `baseOptions`: the embedder options to start from (model folder, limits). Evaluation always embeds
 * in-process on one thread, one image at a time, so ms/image compares like with like.
 */
/** An embedder for evaluation: in-process, one thread, one image at a time. */
export function evalEmbedder(baseOptions: EmbedderOptions, preprocess: PreprocessOptions): Promise<Embedder> {
  return createEmbedder({ ...baseOptions, preprocess, workers: 0, embedderUrls: [], maxBatch: 1, batchWaitMs: 0 });
}

export function evalMethod(name: MethodName, baseOptions: EmbedderOptions, cacheDir: string | undefined): EvalMethod {
  const embedderWith = (preprocess: PreprocessOptions) => (): Promise<Embedder> => evalEmbedder(baseOptions, preprocess);
  switch (name) {
    case 'dhash':
      return dHashMethod;
    case 'plain':
      return embeddingMethod('plain B0 (fill, avg pool, cosine)', embedderWith(PLAIN_PREPROCESS), cacheDir);
    case 'crop':
      return embeddingMethod('B0, centre crop (cover)', embedderWith({ fit: 'cover', trimBorders: false }), cacheDir);
    case 'pad':
      return embeddingMethod('B0, padded to square (contain)', embedderWith({ fit: 'contain', trimBorders: false }), cacheDir);
    case 'trim':
      return embeddingMethod('B0 + trimmed borders (cosine only)', embedderWith(DEFAULT_PREPROCESS), cacheDir);
    case 'trim-aqe':
      return embeddingMethod(`B0 + trim + query expansion (k=${QUERY_EXPANSION_NEIGHBOURS})`, embedderWith(DEFAULT_PREPROCESS), cacheDir, QUERY_EXPANSION_NEIGHBOURS);
    case 'shipped':
      return detectorMethod('shipped default: trim + AQE search; verified shortlist', embedderWith(DEFAULT_PREPROCESS), cacheDir);
  }
}
