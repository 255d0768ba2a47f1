/**
 * `npm run bench:frames [--rounds N] [--hold-mb M]`: cost of taking the frames to index from a video or an animated GIF.
 * Clips are generated with ffmpeg in this run: 10 s, 1280×720, 30 fps, H.264 with AAC audio, index at the
 * end (as phones write them), with a keyframe every 2 s (a typical phone or screen-recorder upload: the
 * row the ≤ 200 ms target is about), every second, every 250 frames (the x264 default), and on every frame
 * (all-intra, the worst case). The baseline, measured in the same run, is decoding one 1280×720 JPEG the way
 * every still image is decoded; the ratios are a row's median wall time and its CPU time over the
 * baseline's. Rows run interleaved in rounds so that load from other processes affects them alike.
 *
 * CPU ms is user + system time of this process (every thread, sharp's included) and of the children it
 * waited for (ffmpeg), from /proc/self/stat, averaged over the rounds: other processes on a shared machine
 * lengthen the wall time but not this. Run it under `taskset -c 1` to hold it (and its ffmpeg) to one core.
 * `--hold-mb` keeps that much memory touched during the run, as the bot keeps its model and indexes: node
 * forks itself to start ffmpeg, and a fork costs more the more memory the process has.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { decodeImage } from '../src/embedding/decode.ts';
import { animatedFrames } from '../src/embedding/frames.ts';
import { VideoFrameExtractor } from '../src/embedding/video.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '10' }, 'hold-mb': { type: 'string', default: '0' } } });
const rounds = Math.max(3, Number(values.rounds));
const held = Array.from({ length: Math.ceil(Number(values['hold-mb']) / 64) }, () => Buffer.alloc(64 * 1024 * 1024, 1));

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
  ffmpeg([
    '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30:duration=10', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=10',
    '-c:v', 'libx264', '-preset', 'veryfast', '-g', String(gop), '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k', '-shortest', path,
  ]);
  return readFile(path);
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'ignore'] });
    child.on('error', reject);
    child.on('close', () => resolve());
  });
}

const ticksPerSecond = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

/** CPU ms used so far by this process and by the children it has waited for. */
function cpuMs(): number {
  const own = process.cpuUsage();
  // Split after the command name, index 0 is field 3 (state): cutime (field 16) and cstime (17) are 13 and 14.
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  const children = ((Number(fields[13]) + Number(fields[14])) * 1000) / ticksPerSecond;
  return (own.user + own.system) / 1000 + children;
}

const clips = { gop60: await clip('gop60', 60), gop30: await clip('gop30', 30), gop250: await clip('gop250', 250), intra: await clip('intra', 1) };
const clipPath = join(dir, 'gop60-input.mp4');
await writeFile(clipPath, clips.gop60);
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
  cpu: number;
}

const row = (name: string, task: () => Promise<unknown>): Row => ({ name, task, times: [], cpu: 0 });
const rows: Row[] = [
  row('baseline: decode one 1280×720 JPEG (still-image path)', () => decodeImage(still, { maxBytes: 25e6, maxPixels: 50e6, timeoutMs: 10_000 })),
  row('ffmpeg -version (process start alone)', () => run('ffmpeg', ['-version'])),
  row('10 s 720p H.264 + AAC, keyframe every 2 s (5 keyframes)', () => extractor.extract(clips.gop60, videoLimits)),
  row('10 s 720p H.264 + AAC, keyframe every second (10)', () => extractor.extract(clips.gop30, videoLimits)),
  row('10 s 720p H.264 + AAC, keyframe every 250 frames (2)', () => extractor.extract(clips.gop250, videoLimits)),
  row('10 s 720p H.264 + AAC, all-intra (300 keyframes)', () => extractor.extract(clips.intra, videoLimits)),
  row('alternative: ffprobe + ffmpeg seeking 3 times (two processes), 2 s GOP', async () => {
    await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'json', clipPath]);
    const inputs = [0, 5, 9.5].flatMap((time) => ['-ss', String(time), '-i', clipPath]);
    const maps = [0, 1, 2].flatMap((index) => ['-map', `${index}:v:0`, '-frames:v', '1', '-vf', 'scale=512:-2', '-f', 'image2', '-y', join(dir, `seek-${index}.png`)]);
    await run('ffmpeg', ['-v', 'error', '-threads', '1', ...inputs, ...maps]);
  }),
  row('animated GIF 480×270, 60 frames: 3 frames (sharp)', () => animatedFrames(gif, { maxPixels: 50e6, maxFrames: 3 })),
];

// Warm-up: page cache, sharp's thread pool, the dynamic loader.
for (const entry of rows) await entry.task();
for (let round = 0; round < rounds; round += 1) {
  for (const entry of rows) {
    const cpuBefore = cpuMs();
    const started = performance.now();
    await entry.task();
    entry.times.push(performance.now() - started);
    entry.cpu += cpuMs() - cpuBefore;
  }
}

function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

const baseline = { wall: percentile(rows[0]!.times, 0.5), cpu: rows[0]!.cpu / rounds };
const rss = Math.round(process.memoryUsage().rss / 1e6);
console.log(`bench:frames — ${rounds} rounds, ${held.length * 64} MB held (RSS ${rss} MB), load average ${loadavg().map((value) => value.toFixed(1)).join(' ')}`);
console.log('| task | wall median ms | wall p90 ms | CPU ms | wall ratio | CPU ratio |');
console.log('|---|---|---|---|---|---|');
for (const entry of rows) {
  const median = percentile(entry.times, 0.5);
  const cpu = entry.cpu / rounds;
  console.log(`| ${entry.name} | ${median.toFixed(1)} | ${percentile(entry.times, 0.9).toFixed(1)} | ${cpu.toFixed(1)} | ${(median / baseline.wall).toFixed(2)}× | ${(cpu / baseline.cpu).toFixed(2)}× |`);
}
await rm(dir, { recursive: true, force: true });
