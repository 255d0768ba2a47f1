/** The embedding engine's public surface: everything outside src/embedding depends on these types only. */
import type { DejavuError } from '../errors.ts';

/** The model's native input side: it takes INPUT_SIZE×INPUT_SIZE×3 floats per image. */
export const INPUT_SIZE = 224;

/** Width of the EfficientNet-B0 global-average-pool feature. */
export const EMBEDDING_DIMENSIONS = 1280;

export interface ImageEmbedding {
  /** L2-normalised float32 search descriptor (EMBEDDING_DIMENSIONS long). */
  vector: Float32Array;
  /**
   * Compact appearance signature used only by the duplicate detector's verification stage
   * (see src/embedding/signature.ts). Stored with the image record; a few KB at most.
   */
  signature: Uint8Array;
  /** Size of the decoded source image (after EXIF orientation), in pixels. */
  width: number;
  height: number;
}

export interface Embedder {
  /** Human-readable backend actually running, e.g. `wasm (2 workers)`, `tensorflow-gpu`, `http (2 hosts)`. */
  readonly backend: string;
  /**
   * Identifies the kind of vectors produced (model, pooling, preprocessing, signature version).
   * Indexes record it and refuse vectors of another variant.
   */
  readonly variant: string;
  /** Embeds one encoded image (JPEG, PNG, WebP, GIF, AVIF, …). Rejects with an ImageError for bad input. */
  embed(image: Uint8Array): Promise<ImageEmbedding>;
  /** Embeds several images; one bad image yields its error in place and does not fail the others. */
  embedMany(images: readonly Uint8Array[]): Promise<Array<ImageEmbedding | DejavuError>>;
  close(): Promise<void>;
}
