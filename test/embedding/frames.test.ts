/**
 * Frames of animations (sharp) and keyframes of videos (ffmpeg): which frames are taken, blank frames
 * skipped, caps enforced, and a missing ffmpeg reported as unavailable.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { DejavuError } from '../../src/errors.ts';
import { animatedFrames, framePositions, isBlank, isBlankPixels, pageCount } from '../../src/embedding/frames.ts';
import { keyframeChoice, parseStreamInfo, splitPngStream, VideoFrameExtractor } from '../../src/embedding/video.ts';
import { animation, requireFfmpeg, video } from '../helpers/media.ts';

const LIMITS = { maxPixels: 50_000_000, maxFrames: 3 };

/** A picture that is recognisably itself: a colour gradient with a bright block at a given position. */
function picture(seed: number): Promise<Buffer> {
  const width = 160;
  const height = 120;
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const offset = (y * width + x) * 3;
      const inBlock = Math.abs(x - ((seed * 37) % width)) < 20 && Math.abs(y - ((seed * 23) % height)) < 20;
      raw[offset] = inBlock ? 255 : (x * 255) / width;
      raw[offset + 1] = inBlock ? 255 : (y * 255) / height;
      raw[offset + 2] = (seed * 50) % 256;
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

async function meanBlue(png: Uint8Array): Promise<number> {
  return (await sharp(png).stats()).channels[2]!.mean;
}

test('frame positions: first, middle and last, distinct', () => {
  assert.deepEqual(framePositions(1), [0]);
  assert.deepEqual(framePositions(2), [0, 1]);
  assert.deepEqual(framePositions(7), [0, 3, 6]);
  assert.deepEqual(framePositions(7, 2), [0, 6]);
  assert.deepEqual(framePositions(7, 1), [0]);
  assert.deepEqual(keyframeChoice(5, 3), [0, 2, 4]);
  assert.deepEqual(keyframeChoice(1, 3), [0]);
});

/** A flat grey RGBA square whose red channel has `bright` pixels raised by 40, and whose alpha varies. */
function speckled(bright: number): { pixels: Buffer; width: number } {
  const width = 100;
  const pixels = Buffer.alloc(width * width * 4, 128);
  for (let index = 0; index < width * width; index += 1) {
    if (index < bright) pixels[index * 4] = 168;
    pixels[index * 4 + 3] = index % 256;
  }
  return { pixels, width };
}

test('blank means every colour channel varies by a standard deviation under 4, as sharp computes it', async () => {
  // 40·√(p(1−p)) with p = k/10000: 94 raised pixels give a deviation of 3.85, 110 give 4.17.
  for (const bright of [0, 94, 110, 5000]) {
    const { pixels, width } = speckled(bright);
    const png = await sharp(pixels, { raw: { width, height: width, channels: 4 } }).png().toBuffer();
    const expected = (await sharp(png).stats()).channels.slice(0, 3).every((channel) => channel.stdev < 4);
    assert.equal(expected, bright <= 94, `sharp's verdict for ${bright} raised pixels`);
    assert.equal(isBlankPixels(pixels, 4), expected, `pixels with ${bright} raised`);
    assert.equal(await isBlank(png), expected, `PNG with ${bright} raised`);
  }
});

test('an animated GIF gives its first, middle and last non-blank frame; a still image none', async () => {
  const pictures = await Promise.all([1, 2, 3, 4].map(picture));
  // Five frames, the last one blank (a fade-out): the "last" frame is the fourth.
  const gif = await animation([pictures[0]!, pictures[1]!, pictures[2]!, pictures[3]!, null]);
  assert.equal(await pageCount(gif), 5);
  const frames = await animatedFrames(gif, LIMITS);
  assert.ok(frames);
  assert.deepEqual(frames.map((frame) => frame.position), [0, 2, 3]);
  for (const frame of frames) assert.equal(await isBlank(frame.bytes), false);
  // Each frame really is that page: the blue channel encodes the picture's seed.
  const expected = await Promise.all([0, 2, 3].map(async (index) => meanBlue(await sharp(await animation([pictures[index]!])).png().toBuffer())));
  const actual = await Promise.all(frames.map((frame) => meanBlue(frame.bytes)));
  actual.forEach((value, index) => assert.ok(Math.abs(value - expected[index]!) < 6, `frame ${index}: ${value} vs ${expected[index]}`));

  const webp = await animation([pictures[0]!, pictures[1]!, pictures[2]!], 'webp');
  assert.deepEqual((await animatedFrames(webp, LIMITS))?.map((frame) => frame.position), [0, 1, 2]);
  assert.equal(await animatedFrames(pictures[0]!, LIMITS), null, 'a still PNG has no frames');
  assert.equal(await animatedFrames(await animation([pictures[0]!]), LIMITS), null, 'a one-frame GIF is still');
});

test('PNG streams split at each IEND; the ffmpeg banner gives duration and size', async () => {
  const pngs = await Promise.all([1, 2, 3].map(picture));
  const parts = splitPngStream(Buffer.concat(pngs));
  assert.equal(parts.length, 3);
  parts.forEach((part, index) => assert.ok(part.equals(pngs[index]!)));
  assert.equal(splitPngStream(Buffer.concat([pngs[0]!, pngs[1]!.subarray(0, 100)])).length, 1, 'a cut-off PNG is dropped');
  const info = parseStreamInfo('  Duration: 00:01:02.50, start: 0.000000\n  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 1280x720 [SAR 1:1 DAR 16:9], 30 fps');
  assert.deepEqual(info, { width: 1280, height: 720, durationSeconds: 62.5 });
});

test('video keyframes: first, middle and last non-blank; caps on duration and pixels; bad bytes', async (t) => {
  if (!requireFfmpeg(t)) return;
  const pictures = await Promise.all([1, 2, 3].map(picture));
  const clip = await video(pictures, { seconds: 2, fadeOut: true });
  const extractor = new VideoFrameExtractor();
  assert.equal(await extractor.available(), true);
  const limits = { maxSeconds: 60, maxFrames: 3, maxPixels: 50_000_000, timeoutMs: 20_000 };
  const frames = await extractor.extract(clip, limits);
  assert.equal(frames.length, 3);
  for (const frame of frames) assert.equal(await isBlank(frame.bytes), false, 'the black ending is skipped');
  const blues = await Promise.all(frames.map((frame) => meanBlue(frame.bytes)));
  const expected = await Promise.all(pictures.map(async (p) => meanBlue(await sharp(p).resize(640, 480, { fit: 'contain', background: '#ffffff' }).png().toBuffer())));
  assert.ok(Math.abs(blues[0]! - expected[0]!) < 8, `first keyframe shows the first picture (${blues[0]} vs ${expected[0]})`);
  assert.ok(Math.abs(blues[2]! - expected[2]!) < 8, `last keyframe shows the last picture (${blues[2]} vs ${expected[2]})`);
  const [width] = [(await sharp(frames[0]!.bytes).metadata()).width];
  assert.ok(width <= 512, 'scaled down');

  await assert.rejects(extractor.extract(clip, { ...limits, maxSeconds: 3 }), (error: unknown) => error instanceof DejavuError && /lasts 7 s/.test(error.message));
  await assert.rejects(extractor.extract(clip, { ...limits, maxPixels: 100_000 }), (error: unknown) => error instanceof DejavuError && error.code === 'IMAGE_TOO_MANY_PIXELS');
  await assert.rejects(extractor.extract(Buffer.from('not a video at all'), limits), (error: unknown) => error instanceof DejavuError && error.code === 'IMAGE_CORRUPT');
});

test('a clip whose index marks no decodable keyframe is read again with every packet let through', async (t) => {
  if (!requireFfmpeg(t)) return;
  const clip = await video(await Promise.all([1, 2, 3].map(picture)), { seconds: 2 });
  const dir = await mkdtemp(join(tmpdir(), 'dejavu-test-ffmpeg-'));
  try {
    // Stands in for such a file: with `-discard nokey` it decodes nothing and exits cleanly.
    const wrapper = join(dir, 'ffmpeg');
    await writeFile(wrapper, '#!/bin/sh\ncase " $* " in *" -discard nokey "*) exit 0 ;; esac\nexec ffmpeg "$@"\n');
    await chmod(wrapper, 0o755);
    const frames = await new VideoFrameExtractor({ ffmpegPath: wrapper }).extract(clip, { maxSeconds: 60, maxFrames: 3, maxPixels: 50_000_000, timeoutMs: 20_000 });
    assert.equal(frames.length, 3);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('without ffmpeg the extractor says it is unavailable and refuses with a typed error', async () => {
  const missing = new VideoFrameExtractor({ ffmpegPath: '/nonexistent/ffmpeg' });
  assert.equal(await missing.available(), false);
  await assert.rejects(missing.extract(Buffer.from('x'), { maxSeconds: 10, maxFrames: 3, maxPixels: 1e6, timeoutMs: 1000 }), (error: unknown) => error instanceof DejavuError && error.code === 'BACKEND_UNAVAILABLE');
});
