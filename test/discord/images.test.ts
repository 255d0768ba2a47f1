/** src/discord/images.ts: which attachments count as images. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isImageAttachment } from '../../src/discord/images.ts';

test('image attachments: image/* except SVG, or an image file name when the type is missing', () => {
  assert.equal(isImageAttachment({ contentType: 'image/webp', name: 'a.bin' }), true);
  assert.equal(isImageAttachment({ contentType: 'image/svg+xml', name: 'a.svg' }), false);
  assert.equal(isImageAttachment({ contentType: 'video/mp4', name: 'a.mp4' }), false);
  assert.equal(isImageAttachment({ contentType: null, name: 'photo.AVIF' }), true);
  assert.equal(isImageAttachment({ contentType: null, name: 'notes.txt' }), false);
});
