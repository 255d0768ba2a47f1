/**
 * The evaluation harness behind `dejavu eval` and `npm run eval`: runs each method over a dataset and
 * computes ranking metrics (mAP, recall@1 / precision@10) and, on near-duplicate sets, the quality of the
 * duplicate decision over all pairs. Positives are the (original, edited copy) pairs; negatives are pairs of
 * images from different groups (distractors included); copy–copy pairs are left out (they are duplicates
 * too, but a detector is not required to link them).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expandQuery, QUERY_EXPANSION_NEIGHBOURS } from '../services/query-expansion.ts';
import { decodeImage } from '../embedding/decode.ts';
import { defaultEmbedderOptions } from '../embedding/options.ts';
import { computeSignature, SIGNATURE_VERSION } from '../embedding/signature.ts';
import type { Embedder, ImageEmbedding } from '../embedding/types.ts';
import type { ImageRecord } from '../store/types.ts';
import { DEFAULT_DUPLICATE_SETTINGS, detectDuplicates, DUPLICATE_SHORTLIST } from '../services/duplicates/index.ts';
import type { EvalDataset } from './dataset.ts';
import { dHash, dHashSimilarity } from './dhash.ts';
import { averagePrecision, bestRecallAtPrecision, mean, operatingPointAt, type OperatingPoint, precisionAtK, rankByScore, recallAt1, type ScoredPairs } from './metrics.ts';

export const TARGET_PAIR_PRECISION = 0.99;

/** What a method computes once per dataset; the harness derives every metric from it. */
export interface MethodRun {
  /** Similarity of image i to every image (rankings). */
  similarities(i: number): Float64Array;
  /**
   * Duplicate decision score of each labelled pair (-Infinity: never reported) and the threshold the method
   * ships with, if any. Absent: the similarity itself is thresholded.
   */
  decision?: { pairScore(i: number, j: number): number; isTemplate?(i: number, j: number): boolean; defaultThreshold?: number };
  /** Milliseconds per image: embedding (or hashing) plus, for detectors, the decision. */
  msPerImage: number;
}

export interface EvalMethod {
  name: string;
  run(dataset: EvalDataset): Promise<MethodRun>;
}

export interface EvalResult {
  method: string;
  dataset: string;
  msPerImage: number;
  mAP: number;
  /** Near-duplicate sets. */
  recallAt1?: number;
  /** Category sets. */
  precisionAt10?: number;
  /** Near-duplicate sets: best recall at pair precision ≥ 0.99 and its threshold. */
  bestAtTargetPrecision?: OperatingPoint;
  /** Near-duplicate sets, methods with a shipped threshold: recall and precision at that threshold. */
  atDefault?: OperatingPoint;
  /** Near-duplicate sets: positives missed at the shipped (or best) threshold, by edit type. */
  missesByEdit?: Record<string, number>;
  /**
   * Sets with same-template pairs (memes on one picture, different captions): how many of them are flagged
   * as duplicates at the shipped (or best) threshold, and how many the detector recognised as one template.
   */
  templatePairs?: { total: number; flagged: number; recognised: number };
}

function rankingMetrics(dataset: EvalDataset, run: MethodRun): Pick<EvalResult, 'mAP' | 'recallAt1' | 'precisionAt10'> {
  const all = dataset.files.map((_, index) => index);
  const queries = dataset.kind === 'category' ? dataset.groups.flatMap((group) => group.map((query) => ({ query, group }))) : dataset.groups.map((group) => ({ query: group[0] as number, group }));
  const aps: number[] = [];
  const first: number[] = [];
  const tens: number[] = [];
  for (const { query, group } of queries) {
    const scores = run.similarities(query);
    const ranking = rankByScore(scores, all.filter((index) => index !== query));
    const members = new Set(group);
    const relevant = ranking.map((index) => members.has(index));
    aps.push(averagePrecision(relevant, group.length - 1));
    first.push(recallAt1(relevant));
    tens.push(precisionAtK(relevant, 10));
  }
  return dataset.kind === 'category' ? { mAP: mean(aps), precisionAt10: mean(tens) } : { mAP: mean(aps), recallAt1: mean(first) };
}

