/** The one reply format for similarity answers (/similar, context menu, 🔍 reaction, page buttons). */
import { ActionRowBuilder, AttachmentBuilder, ButtonBuilder, ButtonStyle, EmbedBuilder, userMention } from 'discord.js';
import type { Translate } from '../i18n.ts';
import { discordTimestamp } from '../links.ts';

export const COLLAGE_FILE_NAME = 'dejavu-matches.jpg';
/** Blurple, the colour of the bot's embeds. */
const EMBED_COLOUR = 0x5865f2;

export interface MatchView {
  link: string;
  percent: number;
  authorId: string;
  createdAt: number;
  label: string;
  /** Fresh CDN URL of the image (re-fetched: stored URLs expire). */
  thumbnailUrl?: string;
}

export interface SimilarReplyInput {
  t: Translate;
  matches: readonly MatchView[];
  /** 0-based page number. */
  page: number;
  hasMore: boolean;
  /** Paging session id for the buttons; no buttons without one. */
  sessionId?: string;
  collage?: Buffer | null;
  /** Text above the embeds (the reaction answer greets the user). */
  header?: string;
}

export interface ReplyPayload {
  content?: string;
  embeds: EmbedBuilder[];
  files: AttachmentBuilder[];
  components: Array<ActionRowBuilder<ButtonBuilder>>;
}

/** custom_id of a page button: `dejavu:page:<session>:<page>`. */
export function pageButtonId(sessionId: string, page: number): string {
  return `dejavu:page:${sessionId}:${page}`;
}

export function parsePageButtonId(customId: string): { sessionId: string; page: number } | null {
  const match = /^dejavu:page:([\w-]+):(\d+)$/.exec(customId);
  return match?.[1] && match[2] ? { sessionId: match[1], page: Number(match[2]) } : null;
}

export function similarReply({ t, matches, page, hasMore, sessionId, collage, header }: SimilarReplyInput): ReplyPayload {
  if (matches.length === 0) {
    return { content: [header, t('similar.none')].filter(Boolean).join('\n'), embeds: [], files: [], components: [] };
  }
  const embeds = matches.map((match, index) => {
    const embed = new EmbedBuilder()
      .setColor(EMBED_COLOUR)
      .setDescription(
        t('similar.match', {
          percent: match.percent.toFixed(1),
          author: userMention(match.authorId),
          date: discordTimestamp(match.createdAt),
          link: match.link,
        }),
      )
      .setURL(match.link)
      .setFooter({ text: match.label.slice(0, 200) });
    if (index === 0) embed.setTitle(page === 0 ? t('similar.title') : t('similar.titlePage', { page: page + 1 }));
    if (match.thumbnailUrl) embed.setThumbnail(match.thumbnailUrl);
    return embed;
  });
  const files = collage ? [new AttachmentBuilder(collage, { name: COLLAGE_FILE_NAME })] : [];
  const components: Array<ActionRowBuilder<ButtonBuilder>> = [];
  if (sessionId && (page > 0 || hasMore)) {
    components.push(
      new ActionRowBuilder<ButtonBuilder>().addComponents(
        new ButtonBuilder().setCustomId(pageButtonId(sessionId, page - 1)).setLabel(t('similar.previous')).setStyle(ButtonStyle.Secondary).setDisabled(page === 0),
        new ButtonBuilder().setCustomId(pageButtonId(sessionId, page + 1)).setLabel(t('similar.next')).setStyle(ButtonStyle.Primary).setDisabled(!hasMore),
      ),
    );
  }
  return { ...(header ? { content: header } : {}), embeds, files, components };
}
