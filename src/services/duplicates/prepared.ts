/**
 * Decoded signatures of the images compared most recently. The look-alikes of a channel (one app's
 * screenshots, one picture's memes, the images of a repost wave) are shortlisted for image after image:
 * decoding a candidate's detail JPEG, blurring it and building its thumbnail pyramid is about a quarter of a
 * decision, and needs doing once per image, not once per pair. Entries are keyed by the signature's bytes,
 * so equal bytes share one entry whichever guild or record they come from (they decode to the same pixels).
 */
import { createHash } from 'node:crypto';
import { type PreparedDetail, prepareDetail } from './judge.ts';
import { type PreparedSignature, prepareSignature } from './verify.ts';

interface Entry {
  detail?: PreparedDetail;
  thumbnail?: PreparedSignature;
}

/**
 * Images kept. A prepared detail holds its blurred 512-px image as f32 (up to 1 MB), so 32 entries stay
 * near 32 MB, enough for the 8 candidates of a few consecutive decisions.
 */
export const PREPARED_CAPACITY = 32;

export class PreparedSignatures {
  readonly #entries = new Map<string, Entry>();

  constructor(readonly capacity: number = PREPARED_CAPACITY) {}

  get size(): number {
    return this.#entries.size;
  }

  detail(signature: Uint8Array): PreparedDetail {
    const entry = this.#entry(signature);
    entry.detail ??= prepareDetail(signature);
    return entry.detail;
  }

  thumbnail(signature: Uint8Array): PreparedSignature {
    const entry = this.#entry(signature);
    entry.thumbnail ??= prepareSignature(signature);
    return entry.thumbnail;
  }

  #entry(signature: Uint8Array): Entry {
    const key = createHash('sha1').update(signature).digest('base64');
    const existing = this.#entries.get(key);
    if (existing !== undefined) {
      // Map order is insertion order: re-inserting marks the entry as the most recently used.
      this.#entries.delete(key);
      this.#entries.set(key, existing);
      return existing;
    }
    const entry: Entry = {};
    this.#entries.set(key, entry);
    if (this.#entries.size > this.capacity) this.#entries.delete(this.#entries.keys().next().value as string);
    return entry;
  }
}
