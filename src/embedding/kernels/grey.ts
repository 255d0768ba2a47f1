/**
 * The sRGB → grey conversion of grey.ts, run by the WebAssembly kernel in grey.wat (native f32 sums, levels
 * from grey.ts's bucket tables).
 * Each call copies the box's rows in and the grey pixels out, so callers hold no kernel memory.
 */
import { align16, ensureBytes, instantiate } from '../../webassembly.ts';
import type { Box } from '../borders.ts';
import { WASM_BASE64 } from './grey.wasm.ts';

interface Kernel {
  memory: WebAssembly.Memory;
  greyCrop: (tables: number, buckets: number, rgb: number, width: number, left: number, top: number, boxWidth: number, boxHeight: number, out: number) => void;
}


let kernel: Kernel | undefined;
/** The tables now in the kernel's memory (compared by identity: they are module constants). */
let loadedTables: Uint8Array | undefined;

/** `box` of packed RGB `rgb` (`width` pixels a row) as grey, with `tables` (of `buckets` buckets) laid out as grey.wat reads them. */
export function greyOfBox(tables: Uint8Array, buckets: number, rgb: Uint8Array, width: number, box: Box): Uint8Array {
  kernel ??= instantiate<Kernel>(WASM_BASE64);
  const rowsAt = align16(tables.length);
  const rows = rgb.subarray(box.top * width * 3, (box.top + box.height) * width * 3);
  const outAt = align16(rowsAt + rows.length);
  const count = box.width * box.height;
  ensureBytes(kernel.memory, outAt + count);
  const bytes = new Uint8Array(kernel.memory.buffer);
  if (loadedTables !== tables) {
    bytes.set(tables, 0);
    loadedTables = tables;
  }
  bytes.set(rows, rowsAt);
  kernel.greyCrop(0, buckets, rowsAt, width, box.left, 0, box.width, box.height, outAt);
  return new Uint8Array(kernel.memory.buffer, outAt, count).slice();
}
