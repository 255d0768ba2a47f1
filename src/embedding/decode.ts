/**
 * Turns untrusted image bytes into packed 8-bit sRGB pixels, or a typed ImageError.
 *
 * Order matters for safety: cheap checks (size, header) come before any pixel is decoded, so a
 * decompression bomb is refused from its header alone; the decode itself is bounded by a timeout.
 * Large images are shrunk while loading (libjpeg/libwebp shrink-on-load) straight to a working size
 * that keeps enough detail for the 224×224 model input and the duplicate signature.
 */
import sharp, { type Metadata } from 'sharp';
import { ImageError } from '../errors.ts';

export interface DecodeLimits {
  /** Largest accepted encoded size. */
  maxBytes: number;
  /** Largest accepted width×height of one frame (decompression-bomb guard). */
  maxPixels: number;
  /** Wall-clock limit for the decode. */
  timeoutMs: number;
  /**
   * Working size: the decoded image is shrunk (never enlarged) so that its shorter side is at most this,
   * keeping the aspect ratio. Default 320 (comfortably above the 224 model input).
   */
  workingSize?: number;
}

export interface DecodedImage {
  /** Packed RGB, 3 bytes per pixel, `width`×`height`, EXIF-oriented, alpha flattened on white. */
  rgb: Uint8Array;
  width: number;
  height: number;
  /** Size of the source image after EXIF orientation (what users see). */
  sourceWidth: number;
  sourceHeight: number;
}

export const DEFAULT_WORKING_SIZE = 320;

/** Formats we decode; everything else (SVG, PDF, raw camera files, …) is refused. AVIF reports as heif. */
const ACCEPTED_FORMATS = new Set<string>(['jpeg', 'png', 'webp', 'gif', 'heif', 'avif', 'tiff']);

export async function decodeImage(bytes: Uint8Array, limits: DecodeLimits): Promise<DecodedImage> {
  if (bytes.length === 0) throw new ImageError('IMAGE_EMPTY', 'the image is empty (0 bytes)');
  if (bytes.length > limits.maxBytes) {
    throw new ImageError('IMAGE_TOO_LARGE', `the image is ${bytes.length} bytes, more than the limit of ${limits.maxBytes}`, {
      bytes: bytes.length,
      limit: limits.maxBytes,
    });
  }
  return withTimeout(decodeChecked(bytes, limits), limits.timeoutMs);
}

async function decodeChecked(bytes: Uint8Array, limits: DecodeLimits): Promise<DecodedImage> {
  const metadata = await readMetadata(bytes);
  const format = metadata.format ?? 'unknown';
  if (!ACCEPTED_FORMATS.has(format)) {
    throw new ImageError('IMAGE_UNSUPPORTED', `unsupported image format: ${format}`, { format });
  }
  const frameWidth = metadata.width;
  // Animated images stack their frames vertically; pageHeight is one frame.
  const frameHeight = metadata.pageHeight ?? metadata.height;
  if (!(frameWidth > 0 && frameHeight > 0)) throw new ImageError('IMAGE_CORRUPT', 'the image header has no valid size', { format });
  if (frameWidth * frameHeight > limits.maxPixels) {
    throw new ImageError('IMAGE_TOO_MANY_PIXELS', `the image is ${frameWidth}×${frameHeight} pixels, more than the limit of ${limits.maxPixels}`, {
      width: frameWidth,
      height: frameHeight,
      limit: limits.maxPixels,
    });
  }
  // EXIF orientations 5–8 swap the axes.
  const swapped = (metadata.orientation ?? 1) >= 5;
  const sourceWidth = swapped ? frameHeight : frameWidth;
  const sourceHeight = swapped ? frameWidth : frameHeight;
  const workingSize = limits.workingSize ?? DEFAULT_WORKING_SIZE;
  const scale = Math.min(1, workingSize / Math.min(sourceWidth, sourceHeight));
  const width = Math.max(1, Math.round(sourceWidth * scale));
  const height = Math.max(1, Math.round(sourceHeight * scale));

  try {
    const pipeline = sharp(bytes, {
      limitInputPixels: limits.maxPixels,
      sequentialRead: true,
      // Real-world uploads often carry harmless warnings (e.g. extra bytes after EOI); only fail on errors.
      failOn: 'error',
      pages: 1,
    })
      .timeout({ seconds: Math.max(1, Math.ceil(limits.timeoutMs / 1000)) })
      .rotate()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb');
    const sized = scale < 1 ? pipeline.resize(width, height, { fit: 'fill', kernel: 'lanczos3' }) : pipeline;
    const { data, info } = await sized.removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoder produced ${info.channels} channels`);
    return {
      rgb: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
      sourceWidth,
      sourceHeight,
    };
  } catch (error) {
    throw classifyDecodeError(error, format);
  }
}

async function readMetadata(bytes: Uint8Array): Promise<Metadata> {
  try {
    return await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/unsupported image format/i.test(message)) {
      throw new ImageError('IMAGE_UNSUPPORTED', 'not an image in a supported format', { reason: message }, { cause: error });
    }
    throw new ImageError('IMAGE_CORRUPT', `the image header cannot be read: ${message}`, { reason: message }, { cause: error });
  }
}

function classifyDecodeError(error: unknown, format: string): ImageError {
  if (error instanceof ImageError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/timeout/i.test(message)) {
    return new ImageError('IMAGE_DECODE_TIMEOUT', 'decoding the image took too long', { format }, { cause: error });
  }
  if (/pixel limit/i.test(message)) {
    return new ImageError('IMAGE_TOO_MANY_PIXELS', `the image has more pixels than allowed: ${message}`, { format }, { cause: error });
  }
  return new ImageError('IMAGE_CORRUPT', `the ${format} image is corrupt: ${message.split('\n')[0]}`, { format }, { cause: error });
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ImageError('IMAGE_DECODE_TIMEOUT', `decoding the image took more than ${timeoutMs} ms`, { timeoutMs })),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    // The loser of the race must not surface as an unhandled rejection.
    work.catch(() => undefined);
  }
}
