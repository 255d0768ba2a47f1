/**
 * Frames of animated images (GIF, WebP): up to three, the first, the middle one and the last non-blank one,
 * each re-encoded as a small PNG for the embedder. Reaction GIFs often fade to a blank frame at the end,
 * and a blank frame matches every other blank frame, so the last frame is the last one that is not blank.
 * Still images (one page) have no frames here: they are indexed as they are.
 */
import sharp from 'sharp';
import { ImageError } from '../errors.ts';

/** Frames indexed per animation or video at most. */
export const MAX_FRAMES = 3;

/** Longer side of an extracted frame: the largest size the embedder uses is the signature's 512-px detail image. */
export const FRAME_MAX_SIDE = 512;

/** A frame whose every channel varies less than this (standard deviation, 0–255) is blank. */
const BLANK_STDEV = 4;

/** How many frames from the end are tried for a non-blank last frame. */
const LAST_FRAME_SEARCH = 8;

export interface ExtractedFrame {
  /** Position in the animation (page number) or in the video (milliseconds). */
  position: number;
  /** PNG bytes. */
  bytes: Uint8Array;
}

export interface FrameLimits {
  /** Largest accepted width×height of one frame (decompression-bomb guard). */
  maxPixels: number;
  /** At most this many frames (1–MAX_FRAMES). */
  maxFrames: number;
}

/** Page numbers to take from an animation of `pages` pages: first, middle, last (distinct, in order). */
export function framePositions(pages: number, maxFrames = MAX_FRAMES): number[] {
  if (pages <= 1 || maxFrames <= 1) return [0];
  const wanted = maxFrames === 2 ? [0, pages - 1] : [0, Math.floor((pages - 1) / 2), pages - 1];
  return [...new Set(wanted)];
}

/**
 * Whether packed 8-bit pixels of `channels` interleaved channels are (nearly) one flat colour: every colour
 * channel (the first three, so never the alpha of RGBA) has a sample standard deviation under BLANK_STDEV.
 */
export function isBlankPixels(pixels: Uint8Array, channels: number): boolean {
  const count = Math.floor(pixels.length / channels);
  if (count < 2) return true;
  for (let channel = 0; channel < Math.min(channels, 3); channel += 1) {
    let sum = 0;
    let squares = 0;
    for (let index = channel; index < pixels.length; index += channels) {
      const value = pixels[index]!;
      sum += value;
      squares += value * value;
    }
    // The formula of libvips (sharp's stats()), so the threshold means what it did there: |Σx² − (Σx)²/n| / (n − 1).
    const stdev = Math.sqrt(Math.abs(squares - (sum * sum) / count) / (count - 1));
    if (stdev >= BLANK_STDEV) return false;
  }
  return true;
}

/**
 * Whether an image is (nearly) one flat colour. The sums are taken here over sharp's decoded pixels: sharp's
 * stats() also locates every channel's extremes and takes 11 ms for a 512×288 frame, against 3 ms for the
 * decode and these sums.
 */
export async function isBlank(png: Uint8Array): Promise<boolean> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return isBlankPixels(data, info.channels);
}

/** Number of pages of an animated image, 1 for a still one (or a format without pages). */
export async function pageCount(bytes: Uint8Array): Promise<number> {
  try {
    const metadata = await sharp(bytes, { limitInputPixels: false }).metadata();
    return (metadata.format === 'gif' || metadata.format === 'webp') && metadata.pages !== undefined ? metadata.pages : 1;
  } catch (error) {
    throw new ImageError('IMAGE_CORRUPT', 'the image header cannot be read', { reason: error instanceof Error ? error.message : String(error) }, { cause: error });
  }
}

async function renderPage(bytes: Uint8Array, page: number, limits: FrameLimits): Promise<Uint8Array> {
  const png = await sharp(bytes, { page, pages: 1, limitInputPixels: limits.maxPixels, failOn: 'error' })
    .resize(FRAME_MAX_SIDE, FRAME_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
    .png({ compressionLevel: 1 })
    .toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.length);
}

/**
 * The frames to index of an animated GIF or WebP, or null for a still image. The first frame is always
 * kept (it is what a still preview of the file shows); the middle and last are dropped when blank.
 */
export async function animatedFrames(bytes: Uint8Array, limits: FrameLimits): Promise<ExtractedFrame[] | null> {
  const pages = await pageCount(bytes);
  if (pages <= 1) return null;
  const positions = framePositions(pages, limits.maxFrames);
  const frames: ExtractedFrame[] = [];
  try {
    for (const position of positions) {
      const isLast = position === pages - 1 && position !== 0;
      let chosen: ExtractedFrame | null = null;
      // The last frame: walk back from the end to the last non-blank one (but not into the middle frame).
      const floor = isLast ? Math.max((positions[positions.length - 2] ?? 0) + 1, pages - LAST_FRAME_SEARCH) : position;
      for (let page = position; page >= floor; page -= 1) {
        const png = await renderPage(bytes, page, limits);
        if (position === 0 || !(await isBlank(png))) {
          chosen = { position: page, bytes: png };
          break;
        }
      }
      if (chosen !== null) frames.push(chosen);
    }
  } catch (error) {
    if (error instanceof ImageError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    if (/pixel limit/i.test(message)) throw new ImageError('IMAGE_TOO_MANY_PIXELS', `the animation's frames have more pixels than allowed: ${message}`, {}, { cause: error });
    throw new ImageError('IMAGE_CORRUPT', `the animation is corrupt: ${message.split('\n')[0]}`, {}, { cause: error });
  }
  return frames;
}
