/** The detail check's blur, run by the WebAssembly kernel in detail-blur.wat (same f32 values as JavaScript). */
import { WASM_BASE64 } from './detail-blur.wasm.ts';
import { align16, ensureBytes, instantiate } from '../../../webassembly.ts';

interface Kernel {
  memory: WebAssembly.Memory;
  blur: (pixels: number, width: number, height: number, out: number, pass: number, rows: number) => void;
}

let kernel: Kernel | undefined;

/** 3×3 box blur, twice, of row-major 8-bit grey `pixels` (`width`×`height`), as a new f32 image. */
export function boxBlurTwice(pixels: Uint8Array, width: number, height: number): Float32Array {
  kernel ??= instantiate<Kernel>(WASM_BASE64);
  const count = width * height;
  const outAt = align16(count);
  const passAt = align16(outAt + count * 4);
  const rowsAt = align16(passAt + count * 4);
  ensureBytes(kernel.memory, rowsAt + count * 4);
  new Uint8Array(kernel.memory.buffer, 0, count).set(pixels.subarray(0, count));
  kernel.blur(0, width, height, outAt, passAt, rowsAt);
  return new Float32Array(kernel.memory.buffer, outAt, count).slice();
}
