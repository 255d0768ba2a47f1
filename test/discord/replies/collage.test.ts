/** src/discord/replies/collage.ts: the grid of top matches. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { buildCollage } from '../../../src/discord/replies/collage.ts';

test('collage: a grid of tiles, broken images become placeholders', async () => {
  const red = await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toBuffer();
  const collage = await buildCollage([red, new Uint8Array([1, 2, 3]), null], { tile: 100, columns: 5 });
  assert.ok(collage);
  const meta = await sharp(collage).metadata();
  assert.equal(meta.format, 'jpeg');
  assert.equal(meta.width, 3 * 100 + 4 * 4);
  assert.equal(meta.height, 100 + 2 * 4);
  const { data } = await sharp(collage).extract({ left: 40, top: 40, width: 1, height: 1 }).raw().toBuffer({ resolveWithObject: true });
  assert.ok((data[0] ?? 0) > 200 && (data[1] ?? 255) < 60, 'first tile is the red image');
  assert.equal(await buildCollage([]), null);
});
