/**
 * GIFs, animated WebP and videos: which files are which, how their frames are keyed in the store, and the
 * per-guild "GIF reposts" setting. An animation or a video is indexed as up to three frame records of the
 * same message; the first frame has the attachment's own source key, the others `<key>#f<n>`. A match on
 * any frame is a match of the message, and deleting the message deletes every frame.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { IndexOutcome, MediaKind, MediaSettings } from './types.ts';

export type { MediaKind, MediaSettings };

/** Video containers indexed through ffmpeg keyframes (mp4, webm, mov). */
const VIDEO_TYPES = new Set(['video/mp4', 'video/webm', 'video/quicktime']);

/** Formats that may be animated. */
const ANIMATED_TYPES = new Set(['image/gif', 'image/webp']);

function baseType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

export function isVideoType(contentType: string | undefined): boolean {
  return VIDEO_TYPES.has(baseType(contentType));
}

/** GIF or WebP: may hold several frames (decided from the bytes). */
export function mayBeAnimated(contentType: string | undefined): boolean {
  return ANIMATED_TYPES.has(baseType(contentType));
}

const FRAME_SUFFIX = /#f\d+$/;

/** Source key of frame `n` (n ≥ 1) of an animation or video; frame 0 keeps the attachment's key. */
export function frameSourceKey(sourceKey: string, frame: number): string {
  return frame === 0 ? sourceKey : `${sourceKey}#f${frame}`;
}

/** The attachment (or embed) a frame record belongs to. */
export function frameBase(sourceKey: string): string {
  return sourceKey.replace(FRAME_SUFFIX, '');
}

/**
 * Content hash of frame `n` of a file: derived from the file's own hash, so that an identical repost of
 * the file finds every earlier frame by hash and needs neither ffmpeg nor the embedder.
 */
export function frameContentHash(fileHash: string, frame: number): string {
  return frame === 0 ? fileHash : createHash('sha256').update(`${fileHash}:frame:${frame}`).digest('hex');
}

/** Per-guild media settings: a block of its own in the guild settings schema (src/services/settings.ts). */
export const mediaSettingsShape = {
  /**
   * Duplicate notices (and spam waves) for GIFs and animated WebP. Off by default: reaction GIFs are reposted
   * by design. /similar and the reaction search find them either way.
   */
  gifReposts: z.boolean().default(false),
};

/** The outcomes that may lead to a duplicate notice or count toward a wave, per the guild's GIF setting. */
export function noticeableOutcomes(outcomes: readonly IndexOutcome[], settings: MediaSettings): IndexOutcome[] {
  if (settings.gifReposts) return [...outcomes];
  return outcomes.filter((outcome) => !(outcome.status === 'indexed' && outcome.media === 'animated'));
}
