/**
 * Keyframes of video attachments (mp4, webm, mov) through the system ffmpeg (Debian/Ubuntu package
 * `ffmpeg`; FFMPEG_PATH points elsewhere). npm packages that bundle ffmpeg either download the binary at
 * install time (which fails offline) or ship a years-old build, so the system one is used.
 *
 * One ffmpeg process per video, because starting ffmpeg costs more than the work (the Debian build loads
 * over 200 shared libraries and binds their symbols up front: about 70 of the ~105 CPU ms ffmpeg spends on
 * a 10 s 720p clip): it reads and decodes only the keyframes (`-discard nokey` in the demuxer, `-skip_frame nokey` in
 * the decoder: each decodes on its own, so the cost follows the number of keyframes, not the frame count),
 * at most two a second, scaled down and piped out as PNG; the first, middle and last non-blank ones are
 * kept. Duration and size come from the same run's stream banner. The decoder refuses frames over the pixel
 * cap, and only the first `maxSeconds` (plus one) of a clip are read at all.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DejavuError, ImageError } from '../errors.ts';
import { FRAME_MAX_SIDE, isBlank, type ExtractedFrame } from './frames.ts';

export interface VideoLimits {
  /** Longest accepted clip, in seconds. */
  maxSeconds: number;
  /** Frames taken at most (1–3). */
  maxFrames: number;
  /** Largest accepted width×height. */
  maxPixels: number;
  /** Wall-clock limit for probing and extraction together. */
  timeoutMs: number;
}

export interface VideoTools {
  ffmpegPath: string;
}

/** What ffmpeg's banner says about the input. */
export interface StreamInfo {
  width: number;
  height: number;
  /** 0 when unknown (some webm files). */
  durationSeconds: number;
}

interface RunResult {
  stdout: Buffer;
  stderr: string;
  code: number | null;
}

function run(command: string, args: readonly string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4000) stderr += chunk.toString();
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') reject(new ImageError('IMAGE_DECODE_TIMEOUT', `${command} took more than ${timeoutMs} ms`, { timeoutMs }));
      else resolve({ stdout: Buffer.concat(stdout), stderr, code });
    });
  });
}

/** Indices of the frames to keep among `count` keyframes: first, middle, last (distinct, in order). */
export function keyframeChoice(count: number, maxFrames: number): number[] {
  if (count <= 1) return [0];
  const last = count - 1;
  const indices = maxFrames >= 3 ? [0, Math.floor(last / 2), last] : maxFrames === 2 ? [0, last] : [0];
  return [...new Set(indices)];
}

/** Duration and size of the first video stream, from ffmpeg's input banner (stderr at log level info). */
export function parseStreamInfo(banner: string): StreamInfo {
  const duration = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/.exec(banner);
  const size = /Stream #\d+:\d+.*?: Video: .*?, (\d{1,5})x(\d{1,5})/.exec(banner);
  const durationSeconds = duration ? Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]) : 0;
  return { width: size ? Number(size[1]) : 0, height: size ? Number(size[2]) : 0, durationSeconds };
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Splits concatenated PNG files (ffmpeg's image2pipe) by walking their chunks up to each IEND. */
export function splitPngStream(stream: Buffer): Buffer[] {
  const images: Buffer[] = [];
  let start = 0;
  while (start + PNG_SIGNATURE.length <= stream.length && stream.subarray(start, start + 8).equals(PNG_SIGNATURE)) {
    let offset = start + 8;
    let ended = false;
    while (offset + 12 <= stream.length) {
      const length = stream.readUInt32BE(offset);
      const type = stream.toString('latin1', offset + 4, offset + 8);
      offset += 12 + length;
      if (type === 'IEND') {
        ended = true;
        break;
      }
    }
    if (!ended || offset > stream.length) break;
    images.push(stream.subarray(start, offset));
    start = offset;
  }
  return images;
}

/**
 * The one ffmpeg run that reads a clip: its stream banner on stderr, its keyframes as PNG files on stdout.
 * `discardNonKey` has the demuxer drop every packet its index does not mark as a keyframe (mp4 and mov do;
 * matroska ignores it), so those are not even read, where `-skip_frame nokey` alone still reads and parses
 * them.
 */
function extractionArgs(input: string, limits: VideoLimits, discardNonKey: boolean): string[] {
  // Area averaging is the right filter for shrinking and costs about 1.3 ms less a frame than the default bicubic.
  const scale = `scale=w='if(gte(iw,ih),min(${FRAME_MAX_SIDE},iw),-2)':h='if(gte(iw,ih),-2,min(${FRAME_MAX_SIDE},ih))':flags=area`;
  // At most two keyframes a second get scaled and encoded (all-intra clips have a keyframe per frame).
  const select = "select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,0.5)'";
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'info', '-threads', '1', '-filter_threads', '1',
    '-skip_frame', 'nokey', ...(discardNonKey ? ['-discard', 'nokey'] : []), '-max_pixels', String(limits.maxPixels), '-t', String(limits.maxSeconds + 1), '-i', input,
    // `-threads 1` again after the input, for the PNG encoder: it would otherwise start a thread per core.
    '-an', '-sn', '-dn', '-vf', `${select},${scale}`, '-fps_mode', 'passthrough', '-f', 'image2pipe', '-c:v', 'png', '-threads', '1', '-compression_level', '1', 'pipe:1',
  ];
}

