/** Discord URLs built from ids (stored records keep ids, never expiring CDN URLs), through discord.js's formatters. */
import { messageLink as jumpLink, time, TimestampStyles, type TimestampStylesString } from 'discord.js';

export function messageLink(ids: { guildId: string; channelId: string; messageId: string }): string {
  return jumpLink(ids.channelId, ids.messageId, ids.guildId);
}

/** `<t:…:f>`: Discord renders the date in each reader's own locale and time zone. */
export function discordTimestamp(milliseconds: number, style: TimestampStylesString = TimestampStyles.ShortDateTime): string {
  return time(Math.floor(milliseconds / 1000), style);
}

/** Parses `https://discord.com/channels/g/c/m` (also ptb/canary/discordapp.com) or a bare message id. */
export function parseMessageReference(text: string): { guildId?: string; channelId?: string; messageId: string } | null {
  const trimmed = text.trim();
  if (/^\d{15,21}$/.test(trimmed)) return { messageId: trimmed };
  const match = /^https?:\/\/(?:(?:ptb|canary)\.)?discord(?:app)?\.com\/channels\/(\d{15,21}|@me)\/(\d{15,21})\/(\d{15,21})\/?$/.exec(trimmed);
  if (!match) return null;
  const [, guildId, channelId, messageId] = match;
  if (!channelId || !messageId) return null;
  return { guildId: guildId === '@me' ? undefined : guildId, channelId, messageId };
}
