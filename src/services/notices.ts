/**
 * Duplicate-notice policy: which of a new message's duplicate matches deserve a notice, and how.
 * Pure apart from the audience predicate the Discord layer passes in (permission checks live there).
 *
 * Rules: never the same message; at most one notice per new message (all its images together), listing
 * the best match per earlier message; nothing for the same author reposting within the leeway window;
 * nothing below the guild's threshold (when the guild set one); nothing the new message's audience
 * could not see; and the guild's mode (`off`, or `log` without a log channel, posts nothing).
 */
import type { DuplicateMatch, DuplicateNotice, DuplicateNoticeInput } from './types.ts';

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
  const bestPerMessage = new Map<string, DuplicateMatch>();
  for (const outcome of indexed) {
    for (const match of outcome.duplicates) {
      const original = match.record;
      if (original.guildId !== message.guildId) continue; // defence in depth: the store never crosses guilds
      if (original.messageId === message.messageId) continue;
      if (settings.duplicateThreshold !== null && match.similarity < settings.duplicateThreshold) continue;
      if (original.authorId === message.authorId && Math.abs(message.createdAt - original.createdAt) < settings.sameAuthorLeewayMs) continue;
      const best = bestPerMessage.get(original.messageId);
      if (best === undefined || isBetter(match, best)) bestPerMessage.set(original.messageId, match);
    }
  }
  const candidates = [...bestPerMessage.values()].sort((a, b) => (isBetter(a, b) ? -1 : isBetter(b, a) ? 1 : 0));
  const visible: DuplicateMatch[] = [];
  for (const match of candidates) {
    if (visible.length >= MAX_NOTICE_MATCHES) break;
    if (await input.audienceCanSee(match)) visible.push(match);
  }
  if (visible.length === 0) {
    return { action: 'none', reason: candidates.length === 0 ? 'no qualifying duplicate' : 'no duplicate the audience can see' };
  }
  return {
    action: settings.noticeMode,
    ...(settings.noticeMode === 'log' && settings.logChannelId !== null ? { logChannelId: settings.logChannelId } : {}),
    message: { guildId: message.guildId, channelId: message.channelId, messageId: message.messageId, authorId: message.authorId },
    matches: visible,
  };
}

/** Exact copies first, then higher similarity, then the older original (the likely first post). */
function isBetter(a: DuplicateMatch, b: DuplicateMatch): boolean {
  if (a.exact !== b.exact) return a.exact;
  if (a.similarity !== b.similarity) return a.similarity > b.similarity;
  return a.record.createdAt < b.record.createdAt;
}

/** `https://discord.com/channels/{guild}/{channel}/{message}` */
export function jumpLink(record: { guildId: string; channelId: string; messageId: string }): string {
  return `https://discord.com/channels/${record.guildId}/${record.channelId}/${record.messageId}`;
}
