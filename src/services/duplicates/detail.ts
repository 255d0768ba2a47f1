/**
 * The detail check: the candidate's detail image is warped onto the query's by the keypoint transform and
 * the two are compared in 16-px blocks. A repost agrees almost everywhere (re-encoding and scaling move
 * edges by a pixel, not whole letters); the same meme template under another caption, or another screenshot
 * of one app, disagrees over whole lines of text. Pure typed-array code.
 */

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
  const { width, height } = image;
  let current = Float32Array.from(image.pixels);
  const horizontal = new Float32Array(width * height);
  for (let pass = 0; pass < 2; pass += 1) {
    for (let y = 0; y < height; y += 1) {
      const row = y * width;
      const last = row + width - 1;
      if (width === 1) {
        horizontal[row] = current[row] as number;
        continue;
      }
      // The edge pixel counts itself in place of its missing neighbour.
      horizontal[row] = ((current[row] as number) + (current[row] as number) + (current[row + 1] as number)) / 3;
      for (let at = row + 1; at < last; at += 1) horizontal[at] = ((current[at - 1] as number) + (current[at] as number) + (current[at + 1] as number)) / 3;
      horizontal[last] = ((current[last - 1] as number) + (current[last] as number) + (current[last] as number)) / 3;
    }
    const vertical = new Float32Array(width * height);
    for (let y = 0; y < height; y += 1) {
      const up = Math.max(0, y - 1) * width;
      const down = Math.min(height - 1, y + 1) * width;
      const row = y * width;
      for (let x = 0; x < width; x += 1) vertical[row + x] = ((horizontal[up + x] as number) + (horizontal[row + x] as number) + (horizontal[down + x] as number)) / 3;
    }
    current = vertical;
  }
  return current;
}

function largestComponent(flags: Uint8Array, columns: number, rows: number): number {
  const seen = new Uint8Array(flags.length);
  const stack: number[] = [];
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
      const neighbours = [x > 0 ? cell - 1 : -1, x < columns - 1 ? cell + 1 : -1, y > 0 ? cell - columns : -1, y < rows - 1 ? cell + columns : -1];
      for (const next of neighbours) {
        if (next >= 0 && flags[next] === 1 && seen[next] !== 1) {
          seen[next] = 1;
          stack.push(next);
        }
      }
    }
    largest = Math.max(largest, size);
  }
  return largest;
}

/**
 * Scratch buffers reused across calls: a decision compares one pair at up to ~30 transforms, and fresh
 * quarter-megapixel arrays for each of those kept the garbage collector busier than the comparison itself.
 */
let scratchSampled = new Float32Array(0);
let scratchInside = new Uint8Array(0);

function scratch(size: number): { sampled: Float32Array; inside: Uint8Array } {
  if (scratchSampled.length < size) {
    scratchSampled = new Float32Array(size);
    scratchInside = new Uint8Array(size);
  }
  return { sampled: scratchSampled, inside: scratchInside };
}

/**
 * Compares the blurred query with the blurred candidate sampled (bilinearly) through `transform`.
 * `query` and `candidate` are blur() outputs of images of the given sizes.
 */
