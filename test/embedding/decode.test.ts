import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { decodeImage, type DecodeLimits } from '../../src/embedding/decode.ts';
import { ImageError } from '../../src/errors.ts';
import { gradientImage, hugePngHeader } from './images.ts';

const limits: DecodeLimits = { maxBytes: 5 * 1024 * 1024, maxPixels: 40_000_000, timeoutMs: 10_000 };

async function assertImageError(bytes: Uint8Array, code: string, custom: DecodeLimits = limits): Promise<void> {
  await assert.rejects(decodeImage(bytes, custom), (error: unknown) => {
    assert.ok(error instanceof ImageError, `expected ImageError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  });
}

test('decodes a JPEG to packed sRGB at its own size when small', async () => {
  const decoded = await decodeImage(await gradientImage(200, 150, 'jpeg'), limits);
  assert.equal(decoded.width, 200);
  assert.equal(decoded.height, 150);
  assert.equal(decoded.rgb.length, 200 * 150 * 3);
  assert.deepEqual([decoded.sourceWidth, decoded.sourceHeight], [200, 150]);
});

test('shrinks large images on load to the working size, keeping the aspect ratio and the source size', async () => {
  const decoded = await decodeImage(await gradientImage(1600, 1200, 'jpeg'), { ...limits, workingSize: 300 });
  assert.equal(decoded.height, 300);
  assert.equal(decoded.width, 400);
  assert.deepEqual([decoded.sourceWidth, decoded.sourceHeight], [1600, 1200]);
});

test('applies EXIF orientation', async () => {
  const rotated = await sharp(await gradientImage(120, 80)).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  const decoded = await decodeImage(rotated, limits);
  assert.deepEqual([decoded.width, decoded.height, decoded.sourceWidth, decoded.sourceHeight], [80, 120, 80, 120]);
});

test('flattens transparency onto white', async () => {
  const transparent = await sharp({ create: { width: 16, height: 16, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
  const decoded = await decodeImage(transparent, limits);
  assert.equal(decoded.rgb.length, 16 * 16 * 3);
  assert.ok(decoded.rgb.every((value) => value === 255));
});

test('greyscale, 16-bit and CMYK inputs become 8-bit RGB', async () => {
  const grey = await sharp(await gradientImage(64, 48)).greyscale().png().toBuffer();
  const sixteen = await sharp(await gradientImage(64, 48)).png().toColourspace('rgb16').toBuffer();
  const cmyk = await sharp(await gradientImage(64, 48)).toColourspace('cmyk').jpeg().toBuffer();
  assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
  for (const bytes of [grey, sixteen, cmyk]) {
    const decoded = await decodeImage(bytes, limits);
    assert.equal(decoded.rgb.length, 64 * 48 * 3);
  }
});

test('takes the first frame of an animated GIF', async () => {
  // Three 20×20 frames (red, green, green) stacked vertically, written as an animation via pageHeight.
  const stacked = await sharp({ create: { width: 20, height: 60, channels: 3, background: '#00ff00' } })
    .composite([{ input: { create: { width: 20, height: 20, channels: 3, background: '#ff0000' } }, top: 0, left: 0 }])
    .raw()
    .toBuffer();
  const multi = await sharp(stacked, { raw: { width: 20, height: 60, channels: 3, pageHeight: 20 } }).gif().toBuffer();
  assert.equal((await sharp(multi).metadata()).pages, 3);
  const first = await decodeImage(multi, limits);
  assert.deepEqual([first.width, first.height], [20, 20]);
  assert.ok(first.rgb[0]! > 200 && first.rgb[1]! < 50, 'first frame is the red one');
});

test('decodes AVIF (sharp ships libheif with AV1)', async () => {
  const avif = await sharp(await gradientImage(64, 64)).avif().toBuffer();
  const decoded = await decodeImage(avif, limits);
  assert.deepEqual([decoded.width, decoded.height], [64, 64]);
});

test('bad inputs give typed errors', async (t) => {
  await t.test('0 bytes → IMAGE_EMPTY', () => assertImageError(new Uint8Array(0), 'IMAGE_EMPTY'));
  await t.test('text named like an image → IMAGE_UNSUPPORTED', () =>
    assertImageError(Buffer.from('this is not a picture, just a file called photo.jpg\n'), 'IMAGE_UNSUPPORTED'));
  await t.test('SVG → IMAGE_UNSUPPORTED', () =>
    assertImageError(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'), 'IMAGE_UNSUPPORTED'));
  await t.test('corrupt JPEG → IMAGE_CORRUPT', async () => {
    const jpeg = await gradientImage(300, 200, 'jpeg');
    const corrupt = Buffer.from(jpeg);
    corrupt.fill(0xff, 400);
    await assertImageError(corrupt, 'IMAGE_CORRUPT');
  });
  await t.test('truncated PNG → IMAGE_CORRUPT', async () => {
    const png = await gradientImage(300, 200, 'png');
    await assertImageError(png.subarray(0, Math.floor(png.length / 2)), 'IMAGE_CORRUPT');
  });
  await t.test('more bytes than allowed → IMAGE_TOO_LARGE', async () =>
    assertImageError(await gradientImage(300, 200, 'png'), 'IMAGE_TOO_LARGE', { ...limits, maxBytes: 1000 }));
  await t.test('a 100000×100000 PNG header → IMAGE_TOO_MANY_PIXELS', () => assertImageError(hugePngHeader(100_000, 100_000), 'IMAGE_TOO_MANY_PIXELS'));
  await t.test('a decode slower than the limit → IMAGE_DECODE_TIMEOUT', async () =>
    assertImageError(await gradientImage(3000, 2000, 'png'), 'IMAGE_DECODE_TIMEOUT', { ...limits, maxBytes: 50e6, timeoutMs: 1 }));
});
