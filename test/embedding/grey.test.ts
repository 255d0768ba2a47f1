import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { greyCrop, greyOf } from '../../src/embedding/grey.ts';

// The signature's grey pixels were defined by sharp's greyscale(); stored signatures must not change, so the
// JavaScript conversion has to agree with libvips on every 8-bit colour, not just on typical pictures.
test('greyCrop matches sharp greyscale() on every 8-bit sRGB colour', async () => {
  const side = 4096;
  const rgb = new Uint8Array(side * side * 3);
  for (let colour = 0; colour < side * side; colour += 1) {
    rgb[colour * 3] = colour >> 16;
    rgb[colour * 3 + 1] = (colour >> 8) & 255;
    rgb[colour * 3 + 2] = colour & 255;
  }
  const expected = await sharp(rgb, { raw: { width: side, height: side, channels: 3 } }).greyscale().raw().toBuffer();
  const actual = greyCrop(rgb, side, { left: 0, top: 0, width: side, height: side });
  let mismatches = 0;
  for (let index = 0; index < actual.length; index += 1) if (actual[index] !== expected[index]) mismatches += 1;
  assert.equal(mismatches, 0);
});

test('greyCrop reads only the box, row by row', () => {
  const width = 5;
  const rgb = new Uint8Array(width * 4 * 3);
  for (let index = 0; index < rgb.length; index += 1) rgb[index] = (index * 37) & 255;
  const box = { left: 1, top: 1, width: 3, height: 2 };
  const grey = greyCrop(rgb, width, box);
  for (let y = 0; y < box.height; y += 1) {
    for (let x = 0; x < box.width; x += 1) {
      const source = ((box.top + y) * width + box.left + x) * 3;
      assert.equal(grey[y * box.width + x], greyOf(rgb[source]!, rgb[source + 1]!, rgb[source + 2]!));
    }
  }
});
