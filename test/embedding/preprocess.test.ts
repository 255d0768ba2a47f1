import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { findContentBox } from '../../src/embedding/borders.ts';
import { decodeImage } from '../../src/embedding/decode.ts';
import { preprocess } from '../../src/embedding/preprocess.ts';
import { seededRandom } from '../../src/index/random.ts';
import { gradientImage } from './images.ts';

const limits = { maxBytes: 5e6, maxPixels: 40e6, timeoutMs: 10_000 };

async function rgbOf(bytes: Buffer): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { rgb: new Uint8Array(data), width: info.width, height: info.height };
}

test('findContentBox finds the picture inside letterbox bars and a two-colour frame, despite JPEG noise', async () => {
  const picture = await gradientImage(200, 120);
  const letterboxed = await sharp(picture).extend({ top: 40, bottom: 40, background: '#000000' }).jpeg({ quality: 80 }).toBuffer();
  const box = findContentBox(...Object.values(await rgbOf(letterboxed)) as [Uint8Array, number, number]);
  assert.ok(Math.abs(box.top - 40) <= 2 && Math.abs(box.height - 120) <= 4, JSON.stringify(box));
  assert.ok(box.left <= 2 && box.width >= 196, JSON.stringify(box));

  const framed = await sharp(await sharp(picture).extend({ top: 10, left: 30, background: '#ffffff' }).png().toBuffer())
    .extend({ bottom: 25, right: 5, background: '#203040' })
    .png()
    .toBuffer();
  const framedBox = findContentBox(...Object.values(await rgbOf(framed)) as [Uint8Array, number, number]);
  assert.deepEqual(framedBox, { left: 30, top: 10, width: 200, height: 120 });
});

test('findContentBox keeps the whole frame of a uniform or nearly uniform image', async () => {
  const uniform = await sharp({ create: { width: 50, height: 40, channels: 3, background: '#808080' } }).png().toBuffer();
  assert.deepEqual(findContentBox(...Object.values(await rgbOf(uniform)) as [Uint8Array, number, number]), { left: 0, top: 0, width: 50, height: 40 });
});

test('preprocess gives 224×224×3 floats in [0,1]; trimming makes a letterboxed copy match its original', async () => {
  const picture = await gradientImage(300, 200, 'png');
  const letterboxed = await sharp(picture).extend({ top: 60, bottom: 60, background: '#000000' }).png().toBuffer();
  const original = await preprocess(await decodeImage(picture, limits), { fit: 'fill', trimBorders: true });
  assert.equal(original.length, 224 * 224 * 3);
  assert.ok(original.every((value) => value >= 0 && value <= 1));
  const meanDifference = (a: Float32Array, b: Float32Array): number => a.reduce((sum, value, index) => sum + Math.abs(value - b[index]!), 0) / a.length;
  const trimmed = await preprocess(await decodeImage(letterboxed, limits), { fit: 'fill', trimBorders: true });
  const untrimmed = await preprocess(await decodeImage(letterboxed, limits), { fit: 'fill', trimBorders: false });
  assert.ok(meanDifference(original, trimmed) < 0.01, `trimmed differs by ${meanDifference(original, trimmed)}`);
  assert.ok(meanDifference(original, untrimmed) > 0.05);
  for (const fit of ['cover', 'contain'] as const) {
    assert.equal((await preprocess(await decodeImage(picture, limits), { fit, trimBorders: false })).length, 224 * 224 * 3);
  }
});

/** Noise over ramps, a different one per band, so a band mix-up or an off-by-one phase shows. */
function noisyRgb(width: number, height: number, random: () => number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let index = 0; index < width * height; index += 1) {
    const x = index % width;
    const y = Math.floor(index / width);
    rgb[index * 3] = random() < 0.3 ? Math.floor(random() * 256) : (x * 3 + y) & 255;
    rgb[index * 3 + 1] = random() < 0.3 ? Math.floor(random() * 256) : (x + y * 5) & 255;
    rgb[index * 3 + 2] = (x * 7 + y * 2) & 255;
  }
  return rgb;
}

// The model input of fit 'fill' is computed without sharp; it must stay byte for byte sharp's, since the
// vectors in existing indexes were made from it.
test("fill is byte-identical to sharp's extract + resize(fill, lanczos3), shrinking, enlarging and both at once", async () => {
  const random = seededRandom(21);
  const sizes: Array<[number, number]> = [[320, 427], [427, 320], [384, 256], [307, 204], [200, 150], [224, 224], [225, 223], [320, 1900], [1, 1], [3, 700], [900, 2], [17, 31]];
  for (let index = 0; index < 8; index += 1) sizes.push([1 + Math.floor(random() * 600), 1 + Math.floor(random() * 600)]);
  for (const [width, height] of sizes) {
    const rgb = noisyRgb(width, height, random);
    // A frame of white around most pictures, so the trimmed box is an inner rectangle.
    const framed = width > 20 && height > 20;
    if (framed) {
      for (let y = 0; y < height; y += 1) {
        for (let x = 0; x < width; x += 1) if (y < 5 || x < 7 || y >= height - 4 || x >= width - 3) rgb.fill(255, (y * width + x) * 3, (y * width + x) * 3 + 3);
      }
    }
    const image = { rgb, width, height, sourceWidth: width, sourceHeight: height };
    const box = findContentBox(rgb, width, height);
    let pipeline = sharp(rgb, { raw: { width, height, channels: 3 } });
    if (box.width !== width || box.height !== height) pipeline = pipeline.extract(box);
    const expected = await pipeline.resize(224, 224, { fit: 'fill', kernel: 'lanczos3' }).raw().toBuffer();
    const actual = await preprocess(image, { fit: 'fill', trimBorders: true });
    const bytes = Uint8Array.from(actual, (value) => Math.round(value * 255));
    assert.ok(Buffer.from(bytes).equals(expected), `${width}×${height} (box ${JSON.stringify(box)}): pixels differ`);
    assert.ok(actual.every((value, at) => value === Math.fround(expected[at]! * (1 / 255))), `${width}×${height}: floats differ`);
  }
});
