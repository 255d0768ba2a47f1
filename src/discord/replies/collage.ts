/** One picture of the top matches side by side, so a reply shows them at a glance. */
import sharp from 'sharp';

export interface CollageOptions {
  /** Edge of one square tile, in pixels. */
  tile?: number;
  /** Tiles per row. */
  columns?: number;
}

/** Placeholder colour for an image that could not be fetched or decoded. */
const MISSING_TILE = { r: 64, g: 64, b: 72, alpha: 1 };
/** Each tile is decoded with a pixel cap so one huge thumbnail cannot stall a reply. */
const MAX_TILE_INPUT_PIXELS = 40_000_000;

async function tileOf(image: Uint8Array | null, tile: number): Promise<Buffer> {
  if (image && image.byteLength > 0) {
    try {
      return await sharp(image, { limitInputPixels: MAX_TILE_INPUT_PIXELS, animated: false })
        .rotate()
        .resize(tile, tile, { fit: 'cover' })
        .removeAlpha()
        .raw()
        .toBuffer();
    } catch {
      // fall through to the placeholder: a broken thumbnail must not break the reply
    }
  }
  return sharp({ create: { width: tile, height: tile, channels: 3, background: MISSING_TILE } }).raw().toBuffer();
}

/** A JPEG grid of the given images in order (null: placeholder tile). Returns null for no images. */
export async function buildCollage(images: ReadonlyArray<Uint8Array | null>, options: CollageOptions = {}): Promise<Buffer | null> {
  if (images.length === 0) return null;
  const tile = options.tile ?? 160;
  const columns = Math.min(options.columns ?? 5, images.length);
  const rows = Math.ceil(images.length / columns);
  const gap = 4;
  const tiles = await Promise.all(images.map((image) => tileOf(image, tile)));
  return sharp({
    create: { width: columns * tile + (columns + 1) * gap, height: rows * tile + (rows + 1) * gap, channels: 3, background: { r: 32, g: 34, b: 37 } },
  })
    .composite(
      tiles.map((input, index) => ({
        input,
        raw: { width: tile, height: tile, channels: 3 as const },
        left: gap + (index % columns) * (tile + gap),
        top: gap + Math.floor(index / columns) * (tile + gap),
      })),
    )
    .jpeg({ quality: 82 })
    .toBuffer();
}
