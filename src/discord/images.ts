/**
 * Turns discord.js messages into the services' plain `ImageReference`s: every image attachment and every
 * image embed Discord unfurled, with ids to store (never the expiring CDN URL).
 */
import type { Attachment, Embed, GuildBasedChannel, Message } from 'discord.js';
import type { ImageSource } from '../store/types.ts';
import type { HistoryMessage, ImageReference } from '../services/types.ts';
import { frameBase, isVideoType } from '../services/media.ts';
import { isNsfw } from './permissions.ts';

const IMAGE_EXTENSIONS = /\.(png|jpe?g|gif|webp|avif|bmp|tiff?)$/i;

/** image/* except SVG (a document, not a bitmap); without a content type, judged by the file name. */
export function isImageAttachment(attachment: Pick<Attachment, 'contentType' | 'name'>): boolean {
  const type = attachment.contentType?.toLowerCase().split(';')[0]?.trim();
  if (type) return type.startsWith('image/') && type !== 'image/svg+xml';
  return IMAGE_EXTENSIONS.test(attachment.name);
}

const VIDEO_EXTENSIONS = /\.(mp4|webm|mov)$/i;

/** mp4, webm and mov attachments: indexed by their keyframes when ffmpeg is available. */
export function isVideoAttachment(attachment: Pick<Attachment, 'contentType' | 'name'>): boolean {
  const type = attachment.contentType?.toLowerCase().split(';')[0]?.trim();
  if (type) return isVideoType(type);
  return VIDEO_EXTENSIONS.test(attachment.name);
}

/** The picture of an embed: `image` for rich embeds, `thumbnail` for an unfurled image link. */
function embedPicture(embed: Embed): { url: string; proxyURL?: string | undefined; width?: number | undefined; height?: number | undefined } | null {
  if (embed.image?.url) return embed.image;
  if (embed.data.type === 'image' && embed.thumbnail?.url) return embed.thumbnail;
  return null;
}

/**
 * Source key of the n-th embed of a message. The store is idempotent on (guild, sourceKey), so the key
 * carries the message id: `embed:<messageId>:<n>` (attachment ids are unique by themselves).
 */
export function embedSourceKey(messageId: string, index: number): string {
  return `embed:${messageId}:${index}`;
}

type IndexableMessage = Pick<Message, 'id' | 'channelId' | 'createdTimestamp' | 'attachments' | 'embeds'> & {
  guildId: string | null;
  author: { id: string };
  channel: unknown;
};

/** Every image of a guild message, in a stable order (attachments, then embeds). */
export function imagesOfMessage(message: IndexableMessage): ImageReference[] {
  if (!message.guildId) return [];
  const channel = message.channel as GuildBasedChannel;
  const common = {
    guildId: message.guildId,
    channelId: message.channelId,
    messageId: message.id,
    authorId: message.author.id,
    createdAt: message.createdTimestamp,
    nsfw: isNsfw(channel),
  };
  const images: ImageReference[] = [];
  for (const attachment of message.attachments.values()) {
    const video = isVideoAttachment(attachment);
    if (!video && !isImageAttachment(attachment)) continue;
    const source: ImageSource = { ...common, sourceKey: attachment.id, kind: 'attachment', label: attachment.name };
    images.push({
      source,
      url: attachment.url,
      proxyUrl: attachment.proxyURL,
      width: attachment.width ?? undefined,
      height: attachment.height ?? undefined,
      contentType: attachment.contentType ?? (video ? videoTypeOf(attachment.name) : undefined),
      size: attachment.size,
    });
  }
  message.embeds.forEach((embed, index) => {
    const picture = embedPicture(embed);
    if (!picture) return;
    const source: ImageSource = { ...common, sourceKey: embedSourceKey(message.id, index), kind: 'embed', label: embed.url ?? picture.url };
    images.push({ source, url: picture.url, proxyUrl: picture.proxyURL, width: picture.width, height: picture.height });
  });
  return images;
}

function videoTypeOf(name: string): string {
  const extension = name.split('.').pop()?.toLowerCase();
  return extension === 'mov' ? 'video/quicktime' : `video/${extension ?? 'mp4'}`;
}

/** A fresh URL for a stored image or frame (CDN URLs expire, so the caller re-fetched the message). */
export function freshUrlOf(message: IndexableMessage, sourceKey: string): string | undefined {
  const key = frameBase(sourceKey);
  const image = imagesOfMessage(message).find((candidate) => candidate.source.sourceKey === key);
  return image ? (image.proxyUrl ?? image.url) : undefined;
}

/** History adapter for the backfill service. */
export function toHistoryMessage(message: Message, selfId: string): HistoryMessage {
  return {
    id: message.id,
    authorId: message.author.id,
    authorIsBot: message.author.bot,
    fromSelf: message.author.id === selfId,
    images: imagesOfMessage(message),
  };
}
