/**
 * The detail check: the candidate's detail image is warped onto the query's by the keypoint transform and
 * the two are compared in 16-px blocks. A repost agrees almost everywhere (re-encoding and scaling move
 * edges by a pixel, not whole letters); the same meme template under another caption, or another screenshot
 * of one app, disagrees over whole lines of text.
 */
import { boxBlurTwice } from './kernels/detail-blur.ts';
import { compareBlocks, sampleCandidate } from './kernels/detail-compare.ts';

/** Row-major 8-bit grey image. */
export interface Gray8 {
  width: number;
  height: number;
  pixels: Uint8Array;
}

/** Query pixel → candidate pixel: x' = m00·x + m01·y + m02, y' = m10·x + m11·y + m12. */
export interface Affine {
  m00: number;
  m01: number;
  m02: number;
  m10: number;
  m11: number;
  m12: number;
}

export interface DetailComparison {
  /** Blocks with texture (edges, text) in either image, inside the overlap. */
  texturedBlocks: number;
  /** Textured blocks where the two images agree. */
  agreement: number;
  /** Largest 4-connected group of disagreeing blocks. */
  largestRegion: number;
  /** Part of the query's blocks that the candidate covers. */
  overlap: number;
}

export const BLOCK = 16;
/** Grey levels (after a 3×3 blur and a global gain/offset fit) beyond which a pixel differs. */
const PIXEL_DIFFERENCE = 48;
/** A block disagrees when at least this share of its pixels differs (a letter's worth). */
const BLOCK_DIFFERING_SHARE = 0.04;
/** A block is textured when its grey levels spread by more than this (standard deviation). */
const TEXTURE_DEVIATION = 6;

/** 3×3 box blur, twice (≈ Gaussian σ 1.2): JPEG ringing and one-pixel shifts stop counting as differences. */
export function blur(image: Gray8): Float32Array {
  return boxBlurTwice(image.pixels, image.width, image.height);
}

function largestComponent(flags: Uint8Array, columns: number, rows: number): number {
  const seen = new Uint8Array(flags.length);
  const stack: number[] = [];
  const visit = (next: number): void => {
    if (flags[next] === 1 && seen[next] !== 1) {
      seen[next] = 1;
      stack.push(next);
    }
  };
  let largest = 0;
  for (let start = 0; start < flags.length; start += 1) {
    if (flags[start] !== 1 || seen[start] === 1) continue;
    let size = 0;
    seen[start] = 1;
    stack.push(start);
    while (stack.length > 0) {
      const cell = stack.pop() as number;
      size += 1;
      const x = cell % columns;
      const y = (cell - x) / columns;
      if (x > 0) visit(cell - 1);
      if (x < columns - 1) visit(cell + 1);
      if (y > 0) visit(cell - columns);
      if (y < rows - 1) visit(cell + columns);
    }
    largest = Math.max(largest, size);
  }
  return largest;
}

/**
 * Compares the blurred query with the blurred candidate sampled (bilinearly) through `transform`.
 * `query` and `candidate` are blur() outputs of images of the given sizes. The pixel passes run in a
 * WebAssembly kernel (kernels/detail-compare.wat); the fit and the block grid's regions are decided here.
 */
export function compareDetail(
  query: Float32Array,
  querySize: { width: number; height: number },
  candidate: Float32Array,
  candidateSize: { width: number; height: number },
  transform: Affine,
): DetailComparison {
  const columns = Math.floor(querySize.width / BLOCK);
  const rows = Math.floor(querySize.height / BLOCK);
  const { m00, m01, m02, m10, m11, m12 } = transform;
  const { n, sumQ, sumC, sumCC, sumQC } = sampleCandidate(query, querySize, candidate, candidateSize, [m00, m01, m02, m10, m11, m12], columns * rows);
  if (n < BLOCK * BLOCK || columns === 0 || rows === 0) return { texturedBlocks: 0, agreement: 0, largestRegion: 0, overlap: 0 };
  // One gain and offset for the whole picture: a darker, greyer or contrast-stretched repost still agrees.
  const varianceC = sumCC - (sumC * sumC) / n;
  const rawGain = varianceC > 1e-6 ? (sumQC - (sumQ * sumC) / n) / varianceC : 1;
  const gain = Math.max(0.5, Math.min(2, rawGain));
  const offset = (sumQ - gain * sumC) / n;
  const blocks = compareBlocks(querySize, columns, rows, {
    gain,
    offset,
    pixelDifference: PIXEL_DIFFERENCE,
    minCount: BLOCK * BLOCK * 0.9,
    textureDeviation: TEXTURE_DEVIATION,
    differingShare: BLOCK_DIFFERING_SHARE,
  });
  return {
    texturedBlocks: blocks.textured,
    agreement: blocks.textured === 0 ? 0 : blocks.agreeing / blocks.textured,
    largestRegion: largestComponent(blocks.disagree, columns, rows),
    overlap: blocks.covered / (columns * rows),
  };
}
