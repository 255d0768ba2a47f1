/**
 * Checks a converted ONNX model against the TF.js graph it came from: both embed the same fixed inputs
 * (deterministic pseudo-random pixels and a gradient), and every pair of vectors must agree to
 * cosine ≥ ONNX_MIN_COSINE. Runs at model fetch, so a converter bug can never reach an index.
 */
import { OrtSessionBackend } from './backends/ort-session.ts';
import { InThreadBackend } from './backends/tensorflow.ts';
import { INPUT_SIZE } from './types.ts';

export const ONNX_MIN_COSINE = 0.99999;

export interface OnnxCheck {
  /** Lowest cosine between the ORT and TF.js vectors of the same input. */
  minCosine: number;
  inputs: number;
}

/** Fixed inputs in [0,1]: a linear congruential generator (seeded) and a smooth RGB gradient. */
export function checkInputs(): Float32Array {
  const size = INPUT_SIZE * INPUT_SIZE * 3;
  const pixels = new Float32Array(2 * size);
  let state = 12345;
  for (let index = 0; index < size; index += 1) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    pixels[index] = state / 2 ** 32;
  }
  for (let y = 0; y < INPUT_SIZE; y += 1) {
    for (let x = 0; x < INPUT_SIZE; x += 1) {
      const base = size + (y * INPUT_SIZE + x) * 3;
      pixels[base] = x / (INPUT_SIZE - 1);
      pixels[base + 1] = y / (INPUT_SIZE - 1);
      pixels[base + 2] = 0.5 + 0.5 * Math.sin((x + y) / 17);
    }
  }
  return pixels;
}

/** Embeds checkInputs() with ORT (CPU) and with the TF.js wasm backend on `modelDir`. */
export async function checkOnnxAgainstGraph(onnxBytes: Uint8Array, modelDir: string): Promise<OnnxCheck> {
  const inputs = checkInputs();
  const count = inputs.length / (INPUT_SIZE * INPUT_SIZE * 3);
  const ort = await OrtSessionBackend.create(onnxBytes, 'cpu', 1);
  const wasm = await InThreadBackend.create('wasm', modelDir);
  try {
    const ours = await ort.infer(inputs.slice(), count);
    const reference = await wasm.infer(inputs.slice(), count);
    const cosines = ours.map((vector, image) => cosine(vector, reference[image]!));
    return { minCosine: Math.min(...cosines), inputs: count };
  } finally {
    await ort.close();
    await wasm.close();
  }
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let index = 0; index < a.length; index += 1) {
    dot += a[index]! * b[index]!;
    aa += a[index]! * a[index]!;
    bb += b[index]! * b[index]!;
  }
  return dot / Math.sqrt(aa * bb);
}
