/**
 * Best and second-best descriptor distances per query keypoint and per candidate keypoint, computed by the
 * WebAssembly kernel in descriptor-match.wat (SIMD popcount over 256-bit descriptors).
 */
import { DESCRIPTOR_WORDS, type Keypoints } from '../../../embedding/keypoints.ts';
import { WASM_BASE64 } from './descriptor-match.wasm.ts';
import { ensureBytes, instantiate } from '../../../webassembly.ts';

/** Per keypoint of one side: the smallest distance to the other side, the second smallest, and where the smallest is (−1: none). */
export interface BestMatches {
  best: Int32Array;
  second: Int32Array;
  at: Int32Array;
}

interface Kernel {
  memory: WebAssembly.Memory;
  bestMatches: (query: number, n: number, candidate: number, m: number, rows: number, columns: number) => void;
}

let kernel: Kernel | undefined;

const DESCRIPTOR_BYTES = DESCRIPTOR_WORDS * 4;

function results(memory: WebAssembly.Memory, offset: number, count: number): BestMatches {
  const view = new Int32Array(memory.buffer, offset, count * 3);
  return { best: view.subarray(0, count), second: view.subarray(count, 2 * count), at: view.subarray(2 * count) };
}

/**
 * Every (query, candidate) descriptor distance is considered once; rows are query keypoints, columns candidate
 * ones. The results are views on the kernel's memory, valid until the next call: a decision makes a dozen
 * matches, and copying them out would be garbage the caller reads once.
 */
export function bestMatches(query: Keypoints, candidate: Keypoints): { rows: BestMatches; columns: BestMatches } {
  kernel ??= instantiate<Kernel>(WASM_BASE64);
  const n = query.count;
  const m = candidate.count;
  const candidateAt = n * DESCRIPTOR_BYTES;
  const rowsAt = candidateAt + m * DESCRIPTOR_BYTES;
  const columnsAt = rowsAt + n * 12;
  const needed = columnsAt + m * 12;
  ensureBytes(kernel.memory, needed);
  const words = new Uint32Array(kernel.memory.buffer, 0, (n + m) * DESCRIPTOR_WORDS);
  words.set(query.descriptors.subarray(0, n * DESCRIPTOR_WORDS), 0);
  words.set(candidate.descriptors.subarray(0, m * DESCRIPTOR_WORDS), n * DESCRIPTOR_WORDS);
  kernel.bestMatches(0, n, candidateAt, m, rowsAt, columnsAt);
  return { rows: results(kernel.memory, rowsAt, n), columns: results(kernel.memory, columnsAt, m) };
}