export class VideoFrameExtractor {
  private availability: Promise<boolean> | undefined;

  constructor(private readonly tools: VideoTools = { ffmpegPath: 'ffmpeg' }) {}

  /** Whether ffmpeg runs here (checked once). */
  available(): Promise<boolean> {
    this.availability ??= run(this.tools.ffmpegPath, ['-version'], 10_000).then(
      (result) => result.code === 0,
      () => false,
    );
    return this.availability;
  }

  /** Up to `maxFrames` keyframes as PNG; rejects with a typed error for a clip over the caps or unreadable. */
  async extract(bytes: Uint8Array, limits: VideoLimits): Promise<ExtractedFrame[]> {
    if (!(await this.available())) throw new DejavuError('BACKEND_UNAVAILABLE', 'ffmpeg is not installed: videos are not indexed', { ffmpeg: this.tools.ffmpegPath });
    const dir = await mkdtemp(join(tmpdir(), 'dejavu-video-'));
    try {
      // A file, not a pipe: mp4/mov often keep their index at the end, which needs seeking.
      const input = join(dir, 'input');
      await writeFile(input, bytes);
      const deadline = Date.now() + limits.timeoutMs;
      let result = await run(this.tools.ffmpegPath, extractionArgs(input, limits, true), limits.timeoutMs);
      const info = parseStreamInfo(result.stderr);
      if (info.width * info.height > limits.maxPixels) {
        throw new ImageError('IMAGE_TOO_MANY_PIXELS', `the video is ${info.width}×${info.height} pixels, more than the limit of ${limits.maxPixels}`, { width: info.width, height: info.height });
      }
      if (info.durationSeconds > limits.maxSeconds) {
        throw new ImageError('IMAGE_TOO_LARGE', `the video lasts ${Math.round(info.durationSeconds)} s, more than the limit of ${limits.maxSeconds} s`, { seconds: info.durationSeconds, limit: limits.maxSeconds });
      }
      let keyframes = splitPngStream(result.stdout);
      if (result.code === 0 && keyframes.length === 0) {
        // The container's index marks no packet the decoder takes for a keyframe: let every packet through.
        result = await run(this.tools.ffmpegPath, extractionArgs(input, limits, false), Math.max(1, deadline - Date.now()));
        keyframes = splitPngStream(result.stdout);
      }
      if (result.code !== 0 || keyframes.length === 0) {
        const reason = result.stderr.split('\n').find((line) => /error|invalid/i.test(line)) ?? `exit code ${result.code}`;
        throw new ImageError('IMAGE_CORRUPT', `ffmpeg could not decode the video: ${reason.trim()}`, { code: result.code });
      }
      return await chooseFrames(keyframes, limits.maxFrames);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** First, middle and last non-blank keyframes (blank ones are replaced by the nearest earlier non-blank one). */
async function chooseFrames(keyframes: readonly Buffer[], maxFrames: number): Promise<ExtractedFrame[]> {
  const blank = new Map<number, boolean>();
  const isBlankAt = async (index: number) => {
    if (!blank.has(index)) blank.set(index, await isBlank(keyframes[index]!));
    return blank.get(index)!;
  };
  const chosen: number[] = [];
  for (const wanted of keyframeChoice(keyframes.length, maxFrames)) {
    let index = wanted;
    const floor = chosen.length > 0 ? chosen[chosen.length - 1]! + 1 : 0;
    while (index > floor && (await isBlankAt(index))) index -= 1;
    if (index >= floor && !(await isBlankAt(index)) && !chosen.includes(index)) chosen.push(index);
  }
  // Everything blank: one frame still stands for the clip.
  if (chosen.length === 0) chosen.push(0);
  return chosen.map((index) => ({ position: index, bytes: new Uint8Array(keyframes[index]!.buffer, keyframes[index]!.byteOffset, keyframes[index]!.length) }));
}
