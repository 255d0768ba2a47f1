/**
 * Duplicate-notice policy: which of a new message's duplicate matches deserve a notice, and how.
 * Pure apart from the audience predicate the Discord layer passes in (permission checks live there).
 *
 * Rules: never the same message; at most one notice per new message (all its images together), listing
 * the best match per earlier message; nothing for the same author reposting within the leeway window;
 * nothing below the guild's threshold (when the guild set one); nothing the new message's audience
 * could not see; nothing for a pair a member reported as "not a repost"; and the guild's mode (`off`, or
 * `log` without a log channel, posts nothing).
 *
 * Same-template matches (one picture under other text: a meme with a new caption) are not reposts: with
 * the guild's `templateMatches: 'ignore'` they are dropped; with `note` they give a gentle template note,
 * but only when the message has no real repost (a repost notice always wins and lists only reposts).
 */
import type { ImageRecord } from '../store/types.ts';
import type { EarlierDuplicate, DuplicateNotice, DuplicateNoticeInput, NoticePair } from './types.ts';

/** Matches listed in one notice at most. */
export const MAX_NOTICE_MATCHES = 5;

export async function planDuplicateNotice(input: DuplicateNoticeInput): Promise<DuplicateNotice> {
  const { settings } = input;
  const indexed = input.outcomes.flatMap((outcome) => (outcome.status === 'indexed' ? [outcome] : []));
  const first = indexed[0];
  if (first === undefined) return { action: 'none', reason: 'no image of the message was indexed' };
  if (settings.noticeMode === 'off') return { action: 'none', reason: 'notices are off' };
  if (settings.noticeMode === 'log' && settings.logChannelId === null) return { action: 'none', reason: 'log mode without a log channel' };

  const message = first.record;
  const bestPerMessage = new Map<string, { match: EarlierDuplicate; image: ImageRecord }>();
  for (const outcome of indexed) {
    for (const match of outcome.duplicates) {
      const original = match.record;
      if (original.guildId !== message.guildId) continue; // defence in depth: the store never crosses guilds
      if (original.messageId === message.messageId) continue;
      if (match.kind === 'template' && settings.templateMatches === 'ignore') continue;
      if (settings.duplicateThreshold !== null && match.similarity < settings.duplicateThreshold) continue;
      if (original.authorId === message.authorId && Math.abs(message.createdAt - original.createdAt) < settings.sameAuthorLeewayMs) continue;
      if (input.isSuppressed !== undefined && (await input.isSuppressed(match, outcome.record))) continue;
      const best = bestPerMessage.get(original.messageId);
      if (best === undefined || isBetter(match, best.match)) bestPerMessage.set(original.messageId, { match, image: outcome.record });
    }
  }
  const candidates = [...bestPerMessage.values()].sort((a, b) => (isBetter(a.match, b.match) ? -1 : isBetter(b.match, a.match) ? 1 : 0));
  const visible: Array<{ match: EarlierDuplicate; image: ImageRecord }> = [];
  for (const candidate of candidates) {
    if (visible.length >= MAX_NOTICE_MATCHES) break;
    // Candidates are sorted reposts first: once one repost is visible, template matches are not listed.
    if (candidate.match.kind === 'template' && visible.some((entry) => entry.match.kind === 'repost')) break;
    if (await input.audienceCanSee(candidate.match)) visible.push(candidate);
  }
  if (visible.length === 0) {
    return { action: 'none', reason: candidates.length === 0 ? 'no qualifying duplicate' : 'no duplicate the audience can see' };
  }
  const kind = visible[0]?.match.kind === 'template' ? 'template' : 'repost';
  return {
    action: settings.noticeMode,
    ...(settings.noticeMode === 'log' && settings.logChannelId !== null ? { logChannelId: settings.logChannelId } : {}),
    message: { guildId: message.guildId, channelId: message.channelId, messageId: message.messageId, authorId: message.authorId },
    matches: visible.map((entry) => entry.match),
    kind,
    pairs: visible.map((entry) => noticePair(entry.image, entry.match.record)),
  };
}

export function noticePair(image: ImageRecord, original: ImageRecord): NoticePair {
  return { imageHash: image.contentHash, originalHash: original.contentHash, originalMessageId: original.messageId, originalChannelId: original.channelId };
}

/** Reposts before template matches; exact copies first, then higher similarity, then the older original (the likely first post). */
function isBetter(a: EarlierDuplicate, b: EarlierDuplicate): boolean {
  if (a.kind !== b.kind) return a.kind === 'repost';
  if (a.exact !== b.exact) return a.exact;
  if (a.similarity !== b.similarity) return a.similarity > b.similarity;
  return a.record.createdAt < b.record.createdAt;
}

/** `https://discord.com/channels/{guild}/{channel}/{message}` */
export function jumpLink(record: { guildId: string; channelId: string; messageId: string }): string {
  return `https://discord.com/channels/${record.guildId}/${record.channelId}/${record.messageId}`;
}
