/**
 * The pixel passes of the detail check, run by the WebAssembly kernel in detail-compare.wat. The blurred
 * images stay in the kernel's memory between calls: a decision compares one query with several candidates,
 * and one pair at several transforms.
 */
import { WASM_BASE64 } from './detail-compare.wasm.ts';
import { ensureBytes, instantiate } from '../../../webassembly.ts';

interface Kernel {
  memory: WebAssembly.Memory;
  sample: (
    query: number, w: number, h: number, candidate: number, cw: number, ch: number, sampled: number, inside: number, sums: number,
    m00: number, m01: number, m02: number, m10: number, m11: number, m12: number,
  ) => void;
  blocks: (
    query: number, w: number, h: number, sampled: number, inside: number, disagree: number, columns: number, rows: number, counts: number,
    gain: number, offset: number, pixelDifference: number, minCount: number, textureDeviation: number, differingShare: number,
  ) => void;
}

export interface Size {
  width: number;
  height: number;
}

/** Sums over the query pixels the candidate covers, for the gain/offset fit. */
export interface SampleSums {
  n: number;
  sumQ: number;
  sumC: number;
  sumCC: number;
  sumQC: number;
}

export interface BlockRule {
  gain: number;
  offset: number;
  /** Grey levels beyond which a pixel differs. */
  pixelDifference: number;
  /** Fewest covered pixels for a block to be judged. */
  minCount: number;
  /** Standard deviation above which a block is textured. */
  textureDeviation: number;
  /** Share of differing pixels that makes a block disagree. */
  differingShare: number;
}

export interface BlockCounts {
  textured: number;
  agreeing: number;
  covered: number;
  /** 1 per disagreeing block, row-major over the block grid (a view on the kernel's memory, valid until its next call). */
  disagree: Uint8Array;
}

const SUMS_AT = 0;
const COUNTS_AT = 64;
const IMAGES_AT = 128;
const align = (offset: number): number => Math.ceil(offset / 8) * 8;

interface Layout {
  query: number;
  candidate: number;
  sampled: number;
  inside: number;
  disagree: number;
}

let kernel: Kernel | undefined;
/** The images now in the kernel's memory (compared by identity: blurred images are never modified). */
let loaded: { query: Float32Array; candidate: Float32Array; layout: Layout } | undefined;

function layoutFor(query: Size, candidate: Size): Layout {
  const queryPixels = query.width * query.height;
  const candidateAt = align(IMAGES_AT + queryPixels * 4);
  const sampled = align(candidateAt + candidate.width * candidate.height * 4);
  const inside = sampled + queryPixels * 4;
  return { query: IMAGES_AT, candidate: candidateAt, sampled, inside, disagree: align(inside + queryPixels) };
}

function ready(query: Float32Array, querySize: Size, candidate: Float32Array, candidateSize: Size, blocks: number): { kernel: Kernel; layout: Layout } {
  kernel ??= instantiate<Kernel>(WASM_BASE64);
  const layout = layoutFor(querySize, candidateSize);
  ensureBytes(kernel.memory, layout.disagree + blocks);
  const sameQuery = loaded?.query === query;
  if (!sameQuery) new Float32Array(kernel.memory.buffer, layout.query, query.length).set(query);
  if (!sameQuery || loaded?.candidate !== candidate) new Float32Array(kernel.memory.buffer, layout.candidate, candidate.length).set(candidate);
  loaded = { query, candidate, layout };
  return { kernel, layout };
}

/** Pass 1: the candidate sampled into the query's frame through the affine map m. */
export function sampleCandidate(
  query: Float32Array,
  querySize: Size,
  candidate: Float32Array,
  candidateSize: Size,
  m: readonly [number, number, number, number, number, number],
  blocks: number,
): SampleSums {
  const { kernel: k, layout } = ready(query, querySize, candidate, candidateSize, blocks);
  k.sample(layout.query, querySize.width, querySize.height, layout.candidate, candidateSize.width, candidateSize.height, layout.sampled, layout.inside, SUMS_AT, ...m);
  const sums = new Float64Array(k.memory.buffer, SUMS_AT, 5);
  return { n: sums[0] as number, sumQ: sums[1] as number, sumC: sums[2] as number, sumCC: sums[3] as number, sumQC: sums[4] as number };
}

/** Pass 2, on the sample of the last sampleCandidate call: per 16-px block, covered, textured and agreeing. */
export function compareBlocks(querySize: Size, columns: number, rows: number, rule: BlockRule): BlockCounts {
  if (kernel === undefined || loaded === undefined) throw new Error('compareBlocks needs a sampleCandidate call first');
  const { layout } = loaded;
  kernel.blocks(
    layout.query, querySize.width, querySize.height, layout.sampled, layout.inside, layout.disagree, columns, rows, COUNTS_AT,
    rule.gain, rule.offset, rule.pixelDifference, rule.minCount, rule.textureDeviation, rule.differingShare,
  );
  const counts = new Int32Array(kernel.memory.buffer, COUNTS_AT, 3);
  return {
    textured: counts[0] as number,
    agreeing: counts[1] as number,
    covered: counts[2] as number,
    disagree: new Uint8Array(kernel.memory.buffer, layout.disagree, columns * rows),
  };
}
