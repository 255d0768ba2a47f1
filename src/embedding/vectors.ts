/** Vector helpers shared by every backend (kept free of TF.js and ONNX Runtime imports). */

/** Divides by `divisor` and scales to unit length (a zero vector stays zero). */
export function l2Normalise(values: ArrayLike<number>, divisor = 1): Float32Array {
  const out = new Float32Array(values.length);
  let squares = 0;
  for (let index = 0; index < values.length; index += 1) {
    const value = values[index]! / divisor;
    out[index] = value;
    squares += value * value;
  }
  const norm = Math.sqrt(squares);
  if (norm > 0) for (let index = 0; index < out.length; index += 1) out[index]! /= norm;
  return out;
}
