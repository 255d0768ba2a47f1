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