function labelledPairs(dataset: EvalDataset, score: (i: number, j: number) => number): ScoredPairs {
  const positives: number[] = [];
  for (const group of dataset.groups) {
    const original = group[0] as number;
    for (const copy of group.slice(1)) positives.push(score(original, copy));
  }
  const count = dataset.files.length;
  const negatives = new Float64Array((count * (count - 1)) / 2);
  let filled = 0;
  for (let i = 0; i < count; i += 1) {
    const groupI = dataset.groupOf[i] as number;
    for (let j = i + 1; j < count; j += 1) {
      if (groupI >= 0 && groupI === dataset.groupOf[j]) continue;
      negatives[filled] = score(i, j);
      filled += 1;
    }
  }
  return { positives: Float64Array.from(positives), negatives: negatives.subarray(0, filled) };
}

function missesByEdit(dataset: EvalDataset, score: (i: number, j: number) => number, threshold: number): Record<string, number> {
  const misses: Record<string, number> = {};
  for (const group of dataset.groups) {
    for (const copy of group.slice(1)) {
      if (score(group[0] as number, copy) >= threshold) continue;
      const edit = dataset.editOf?.[copy] ?? 'unknown';
      misses[edit] = (misses[edit] ?? 0) + 1;
    }
  }
  return misses;
}

