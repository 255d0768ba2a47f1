/**
 * Band handling for preprocess.ts, run by the WebAssembly kernel in preprocess.wat: packed RGB → three grey
 * planes, and three planes → packed RGB floats. Each call copies its input in and its result out.
 */
import { align16, ensureBytes, instantiate } from '../../webassembly.ts';
import type { Box } from '../borders.ts';
import { WASM_BASE64 } from './preprocess.wasm.ts';

interface Kernel {
  memory: WebAssembly.Memory;
  bands: (rgb: number, width: number, left: number, top: number, boxWidth: number, boxHeight: number, planes: number) => void;
  toUnit: (red: number, green: number, blue: number, count: number, unit: number, out: number) => void;
}

export type Planes = [Uint8Array, Uint8Array, Uint8Array];


let kernel: Kernel | undefined;

function grown(bytes: number): Kernel {
  kernel ??= instantiate<Kernel>(WASM_BASE64);
  ensureBytes(kernel.memory, bytes);
  return kernel;
}

/** `box` of packed RGB `rgb` (`width` pixels a row) as its red, green and blue planes. */
export function bandsOf(rgb: Uint8Array, width: number, box: Box): Planes {
  const rows = rgb.subarray(box.top * width * 3, (box.top + box.height) * width * 3);
  const count = box.width * box.height;
  const planesAt = align16(rows.length);
  const { memory, bands } = grown(planesAt + 3 * count);
  new Uint8Array(memory.buffer).set(rows, 0);
  bands(0, width, box.left, 0, box.width, box.height, planesAt);
  const plane = (band: number): Uint8Array => new Uint8Array(memory.buffer, planesAt + band * count, count).slice();
  return [plane(0), plane(1), plane(2)];
}

/** Three planes of equal size → packed RGB floats, byte v becoming `unit[v]` (256 entries). */
export function packedFloats(planes: Planes, unit: Float32Array): Float32Array {
  const count = planes[0].length;
  const unitAt = align16(3 * count);
  const outAt = unitAt + unit.length * 4;
  const { memory, toUnit } = grown(outAt + 3 * count * 4);
  const bytes = new Uint8Array(memory.buffer);
  planes.forEach((plane, band) => bytes.set(plane, band * count));
  new Float32Array(memory.buffer, unitAt, unit.length).set(unit);
  toUnit(0, count, 2 * count, count, unitAt, outAt);
  return new Float32Array(memory.buffer, outAt, 3 * count).slice();
}
