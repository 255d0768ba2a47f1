/**
 * Animated GIFs (sharp) and short videos (the system ffmpeg) made from photos, for the GIF and video tests.
 * Tests that need ffmpeg call `requireFfmpeg(t)` and skip with a visible reason when it is not installed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import sharp from 'sharp';

export function hasFfmpeg(): boolean {
  return spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;
}

export function requireFfmpeg(t: TestContext): boolean {
  if (hasFfmpeg()) return true;
  const reason = 'SKIPPED: needs ffmpeg (apt-get install ffmpeg)';
  console.warn(reason);
  t.skip(reason);
  return false;
}

/** Frames as raw RGB of one size: each picture fitted inside (letterboxed on white; borders are trimmed later). */
async function rawFrames(pictures: readonly Buffer[], width: number, height: number): Promise<Buffer> {
  const frames = await Promise.all(
    pictures.map((picture) => sharp(picture).resize(width, height, { fit: 'contain', background: '#ffffff' }).removeAlpha().raw().toBuffer()),
  );
  return Buffer.concat(frames);
}

/** An animated GIF (or WebP) showing each picture in turn. A `null` picture is a blank white frame. */
export async function animation(pictures: ReadonlyArray<Buffer | null>, format: 'gif' | 'webp' = 'gif', width = 320, height = 240): Promise<Buffer> {
  const blank = await sharp({ create: { width, height, channels: 3, background: '#ffffff' } }).png().toBuffer();
  const raw = await rawFrames(pictures.map((picture) => picture ?? blank), width, height);
  const pipeline = sharp(raw, { raw: { width, height: height * pictures.length, channels: 3, pageHeight: height } });
  return format === 'gif' ? pipeline.gif({ delay: 100 }).toBuffer() : pipeline.webp({ delay: 100, quality: 90 }).toBuffer();
}

/**
 * An H.264 mp4 showing each picture for `seconds`, with a keyframe every second; `fadeOut` appends a
 * second of black (a blank last keyframe).
 */
export async function video(pictures: readonly Buffer[], options: { seconds?: number; width?: number; height?: number; fadeOut?: boolean } = {}): Promise<Buffer> {
  const { seconds = 2, width = 640, height = 480 } = options;
  const dir = await mkdtemp(join(tmpdir(), 'dejavu-test-video-'));
  try {
    const inputs: string[] = [];
    for (const [index, picture] of pictures.entries()) {
      const path = join(dir, `p${index}.png`);
      await writeFile(path, await sharp(picture).resize(width, height, { fit: 'contain', background: '#ffffff' }).png().toBuffer());
      inputs.push('-loop', '1', '-framerate', '25', '-t', String(seconds), '-i', path);
    }
    let count = pictures.length;
    if (options.fadeOut) {
      inputs.push('-f', 'lavfi', '-t', '1', '-i', `color=c=black:s=${width}x${height}:r=25`);
      count += 1;
    }
    const chains = Array.from({ length: count }, (_, index) => `[${index}:v]scale=${width}:${height},setsar=1,format=yuv420p[v${index}]`).join(';');
    const concat = `${Array.from({ length: count }, (_, index) => `[v${index}]`).join('')}concat=n=${count}:v=1[out]`;
    const output = join(dir, 'out.mp4');
    const result = spawnSync('ffmpeg', ['-v', 'error', '-y', ...inputs, '-filter_complex', `${chains};${concat}`, '-map', '[out]', '-c:v', 'libx264', '-g', '25', '-pix_fmt', 'yuv420p', output]);
    if (result.status !== 0) throw new Error(`ffmpeg failed: ${result.stderr.toString()}`);
    return await readFile(output);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