export async function evaluate(method: EvalMethod, dataset: EvalDataset): Promise<EvalResult> {
  const run = await method.run(dataset);
  const result: EvalResult = { method: method.name, dataset: dataset.name, msPerImage: run.msPerImage, ...rankingMetrics(dataset, run) };
  if (dataset.kind === 'near-duplicate') {
    const rows = new Map<number, Float64Array>();
    const similarity = (i: number, j: number): number => {
      let row = rows.get(i);
      if (row === undefined) {
        row = run.similarities(i);
        rows.set(i, row);
      }
      return row[j] ?? -Infinity;
    };
    const score = run.decision?.pairScore ?? similarity;
    const pairs = labelledPairs(dataset, score);
    result.bestAtTargetPrecision = bestRecallAtPrecision(pairs, TARGET_PAIR_PRECISION);
    const shipped = run.decision?.defaultThreshold;
    if (shipped !== undefined) result.atDefault = operatingPointAt(pairs, shipped);
    const decisionThreshold = shipped ?? result.bestAtTargetPrecision.threshold;
    result.missesByEdit = missesByEdit(dataset, score, decisionThreshold);
    if (dataset.templatePairs !== undefined) {
      const pairs = dataset.templatePairs;
      result.templatePairs = {
        total: pairs.length,
        flagged: pairs.filter(([i, j]) => score(i, j) >= decisionThreshold).length,
        recognised: pairs.filter(([i, j]) => run.decision?.isTemplate?.(i, j) === true).length,
      };
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// Methods

/** dHash: Hamming similarity of 64-bit difference hashes. */
export const dHashMethod: EvalMethod = {
  name: 'dHash (64-bit)',
  async run(dataset) {
    const started = performance.now();
    const hashes: bigint[] = [];
    for (const file of dataset.files) hashes.push(await dHash(file));
    const msPerImage = (performance.now() - started) / dataset.files.length;
    return {
      msPerImage,
      similarities: (i) => Float64Array.from(hashes, (hash) => dHashSimilarity(hashes[i] as bigint, hash)),
    };
  },
};

interface EmbeddedSet {
  vectors: Float32Array[];
  signatures: Uint8Array[];
  msPerImage: number;
}

const cacheName = (text: string): string => text.replace(/[^a-zA-Z0-9.-]+/g, '_');

/** Duplicate signatures of every file, made the way the embedder makes them (decode, then sign). */
async function signDataset(dataset: EvalDataset): Promise<Uint8Array[]> {
  const { limits } = defaultEmbedderOptions({ modelDir: '' });
  const signatures: Uint8Array[] = [];
  for (const file of dataset.files) {
    const decoded = await decodeImage(await readFile(file), limits);
    signatures.push(await computeSignature(decoded.rgb, decoded.width, decoded.height));
  }
  return signatures;
}

/**
 * Embeds every file of a dataset one at a time (so ms/image is the single-image latency on one thread), or
 * reads the result from the cache under `cacheDir` when an earlier run left it there: vectors in
 * `<variant>--<dataset>.json`, signatures in `<variant>--<signature version>--<dataset>.json`, so a new
 * signature format re-signs the images without running the model again.
 */
export async function embedDataset(embedder: Embedder, dataset: EvalDataset, cacheDir: string | undefined): Promise<EmbeddedSet> {
  const vectorFile = cacheDir === undefined ? undefined : join(cacheDir, `${cacheName(embedder.variant)}--${dataset.name}.json`);
  const signatureFile = cacheDir === undefined ? undefined : join(cacheDir, `${cacheName(embedder.variant)}--${SIGNATURE_VERSION}--${dataset.name}.json`);
  const readCache = <T>(file: string | undefined): T | undefined => (file !== undefined && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined);
  const writeCache = (file: string | undefined, payload: object): void => {
    if (file === undefined || cacheDir === undefined) return;
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(`${file}.tmp`, JSON.stringify(payload));
    renameSync(`${file}.tmp`, file);
  };
  const cachedVectors = readCache<{ vectors: string[]; msPerImage: number }>(vectorFile);
  const cachedSignatures = readCache<{ signatures: string[] }>(signatureFile);
  if (cachedVectors !== undefined && cachedVectors.vectors.length === dataset.files.length) {
    const vectors = cachedVectors.vectors.map((text) => {
      const bytes = Buffer.from(text, 'base64');
      return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
    });
    let signatures: Uint8Array[] | undefined = cachedSignatures?.signatures.map((text) => new Uint8Array(Buffer.from(text, 'base64')));
    if (signatures === undefined || signatures.length !== dataset.files.length) {
      const signed = await signDataset(dataset);
      signatures = signed;
      writeCache(signatureFile, { signatureVersion: SIGNATURE_VERSION, signatures: signed.map((signature) => Buffer.from(signature).toString('base64')) });
    }
    return { vectors, signatures, msPerImage: cachedVectors.msPerImage };
  }
  const embeddings: ImageEmbedding[] = [];
  const started = performance.now();
  for (const file of dataset.files) embeddings.push(await embedder.embed(await readFile(file)));
  const set: EmbeddedSet = {
    vectors: embeddings.map((embedding) => embedding.vector),
    signatures: embeddings.map((embedding) => embedding.signature),
    msPerImage: (performance.now() - started) / dataset.files.length,
  };
  writeCache(vectorFile, {
    variant: embedder.variant,
    msPerImage: set.msPerImage,
    vectors: set.vectors.map((vector) => Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64')),
  });
  writeCache(signatureFile, { signatureVersion: SIGNATURE_VERSION, signatures: set.signatures.map((signature) => Buffer.from(signature).toString('base64')) });
  return set;
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let index = 0; index < a.length; index += 1) sum += (a[index] ?? 0) * (b[index] ?? 0);
  return sum;
}

/**
 * Cosine of image i to every image; with `expansion` > 0, after average query expansion over the i's
 * `expansion` nearest other images (what the similarity search ships, see src/services/query-expansion.ts).
 */
function cosineRows(vectors: Float32Array[], expansion = 0): (i: number) => Float64Array {
  const plain = (query: Float32Array): Float64Array => Float64Array.from(vectors, (vector) => dot(query, vector));
  return (i) => {
    const query = vectors[i] as Float32Array;
    const scores = plain(query);
    if (expansion === 0) return scores;
    const neighbours = rankByScore(scores, vectors.map((_, j) => j).filter((j) => j !== i)).slice(0, expansion);
    return plain(expandQuery(query, neighbours.map((j) => vectors[j] as Float32Array)));
  };
}

/** A search embedding alone: cosine for ranking, one cosine threshold for the duplicate decision. */
export function embeddingMethod(name: string, createEmbedder: () => Promise<Embedder>, cacheDir?: string, expansion = 0): EvalMethod {
  return {
    name,
    async run(dataset) {
      const embedder = await createEmbedder();
      try {
        const set = await embedDataset(embedder, dataset, cacheDir);
        // Query expansion is for search only: the duplicate decision stays on the plain cosine.
        const decision = expansion === 0 ? undefined : { pairScore: (i: number, j: number) => dot(set.vectors[i] as Float32Array, set.vectors[j] as Float32Array) };
        return { msPerImage: set.msPerImage, similarities: cosineRows(set.vectors, expansion), ...(decision ? { decision } : {}) };
      } finally {
        await embedder.close();
      }
    },
  };
}

/** An evaluation image as the store would hold it: enough for the duplicate decision. */
export function asRecord(index: number, signature: Uint8Array): ImageRecord {
  return {
    id: index, guildId: 'eval', channelId: '', messageId: '', sourceKey: String(index), authorId: '', createdAt: 0,
    nsfw: false, kind: 'file', label: String(index), contentHash: '', width: 0, height: 0, signature,
  };
}

/**
 * The shipped default: ranking by cosine after query expansion; duplicates by the detector. Every image queries all others (exact k-NN standing in for the HNSW index) for the
 * shortlist, then `detectDuplicates` decides. A pair's score is its best verification score in either
 * direction; the time per image adds the average decision time to the embedding time.
 */
export function detectorMethod(
  name: string,
  createEmbedder: () => Promise<Embedder>,
  cacheDir?: string,
  expansion = QUERY_EXPANSION_NEIGHBOURS,
  threshold = DEFAULT_DUPLICATE_SETTINGS.threshold,
): EvalMethod {
  return {
    name,
    async run(dataset) {
      const embedder = await createEmbedder();
      let set: EmbeddedSet;
      try {
        set = await embedDataset(embedder, dataset, cacheDir);
      } finally {
        await embedder.close();
      }
      const rows = cosineRows(set.vectors);
      const records = set.signatures.map((signature, index) => asRecord(index, signature));
      const pairScores = new Map<number, number>();
      const templates = new Set<number>();
      const count = dataset.files.length;
      let decisionMs = 0;
      if (dataset.kind === 'near-duplicate') {
        for (let i = 0; i < count; i += 1) {
          const scores = rows(i);
          const shortlist = rankByScore(scores, records.map((_, j) => j).filter((j) => j !== i))
            .slice(0, DUPLICATE_SHORTLIST.k)
            .filter((j) => (scores[j] ?? -1) >= DUPLICATE_SHORTLIST.minScore)
            .map((j) => ({ record: records[j] as ImageRecord, score: scores[j] as number }));
          const started = performance.now();
          // threshold -1: keep every verified candidate so the harness can sweep the threshold itself.
          const matches = await detectDuplicates({ vector: set.vectors[i] as Float32Array, signature: set.signatures[i] as Uint8Array }, shortlist, { threshold: -1 });
          decisionMs += performance.now() - started;
          for (const match of matches) {
            const j = match.record.id;
            const key = Math.min(i, j) * count + Math.max(i, j);
            // A pair judged the same template under other text is not a repost, in either direction.
            if (match.kind === 'template') {
              templates.add(key);
              continue;
            }
            const score = match.judgement?.score ?? match.verification?.score ?? -Infinity;
            pairScores.set(key, Math.max(pairScores.get(key) ?? -Infinity, score));
          }
        }
      }
      return {
        msPerImage: set.msPerImage + decisionMs / count,
        similarities: cosineRows(set.vectors, expansion),
        decision: {
          pairScore: (i, j) => pairScores.get(Math.min(i, j) * count + Math.max(i, j)) ?? -Infinity,
          isTemplate: (i, j) => templates.has(Math.min(i, j) * count + Math.max(i, j)),
          defaultThreshold: threshold,
        },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Output

const format = (value: number | undefined, digits = 3): string => (value === undefined ? '—' : value.toFixed(digits));

/** One Markdown table for all results (what `npm run eval` prints). */
export function resultsTable(results: readonly EvalResult[]): string {
  const lines = [
    '| set | method | ms/img (embedding pass) | mAP | R@1 / P@10 | dup recall @P≥0.99 (threshold) | at shipped default: recall / precision (threshold) | same-template pairs flagged / recognised |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const result of results) {
    const ranking = result.recallAt1 !== undefined ? `R@1 ${format(result.recallAt1)}` : `P@10 ${format(result.precisionAt10)}`;
    const best = result.bestAtTargetPrecision === undefined ? '—' : `${format(result.bestAtTargetPrecision.recall)} (${format(result.bestAtTargetPrecision.threshold)})`;
    const shipped = result.atDefault === undefined ? '—' : `${format(result.atDefault.recall)} / ${format(result.atDefault.precision)} (${format(result.atDefault.threshold, 2)})`;
    const templates = result.templatePairs === undefined ? '—' : `${result.templatePairs.flagged} / ${result.templatePairs.recognised} of ${result.templatePairs.total}`;
    lines.push(`| ${result.dataset} | ${result.method} | ${format(result.msPerImage, 0)} | ${format(result.mAP)} | ${ranking} | ${best} | ${shipped} | ${templates} |`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// Cost

export interface CostRow {
  method: string;
  msPerImage: number;
  /** Relative to the plain recipe measured in the same interleaved loop. */
  ratioToPlain: number;
}

/**
 * Time per image of dHash, the plain recipe and the shipped default (embedding + duplicate decision against a
 * real shortlist from `index`), measured image by image in one interleaved loop so that a busy machine slows
 * all three alike. One thread, one image at a time. The shortlist search itself (an HNSW query, well under a
 * millisecond) is not counted.
 */
export async function measureCost(
  files: readonly string[],
  plain: Embedder,
  shipped: Embedder,
  index: { vectors: Float32Array[]; signatures: Uint8Array[] },
): Promise<CostRow[]> {
  const records = index.signatures.map((signature, id) => asRecord(id, signature));
  const totals = { dhash: 0, plain: 0, shipped: 0, signature: 0, decision: 0 };
  const { limits } = defaultEmbedderOptions({ modelDir: '' });
  const warmUp = await readFile(files[0] as string);
  await plain.embed(warmUp);
  await shipped.embed(warmUp);
  for (const file of files) {
    const bytes = await readFile(file);
    let started = performance.now();
    await dHash(bytes);
    totals.dhash += performance.now() - started;
    started = performance.now();
    await plain.embed(bytes);
    totals.plain += performance.now() - started;
    started = performance.now();
    const embedding = await shipped.embed(bytes);
    const embedMs = performance.now() - started;
    const scores = Float64Array.from(index.vectors, (vector) => dot(embedding.vector, vector));
    // The file itself may be in the index: leave out an identical vector, as the bot would find it by hash.
    const shortlist = rankByScore(scores, records.map((_, j) => j).filter((j) => (scores[j] ?? 0) < 0.99999))
      .slice(0, DUPLICATE_SHORTLIST.k)
      .map((j) => ({ record: records[j] as ImageRecord, score: scores[j] as number }));
    started = performance.now();
    await detectDuplicates({ embedding }, shortlist);
    const decisionMs = performance.now() - started;
    totals.shipped += embedMs + decisionMs;
    totals.decision += decisionMs;
    // The signature is part of the embed time above; timed alone here to show its share.
    started = performance.now();
    const decoded = await decodeImage(bytes, limits);
    await computeSignature(decoded.rgb, decoded.width, decoded.height);
    totals.signature += performance.now() - started;
  }
  const perImage = (total: number): number => total / files.length;
  return [
    { method: 'dHash (64-bit)', msPerImage: perImage(totals.dhash), ratioToPlain: totals.dhash / totals.plain },
    { method: 'plain B0', msPerImage: perImage(totals.plain), ratioToPlain: 1 },
    { method: 'shipped default (trim embed + verified shortlist)', msPerImage: perImage(totals.shipped), ratioToPlain: totals.shipped / totals.plain },
    { method: `… of which: duplicate decision (shortlist of ${DUPLICATE_SHORTLIST.k})`, msPerImage: perImage(totals.decision), ratioToPlain: totals.decision / totals.plain },
    { method: '… of which: decode + duplicate signature (thumbnail, detail JPEG, keypoints)', msPerImage: perImage(totals.signature), ratioToPlain: totals.signature / totals.plain },
  ];
}

export function costTable(rows: readonly CostRow[], sample: string): string {
  const lines = [`| cost (${sample}) | ms/img | × plain |`, '|---|---|---|'];
  for (const row of rows) lines.push(`| ${row.method} | ${format(row.msPerImage, 0)} | ${format(row.ratioToPlain, 2)} |`);
  return lines.join('\n');
}