export function compareDetail(
  query: Float32Array,
  querySize: { width: number; height: number },
  candidate: Float32Array,
  candidateSize: { width: number; height: number },
  transform: Affine,
): DetailComparison {
  const { width, height } = querySize;
  const cw = candidateSize.width;
  const ch = candidateSize.height;
  const { sampled, inside } = scratch(width * height);
  let n = 0;
  let sumQ = 0;
  let sumC = 0;
  let sumCC = 0;
  let sumQC = 0;
  const { m00, m01, m02, m10, m11, m12 } = transform;
  // Pass 1: the candidate sampled into the query's frame (as f32), and the sums of the gain/offset fit.
  for (let y = 0; y < height; y += 1) {
    const row = y * width;
    for (let x = 0; x < width; x += 1) {
      const index = row + x;
      const cx = m00 * x + m01 * y + m02;
      const cy = m10 * x + m11 * y + m12;
      if (cx < 0 || cy < 0 || cx > cw - 1 || cy > ch - 1) {
        inside[index] = 0;
        continue;
      }
      const x0 = Math.min(Math.floor(cx), cw - 2);
      const y0 = Math.min(Math.floor(cy), ch - 2);
      const fx = cx - x0;
      const fy = cy - y0;
      const at = y0 * cw + x0;
      const top = (candidate[at] as number) * (1 - fx) + (candidate[at + 1] as number) * fx;
      const bottom = (candidate[at + cw] as number) * (1 - fx) + (candidate[at + cw + 1] as number) * fx;
      sampled[index] = top * (1 - fy) + bottom * fy;
      // Sums over the stored (f32) sample, so that they describe exactly what pass 2 compares.
      const c = sampled[index] as number;
      const q = query[index] as number;
      inside[index] = 1;
      n += 1;
      sumQ += q;
      sumC += c;
      sumCC += c * c;
      sumQC += q * c;
    }
  }
  const columns = Math.floor(width / BLOCK);
  const rows = Math.floor(height / BLOCK);
  if (n < BLOCK * BLOCK || columns === 0 || rows === 0) return { texturedBlocks: 0, agreement: 0, largestRegion: 0, overlap: 0 };
  // One gain and offset for the whole picture: a darker, greyer or contrast-stretched repost still agrees.
  const varianceC = sumCC - (sumC * sumC) / n;
  const rawGain = varianceC > 1e-6 ? (sumQC - (sumQ * sumC) / n) / varianceC : 1;
  const gain = Math.max(0.5, Math.min(2, rawGain));
  const offset = (sumQ - gain * sumC) / n;

  // The candidate after gain and offset; outside the overlap it takes the query's value (no difference).
  const fittedAt = (at: number): number => (inside[at] === 1 ? gain * (sampled[at] as number) + offset : (query[at] as number));
  const disagree = new Uint8Array(columns * rows);
  let textured = 0;
  let agreeing = 0;
  let covered = 0;
  const blockPixels = BLOCK * BLOCK;
  for (let by = 0; by < rows; by += 1) {
    for (let bx = 0; bx < columns; bx += 1) {
      let count = 0;
      let differing = 0;
      let sq = 0;
      let sqq = 0;
      let sc = 0;
      let scc = 0;
      for (let y = by * BLOCK; y < (by + 1) * BLOCK; y += 1) {
        const row = y * width;
        const up = y > 0 ? -width : 0;
        const down = y < height - 1 ? width : 0;
        for (let x = bx * BLOCK; x < (bx + 1) * BLOCK; x += 1) {
          const at = row + x;
          if (inside[at] !== 1) continue;
          const q = query[at] as number;
          const c = gain * (sampled[at] as number) + offset;
          count += 1;
          // Tolerant difference: the best of the candidate pixel and its four neighbours, so an alignment
          // off by up to a pixel does not count, while another letter or word in that place still does.
          if (Math.abs(q - c) > PIXEL_DIFFERENCE) {
            const left = fittedAt(x > 0 ? at - 1 : at);
            const right = fittedAt(x < width - 1 ? at + 1 : at);
            const nearest = Math.min(Math.abs(q - left), Math.abs(q - right), Math.abs(q - fittedAt(at + up)), Math.abs(q - fittedAt(at + down)));
            if (nearest > PIXEL_DIFFERENCE) differing += 1;
          }
          sq += q;
          sqq += q * q;
          sc += c;
          scc += c * c;
        }
      }
      // Blocks the candidate barely covers (its edge, a cropped-off bar) are not judged.
      if (count < blockPixels * 0.9) continue;
      covered += 1;
      const deviation = Math.sqrt(Math.max(sqq / count - (sq / count) ** 2, scc / count - (sc / count) ** 2, 0));
      if (deviation <= TEXTURE_DEVIATION) continue;
      textured += 1;
      if (differing >= count * BLOCK_DIFFERING_SHARE) disagree[by * columns + bx] = 1;
      else agreeing += 1;
    }
  }
  return {
    texturedBlocks: textured,
    agreement: textured === 0 ? 0 : agreeing / textured,
    largestRegion: largestComponent(disagree, columns, rows),
    overlap: covered / (columns * rows),
  };
}
