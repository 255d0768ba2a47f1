/** Test data for the index and store tests: seeded random unit vectors and image sources. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { ImageEmbedding } from '../../src/embedding/types.ts';
import type { ImageSource } from '../../src/store/types.ts';

export { seededRandom } from '../../src/index/random.ts';

export function randomUnitVector(random: () => number, dimensions: number): Float32Array {
  const vector = new Float32Array(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    const value = random() - 0.5;
    vector[i] = value;
    norm += value * value;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < dimensions; i++) vector[i] = (vector[i] ?? 0) / norm;
  return vector;
}

/** `base` moved slightly: a near duplicate (cosine close to 1). */
export function nearby(random: () => number, base: Float32Array, noise: number): Float32Array {
  const noisy = randomUnitVector(random, base.length);
  const mixed = new Float32Array(base.length);
  let norm = 0;
  for (let i = 0; i < base.length; i++) {
    mixed[i] = (base[i] ?? 0) + noise * (noisy[i] ?? 0);
    norm += (mixed[i] ?? 0) ** 2;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < base.length; i++) mixed[i] = (mixed[i] ?? 0) / norm;
  return mixed;
}

export function embeddingOf(vector: Float32Array, seed = 0): ImageEmbedding {
  const signature = new Uint8Array(1024);
  for (let i = 0; i < signature.length; i++) signature[i] = (i * 31 + seed) & 0xff;
  return { vector, signature, width: 640 + (seed % 7), height: 480 };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function sourceOf(guildId: string, n: number, overrides: Partial<ImageSource> = {}): ImageSource {
  return {
    guildId,
    channelId: `c${n % 3}`,
    messageId: `m${Math.floor(n / 2)}`,
    sourceKey: `a${n}`,
    authorId: `u${n % 5}`,
    createdAt: 1_700_000_000_000 + n * 1000,
    nsfw: n % 10 === 9,
    kind: 'attachment',
    label: `image-${n}.png`,
    ...overrides,
  };
}

const temporaryDirs: string[] = [];
// Removed at exit rather than in t.after: after-hooks run in registration order, so a store closed in a
// later hook would otherwise find its directory gone.
process.on('exit', () => {
  for (const dir of temporaryDirs) rmSync(dir, { recursive: true, force: true });
});

export function temporaryDir(_t?: unknown, prefix = 'dejavu-store-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temporaryDirs.push(dir);
  return dir;
}
