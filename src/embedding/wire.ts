/**
 * Wire format of the embedder HTTP service (shared by server and client; documented in docs/embedding.md, "GPU host service").
 *
 * - `POST /v1/embed` — body: one encoded image (any Content-Type). 200 → `WireEmbedding` JSON;
 *   a bad image → 422 `{ "error": { "code", "message" } }`.
 * - `POST /v1/embed-batch` — body: `Content-Type: application/x-dejavu-batch`, a sequence of
 *   [uint32 little-endian byte length][image bytes]. 200 → `{ variant, backend, results: [WireEmbedding | { error }] }`,
 *   one result per image, in order.
 * - `GET /healthz` → `{ ok, backend, variant }`; `GET /metrics` → Prometheus text.
 * - Every POST needs `Authorization: Bearer <EMBEDDER_TOKEN>` when the service has a token (401 otherwise);
 *   bodies above the limit get 413.
 * Vectors travel as base64 of little-endian float32, so they arrive bit-identical.
 */
import { DejavuError, ImageError, type ErrorCode } from '../errors.ts';
import type { ImageEmbedding } from './types.ts';

export const BATCH_CONTENT_TYPE = 'application/x-dejavu-batch';

export interface WireEmbedding {
  vector: string;
  signature: string;
  width: number;
  height: number;
}

export interface WireError {
  error: { code: string; message: string };
}

export interface WireSingleResponse extends WireEmbedding {
  variant: string;
  backend: string;
}

export interface WireBatchResponse {
  variant: string;
  backend: string;
  results: Array<WireEmbedding | WireError>;
}

export interface WireHealth {
  ok: boolean;
  backend: string;
  variant: string;
}

export function toWire(embedding: ImageEmbedding): WireEmbedding {
  return {
    vector: Buffer.from(embedding.vector.buffer, embedding.vector.byteOffset, embedding.vector.byteLength).toString('base64'),
    signature: Buffer.from(embedding.signature.buffer, embedding.signature.byteOffset, embedding.signature.byteLength).toString('base64'),
    width: embedding.width,
    height: embedding.height,
  };
}

export function fromWire(wire: WireEmbedding): ImageEmbedding {
  const vectorBytes = Buffer.from(wire.vector, 'base64');
  // Copy into a fresh, aligned buffer (Buffer pools may give an odd byteOffset).
  const vector = new Float32Array(vectorBytes.length / 4);
  new Uint8Array(vector.buffer).set(vectorBytes);
  return { vector, signature: new Uint8Array(Buffer.from(wire.signature, 'base64')), width: wire.width, height: wire.height };
}

export function errorToWire(error: DejavuError): WireError {
  return { error: { code: error.code, message: error.message } };
}

export function errorFromWire(wire: WireError): DejavuError {
  const code = wire.error.code as ErrorCode;
  return code.startsWith('IMAGE_') ? new ImageError(code, wire.error.message) : new DejavuError(code, wire.error.message);
}

export function isWireError(value: WireEmbedding | WireError): value is WireError {
  return 'error' in value;
}

export function encodeBatch(images: readonly Uint8Array[]): Buffer {
  const total = images.reduce((sum, image) => sum + 4 + image.length, 0);
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const image of images) {
    out.writeUInt32LE(image.length, offset);
    out.set(image, offset + 4);
    offset += 4 + image.length;
  }
  return out;
}

/** Splits a batch body; throws INVALID_INPUT when the framing is broken. */
export function decodeBatch(body: Buffer): Uint8Array[] {
  const images: Uint8Array[] = [];
  let offset = 0;
  while (offset < body.length) {
    if (offset + 4 > body.length) throw new DejavuError('INVALID_INPUT', 'batch body ends inside a length prefix');
    const length = body.readUInt32LE(offset);
    if (offset + 4 + length > body.length) throw new DejavuError('INVALID_INPUT', 'batch body ends inside an image');
    images.push(body.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return images;
}
