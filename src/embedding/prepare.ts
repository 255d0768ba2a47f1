/** The CPU-side half of embedding: bytes → decoded pixels → model input + duplicate signature. */
import { decodeImage, type DecodeLimits } from './decode.ts';
import { preprocess, type PreprocessOptions } from './preprocess.ts';
import { computeSignature } from './signature.ts';

export interface PreparedImage {
  /** INPUT_SIZE²×3 floats in [0, 1]. */
  input: Float32Array;
  signature: Uint8Array;
  width: number;
  height: number;
}

export async function prepareImage(bytes: Uint8Array, limits: DecodeLimits, options: PreprocessOptions): Promise<PreparedImage> {
  const decoded = await decodeImage(bytes, limits);
  const [input, signature] = await Promise.all([
    preprocess(decoded, options),
    computeSignature(decoded.rgb, decoded.width, decoded.height),
  ]);
  return { input, signature, width: decoded.sourceWidth, height: decoded.sourceHeight };
}
