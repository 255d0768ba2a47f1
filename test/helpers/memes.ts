/** Memes drawn for tests: a picture with an impact-style caption at the top and bottom (sharp + SVG text). */
import sharp from 'sharp';

const SIZE = 480;

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function captionSvg(top: string, bottom: string): Buffer {
  const line = (text: string, y: number) =>
    `<text x="50%" y="${y}" text-anchor="middle" font-family="DejaVu Sans, sans-serif" font-weight="bold" font-size="40" fill="white" stroke="black" stroke-width="2">${escapeXml(text)}</text>`;
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}">${line(top, 56)}${line(bottom, SIZE - 24)}</svg>`);
}

/** The picture resized to a square with the two caption lines drawn on it, as JPEG. */
export async function drawMeme(picture: Buffer, top: string, bottom: string): Promise<Buffer> {
  return sharp(picture)
    .resize(SIZE, SIZE, { fit: 'cover' })
    .composite([{ input: captionSvg(top, bottom), top: 0, left: 0 }])
    .jpeg({ quality: 90 })
    .toBuffer();
}
