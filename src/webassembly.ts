/** Loading a compiled kernel and sizing its memory, shared by the kernel wrappers of src/embedding and src/services. */

const PAGE_BYTES = 65_536;

/**
 * The kernel's exports. Kernels are a few kilobytes: synchronous compilation, once per process, is cheaper
 * than threading a promise through every caller.
 */
export function instantiate<Exports>(base64: string): Exports {
  return new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(base64, 'base64'))).exports as unknown as Exports;
}

/** Grows `memory` to hold at least `bytes` (growing keeps what it holds). */
export function ensureBytes(memory: WebAssembly.Memory, bytes: number): void {
  const missing = bytes - memory.buffer.byteLength;
  if (missing > 0) memory.grow(Math.ceil(missing / PAGE_BYTES));
}

/** `offset` rounded up to a multiple of 16 bytes: where a region a kernel reads 16 bytes at a time may start. */
export function align16(offset: number): number {
  return Math.ceil(offset / 16) * 16;
}

/** Grows `memory` to `bytes` and copies `bytesAtStart` to offset 0 (a kernel's input image). */
export function loadAtStart(memory: WebAssembly.Memory, bytesAtStart: Uint8Array, bytes: number): void {
  ensureBytes(memory, bytes);
  new Uint8Array(memory.buffer).set(bytesAtStart, 0);
}
