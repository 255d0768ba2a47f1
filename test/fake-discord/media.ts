// Image facts for attachment payloads (width/height like Discord reports them) and the media
// proxy's resizing (`?width=&height=&format=`), both with sharp.
import sharp from 'sharp';

const EXTENSION_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  svg: 'image/svg+xml',
  mp4: 'video/mp4',
  webm: 'video/webm',
  txt: 'text/plain; charset=utf-8',
  json: 'application/json; charset=utf-8',
};

/** Discord guesses the content type from the file name when the upload does not say. */
export function contentTypeFromFilename(filename: string): string | null {
  const extension = filename.split('.').pop()?.toLowerCase() ?? '';
  return EXTENSION_TYPES[extension] ?? null;
}

/** Width and height of a decodable raster image, else null (Discord omits them then). */
export async function imageDimensions(bytes: Buffer, contentType: string | null): Promise<{ width: number; height: number } | null> {
  if (!contentType?.startsWith('image/') || contentType.startsWith('image/svg') || bytes.length === 0) return null;
  try {
    const metadata = await sharp(bytes, { animated: false }).metadata();
    return metadata.width && metadata.height ? { width: metadata.width, height: metadata.height } : null;
  } catch {
    return null;
  }
}

/**
 * What media.discordapp.net does with `width`, `height` and `format`: fit inside the box without
 * enlarging, re-encode. Anything it cannot decode is served unchanged.
 */
export async function proxyRendition(
  bytes: Buffer,
  contentType: string | null,
  query: URLSearchParams,
): Promise<{ bytes: Buffer; contentType: string | null }> {
  const width = Number(query.get('width')) || undefined;
  const height = Number(query.get('height')) || undefined;
  const format = query.get('format');
  if ((!width && !height && !format) || !contentType?.startsWith('image/') || contentType.startsWith('image/svg')) {
    return { bytes, contentType };
  }
  try {
    let pipeline = sharp(bytes).resize({ width, height, fit: 'inside', withoutEnlargement: true });
    let outputType = contentType;
    if (format === 'webp' || format === 'png' || format === 'jpeg') {
      pipeline = pipeline.toFormat(format);
      outputType = `image/${format}`;
    }
    return { bytes: await pipeline.toBuffer(), contentType: outputType };
  } catch {
    return { bytes, contentType };
  }
}
