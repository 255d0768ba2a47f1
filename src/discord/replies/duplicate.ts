/** Text of a duplicate ("repost") notice: one line per original, best first. */
import { channelMention, userMention } from 'discord.js';
import type { DuplicateMatch } from '../../services/types.ts';
import type { Translate } from '../i18n.ts';
import { discordTimestamp, messageLink } from '../links.ts';

/** Emoji used in `react` mode. */
export const DUPLICATE_REACTION = '♻️';

export function duplicateLines(t: Translate, matches: readonly DuplicateMatch[]): string[] {
  return matches.map((match) =>
    t('duplicate.match', {
      percent: (Math.max(0, match.similarity) * 100).toFixed(1),
      author: userMention(match.record.authorId),
      date: discordTimestamp(match.record.createdAt),
      link: messageLink(match.record),
    }),
  );
}

export function duplicateNoticeText(t: Translate, matches: readonly DuplicateMatch[]): string {
  return [t('duplicate.notice'), ...duplicateLines(t, matches)].join('\n');
}

export function duplicateLogText(t: Translate, notice: { guildId: string; channelId: string; messageId: string; authorId: string }, matches: readonly DuplicateMatch[]): string {
  return [t('duplicate.logNotice', { author: userMention(notice.authorId), channel: channelMention(notice.channelId), link: messageLink(notice) }), ...duplicateLines(t, matches)].join('\n');
}
