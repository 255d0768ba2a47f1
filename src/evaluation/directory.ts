/** One dataset folder evaluated with the configured embedder: shared by `dejavu eval` and `npm run eval`. */
import { join } from 'node:path';
import { getConfig } from '../config.ts';
import { embedderOptionsFromConfig } from '../embedding/index.ts';
import { loadDataset } from './dataset.ts';
import { evaluate, type EvalResult } from './harness.ts';
import { evalMethod, type MethodName } from './methods.ts';

/** Evaluates the named methods on one dataset folder; embeddings are cached under DATA_DIR/eval-cache when `useCache`. */
export async function evaluateDirectory(directory: string, methods: readonly MethodName[], useCache: boolean): Promise<EvalResult[]> {
  const config = getConfig();
  const dataset = loadDataset(directory);
  const cacheDir = useCache ? join(config.dataDir, 'eval-cache') : undefined;
  const results: EvalResult[] = [];
  for (const name of methods) {
    console.error(`eval: ${dataset.name}: ${name}…`);
    results.push(await evaluate(evalMethod(name, embedderOptionsFromConfig(config), cacheDir), dataset));
  }
  return results;
}
