/** Text of a duplicate ("repost") notice: one line per original, best first; same-template notes; the "Not a repost" button. */
import { ActionRowBuilder, ButtonBuilder, ButtonStyle, channelMention, userMention } from 'discord.js';
import type { EarlierDuplicate } from '../../services/types.ts';
import type { Translate } from '../i18n.ts';
import { discordTimestamp, messageLink } from '../links.ts';

/** Emoji used in `react` mode. */
export const DUPLICATE_REACTION = '♻️';

export function duplicateLines(t: Translate, matches: readonly EarlierDuplicate[]): string[] {
  return matches.map((match) =>
    t('duplicate.match', {
      percent: (Math.max(0, match.similarity) * 100).toFixed(1),
      author: userMention(match.record.authorId),
      date: discordTimestamp(match.record.createdAt),
      link: messageLink(match.record),
    }),
  );
}

export function duplicateNoticeText(t: Translate, matches: readonly EarlierDuplicate[]): string {
  return [t('duplicate.notice'), ...duplicateLines(t, matches)].join('\n');
}

export function duplicateLogText(t: Translate, notice: { guildId: string; channelId: string; messageId: string; authorId: string }, matches: readonly EarlierDuplicate[]): string {
  return [t('duplicate.logNotice', { author: userMention(notice.authorId), channel: channelMention(notice.channelId), link: messageLink(notice) }), ...duplicateLines(t, matches)].join('\n');
}

// --- Same-template notes and the "Not a repost" button ---

/** Emoji used in `react` mode for a same-template note (a gentler sign than the repost one). */
export const TEMPLATE_REACTION = '🖼️';

/** custom_id prefix of the "Not a repost" button; the rest is the id of the message the notice is about. */
export const NOT_A_REPOST_PREFIX = 'dejavu:not-repost:';

export function notARepostButtonId(messageId: string): string {
  return `${NOT_A_REPOST_PREFIX}${messageId}`;
}

/** The message id of a "Not a repost" button, or null for any other custom_id. */
export function parseNotARepostButtonId(customId: string): string | null {
  if (!customId.startsWith(NOT_A_REPOST_PREFIX)) return null;
  const messageId = customId.slice(NOT_A_REPOST_PREFIX.length);
  return /^\d{1,20}$/.test(messageId) ? messageId : null;
}

export function notARepostRow(t: Translate, messageId: string): ActionRowBuilder<ButtonBuilder> {
  return new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId(notARepostButtonId(messageId)).setLabel(t('reports.button')).setStyle(ButtonStyle.Secondary),
  );
}

export function templateLines(t: Translate, matches: readonly EarlierDuplicate[]): string[] {
  return matches.map((match) => t('template.match', { author: `<@${match.record.authorId}>`, date: discordTimestamp(match.record.createdAt), link: messageLink(match.record) }));
}

/** "Same template as …": for a picture posted before under other text (not a repost). */
export function templateNoticeText(t: Translate, matches: readonly EarlierDuplicate[]): string {
  return [t('template.notice'), ...templateLines(t, matches)].join('\n');
}

export function templateLogText(t: Translate, notice: { guildId: string; channelId: string; messageId: string; authorId: string }, matches: readonly EarlierDuplicate[]): string {
  return [t('template.logNotice', { author: `<@${notice.authorId}>`, channel: `<#${notice.channelId}>`, link: messageLink(notice) }), ...templateLines(t, matches)].join('\n');
}
