/**
 * Brute-force index: vectors packed in one Float32Array, scanned with a dot product per query. Exact, no
 * build cost, 4·d bytes per vector and no per-vector objects; faster than HNSW for small guilds (see
 * EXACT_SEARCH_MAX_IMAGES in ./select.ts for the measured crossover).
 */
import { open, readFile } from 'node:fs/promises';
import { StoreError } from '../errors.ts';
import { TopK } from './top-k.ts';
import type { LabelFilter, VectorHit, VectorIndex } from './types.ts';

const MAGIC = 0x584a5644; // "DVJX" little-endian
const FORMAT_VERSION = 1;
const HEADER_BYTES = 16;

export class ExactVectorIndex implements VectorIndex {
  readonly kind = 'exact' as const;
  private vectors: Float32Array;
  /** slot → label; slots 0..size-1 are live (removal moves the last slot into the hole). */
  private slotLabels: Float64Array;
  private readonly slotOf = new Map<number, number>();

  constructor(
    readonly dimensions: number,
    initialCapacity = 64,
  ) {
    const capacity = Math.max(1, initialCapacity);
    this.vectors = new Float32Array(capacity * dimensions);
    this.slotLabels = new Float64Array(capacity);
  }

  get size(): number {
    return this.slotOf.size;
  }

  get deletedCount(): number {
    return 0;
  }

  has(label: number): boolean {
    return this.slotOf.has(label);
  }

  add(label: number, vector: Float32Array): void {
    checkDimensions(vector, this.dimensions);
    let slot = this.slotOf.get(label);
    if (slot === undefined) {
      slot = this.slotOf.size;
      if (slot >= this.slotLabels.length) this.grow(Math.max(64, Math.ceil(this.slotLabels.length * 1.5)));
      this.slotOf.set(label, slot);
      this.slotLabels[slot] = label;
    }
    this.vectors.set(vector, slot * this.dimensions);
  }

  remove(label: number): boolean {
    const slot = this.slotOf.get(label);
    if (slot === undefined) return false;
    const last = this.slotOf.size - 1;
    if (slot !== last) {
      const movedLabel = this.slotLabels[last] ?? 0;
      this.vectors.copyWithin(slot * this.dimensions, last * this.dimensions, (last + 1) * this.dimensions);
      this.slotLabels[slot] = movedLabel;
      this.slotOf.set(movedLabel, slot);
    }
    this.slotOf.delete(label);
    return true;
  }

  search(query: Float32Array, k: number, filter?: LabelFilter): VectorHit[] {
    checkDimensions(query, this.dimensions);
    const top = new TopK(k);
    const d = this.dimensions;
    const vectors = this.vectors;
    const n = this.slotOf.size;
    for (let slot = 0; slot < n; slot++) {
      const label = this.slotLabels[slot] ?? 0;
      if (filter !== undefined && !filter(label)) continue;
      top.offer(label, dot(query, vectors, slot * d, d));
    }
    return top.result();
  }

  getVector(label: number): Float32Array | undefined {
    const slot = this.slotOf.get(label);
    if (slot === undefined) return undefined;
    return this.vectors.slice(slot * this.dimensions, (slot + 1) * this.dimensions);
  }

  labels(): IterableIterator<number> {
    return this.slotOf.keys();
  }

  /** Format: 16-byte header (magic, version, dimensions, count), count float64 labels, count·d float32. */
  async save(path: string): Promise<void> {
    const n = this.size;
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32LE(MAGIC, 0);
    header.writeUInt32LE(FORMAT_VERSION, 4);
    header.writeUInt32LE(this.dimensions, 8);
    header.writeUInt32LE(n, 12);
    const file = await open(path, 'w');
    try {
      await file.write(header);
      await file.write(new Uint8Array(this.slotLabels.buffer, 0, n * 8));
      await file.write(new Uint8Array(this.vectors.buffer, 0, n * this.dimensions * 4));
    } finally {
      await file.close();
    }
  }

  static async load(path: string, dimensions: number): Promise<ExactVectorIndex> {
    const bytes = await readFile(path);
    const corrupt = (why: string): StoreError =>
      new StoreError('INDEX_CORRUPT', `Exact index file ${path} is corrupt: ${why}`, { path });
    if (bytes.length < HEADER_BYTES || bytes.readUInt32LE(0) !== MAGIC) throw corrupt('bad header');
    if (bytes.readUInt32LE(4) !== FORMAT_VERSION) throw corrupt(`unknown format version ${bytes.readUInt32LE(4)}`);
    const fileDimensions = bytes.readUInt32LE(8);
    if (fileDimensions !== dimensions) throw corrupt(`has ${fileDimensions} dimensions, expected ${dimensions}`);
    const n = bytes.readUInt32LE(12);
    const expected = HEADER_BYTES + n * 8 + n * dimensions * 4;
    if (bytes.length !== expected) throw corrupt(`size ${bytes.length} bytes, expected ${expected}`);
    const index = new ExactVectorIndex(dimensions, n);
    // Copy out of the file buffer: its offsets are not aligned for typed-array views.
    const labels = new Float64Array(bytes.buffer.slice(bytes.byteOffset + HEADER_BYTES, bytes.byteOffset + HEADER_BYTES + n * 8));
    const vectorsStart = bytes.byteOffset + HEADER_BYTES + n * 8;
    index.vectors.set(new Float32Array(bytes.buffer.slice(vectorsStart, vectorsStart + n * dimensions * 4)));
    for (let slot = 0; slot < n; slot++) {
      const label = labels[slot] ?? 0;
      index.slotLabels[slot] = label;
      index.slotOf.set(label, slot);
    }
    return index;
  }

  private grow(capacity: number): void {
    const vectors = new Float32Array(capacity * this.dimensions);
    vectors.set(this.vectors.subarray(0, this.slotOf.size * this.dimensions));
    const labels = new Float64Array(capacity);
    labels.set(this.slotLabels.subarray(0, this.slotOf.size));
    this.vectors = vectors;
    this.slotLabels = labels;
  }
}

/** Inner product of `query` with the vector stored at `offset` in `matrix`, unrolled by four. */
export function dot(query: Float32Array, matrix: Float32Array, offset: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < d; i += 4) {
    s0 += (query[i] ?? 0) * (matrix[offset + i] ?? 0);
    s1 += (query[i + 1] ?? 0) * (matrix[offset + i + 1] ?? 0);
    s2 += (query[i + 2] ?? 0) * (matrix[offset + i + 2] ?? 0);
    s3 += (query[i + 3] ?? 0) * (matrix[offset + i + 3] ?? 0);
  }
  for (; i < d; i++) s0 += (query[i] ?? 0) * (matrix[offset + i] ?? 0);
  return s0 + s1 + s2 + s3;
}

export function checkDimensions(vector: Float32Array, dimensions: number): void {
  if (vector.length !== dimensions) {
    throw new StoreError('INVALID_INPUT', `Vector has ${vector.length} dimensions, the index expects ${dimensions}`, {
      got: vector.length,
      expected: dimensions,
    });
  }
}
