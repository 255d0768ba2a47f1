import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { resizeInside } from '../../src/embedding/grey-resample.ts';
import { seededRandom } from '../../src/index/random.ts';

/** Noise over a diagonal ramp: every phase of the kernels and both clamps (0 and 255) get exercised. */
function picture(width: number, height: number, random: () => number): Uint8Array {
  const pixels = new Uint8Array(width * height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) pixels[y * width + x] = random() < 0.3 ? Math.floor(random() * 256) : (x * 3 + y * 5) & 255;
  }
  return pixels;
}

// The signature's thumbnail and detail image were defined by sharp's resize; resizeInside must reproduce it
// byte for byte (both directions, the box pre-shrink, odd and extreme aspect ratios, tiny images).
test('resizeInside is byte-identical to sharp resize(fit inside, lanczos3)', async () => {
  const random = seededRandom(11);
  const cases: Array<[number, number, number]> = [
    [427, 320, 64], [427, 320, 512], [320, 480, 512], [512, 164, 512], [700, 240, 512], [1024, 768, 512],
    [640, 480, 64], [31, 778, 64], [22, 1362, 64], [64, 64, 64], [65, 64, 64], [63, 64, 64], [1, 1, 64], [3, 900, 512], [900, 3, 64], [37, 23, 512],
  ];
  for (let index = 0; index < 16; index += 1) cases.push([20 + Math.floor(random() * 700), 20 + Math.floor(random() * 700), random() < 0.5 ? 64 : 512]);
  for (const [width, height, size] of cases) {
    const pixels = picture(width, height, random);
    const { data, info } = await sharp(pixels, { raw: { width, height, channels: 1 } })
      .greyscale()
      .resize(size, size, { fit: 'inside', kernel: 'lanczos3' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const resized = resizeInside({ pixels, width, height }, size);
    assert.deepEqual([resized.width, resized.height], [info.width, info.height], `${width}×${height} → ${size}`);
    assert.ok(Buffer.from(resized.pixels).equals(data), `${width}×${height} → ${size}: pixels differ`);
  }
});

test('resizeInside returns the image itself when it already fits exactly', () => {
  const image = { pixels: new Uint8Array(64 * 30), width: 64, height: 30 };
  assert.equal(resizeInside(image, 64), image);
});
