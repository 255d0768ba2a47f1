/**
 * `npm run bench:frames [--rounds N]`: cost of taking the frames to index from a video or an animated GIF.
 * Clips are generated with ffmpeg in this run (10 s, 1280×720, 30 fps, H.264): the x264 default GOP (a keyframe
 * every 250 frames), a phone-like one (a keyframe a second) and an all-intra one (every frame a keyframe, the
 * worst case). The baseline, measured in the same run, is decoding one 1280×720 JPEG the way every still
 * image is decoded; `ratio` is a row's median over the baseline's. Rows run interleaved in rounds so that load
 * from other processes affects them alike. Run it under `taskset -c 0` to hold it to one core.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { decodeImage } from '../src/embedding/decode.ts';
import { animatedFrames } from '../src/embedding/frames.ts';
import { VideoFrameExtractor } from '../src/embedding/video.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '10' } } });
const rounds = Math.max(3, Number(values.rounds));

if (spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status !== 0) {
  console.error('bench:frames needs ffmpeg (apt-get install ffmpeg)');
  process.exit(1);
}

const dir = await mkdtemp(join(tmpdir(), 'dejavu-bench-frames-'));

function ffmpeg(args: string[]): void {
  const result = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args]);
  if (result.status !== 0) throw new Error(result.stderr.toString());
}

function clip(name: string, gop: number): Promise<Buffer> {
  const path = join(dir, `${name}.mp4`);
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30:duration=10', '-c:v', 'libx264', '-preset', 'veryfast', '-g', String(gop), '-pix_fmt', 'yuv420p', path]);
  return readFile(path);
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'ignore'] });
    child.on('error', reject);
    child.on('close', () => resolve());
  });
}

const clips = { gop250: await clip('gop250', 250), gop30: await clip('gop30', 30), intra: await clip('intra', 1) };
const clipPath = join(dir, 'gop30-input.mp4');
await writeFile(clipPath, clips.gop30);
const stillPng = join(dir, 'still.png');
ffmpeg(['-i', clipPath, '-frames:v', '1', stillPng]);
const still = await sharp(stillPng).jpeg({ quality: 90 }).toBuffer();
// A 480×270, 60-frame animated GIF (a typical reaction GIF).
const gifFrames = join(dir, 'gif.gif');
ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=480x270:rate=15:duration=4', gifFrames]);
const gif = await readFile(gifFrames);

const extractor = new VideoFrameExtractor();
const videoLimits = { maxSeconds: 180, maxFrames: 3, maxPixels: 50_000_000, timeoutMs: 60_000 };

interface Row {
  name: string;
  task: () => Promise<unknown>;
  times: number[];
}

const rows: Row[] = [
  { name: 'baseline: decode one 1280×720 JPEG (still-image path)', task: () => decodeImage(still, { maxBytes: 25e6, maxPixels: 50e6, timeoutMs: 10_000 }), times: [] },
  { name: 'ffmpeg -version (process start alone)', task: () => run('ffmpeg', ['-version']), times: [] },
  { name: 'shipped: 10 s 720p, keyframe every 250 frames', task: () => extractor.extract(clips.gop250, videoLimits), times: [] },
  { name: 'shipped: 10 s 720p, keyframe every second', task: () => extractor.extract(clips.gop30, videoLimits), times: [] },
  { name: 'shipped: 10 s 720p, all-intra (300 keyframes)', task: () => extractor.extract(clips.intra, videoLimits), times: [] },
  {
    name: 'alternative: ffprobe + ffmpeg seeking 3 times (two processes)',
    task: async () => {
      await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'json', clipPath]);
      const inputs = [0, 5, 9.5].flatMap((time) => ['-ss', String(time), '-i', clipPath]);
      const maps = [0, 1, 2].flatMap((index) => ['-map', `${index}:v:0`, '-frames:v', '1', '-vf', 'scale=512:-2', '-f', 'image2', '-y', join(dir, `seek-${index}.png`)]);
      await run('ffmpeg', ['-v', 'error', '-threads', '1', ...inputs, ...maps]);
    },
    times: [],
  },
  { name: 'animated GIF 480×270, 60 frames: 3 frames (sharp)', task: () => animatedFrames(gif, { maxPixels: 50e6, maxFrames: 3 }), times: [] },
];

// Warm-up: page cache, sharp's thread pool, the dynamic loader.
for (const row of rows) await row.task();
for (let round = 0; round < rounds; round += 1) {
  for (const row of rows) {
    const started = performance.now();
    await row.task();
    row.times.push(performance.now() - started);
  }
}

function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

const baseline = percentile(rows[0]!.times, 0.5);
console.log(`bench:frames — ${rounds} rounds, load average ${loadavg().map((value) => value.toFixed(1)).join(' ')}`);
console.log('| task | median ms | p90 ms | ratio |');
console.log('|---|---|---|---|');
for (const row of rows) {
  const median = percentile(row.times, 0.5);
  console.log(`| ${row.name} | ${median.toFixed(1)} | ${percentile(row.times, 0.9).toFixed(1)} | ${(median / baseline).toFixed(2)}× |`);
}
await rm(dir, { recursive: true, force: true });
