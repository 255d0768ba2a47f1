/**
 * Discord side of history crawling: a `FetchHistoryPage` over discord.js (the channels worth crawling
 * are listed by ./threads.ts), and the progress text (bar, counts, ETA) that one message shows while a backfill runs.
 */
import {
  PermissionFlagsBits,
  type Client,
  type Collection,
  type Guild,
  type Message,
  type GuildBasedChannel,
} from 'discord.js';
import type { HistoryFetcherFactory } from '../services/jobs/types.ts';
import type { BackfillProgress, FetchHistoryPage } from '../services/types.ts';
import type { Translate } from './i18n.ts';
import { imagesOfMessage, toHistoryMessage } from './images.ts';

/** Reads history pages through discord.js REST (which queues and waits on 429s by itself). */
export function historyFetcher(guild: Guild): FetchHistoryPage {
  return async (channelId, page) => {
    const channel = guild.channels.cache.get(channelId) ?? (await guild.channels.fetch(channelId).catch(() => null));
    if (!channel?.isTextBased()) return { messages: [] };
    const messages = await channel.messages.fetch({
      limit: Math.min(page.limit, 100),
      ...(page.before ? { before: page.before } : {}),
      ...(page.after ? { after: page.after } : {}),
      cache: false,
    });
    // Discord returns newest first for `before` and for no cursor; keep that order for every case.
    const sorted = [...messages.values()].sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1));
    return { messages: sorted.map((message) => toHistoryMessage(message, guild.client.user.id)) };
  };
}

/**
 * Reads history pages of a channel in a guild this shard may not hold (a queued job runs on any shard):
 * everything over REST, since the guild is not in this process's cache. Threads take their NSFW flag from
 * the parent channel, fetched too.
 */
export function restHistoryFetcher(client: Client<true>, guildId: string): FetchHistoryPage {
  return async (channelId, page) => {
    const channel = await client.channels.fetch(channelId, { allowUnknownGuild: true, cache: false }).catch(() => null);
    if (!channel || !channel.isTextBased() || channel.isDMBased() || channel.guildId !== guildId) return { messages: [] };
    const parent = channel.isThread() ? await client.channels.fetch(channel.parentId ?? '', { allowUnknownGuild: true, cache: false }).catch(() => null) : channel;
    // Without the parent the images' NSFW flag is unknown: fail the page (retried) rather than guess.
    if (!parent) throw new Error(`parent of thread ${channelId} could not be fetched`);
    const fetched: Collection<string, Message> = await channel.messages.fetch({
      limit: Math.min(page.limit, 100),
      ...(page.before ? { before: page.before } : {}),
      ...(page.after ? { after: page.after } : {}),
      cache: false,
    });
    const sorted = [...fetched.values()].sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1));
    return {
      messages: sorted.map((message) => ({
        id: message.id,
        authorId: message.author.id,
        authorIsBot: message.author.bot,
        fromSelf: message.author.id === client.user.id,
        // The message knows neither its guild nor its channel (both uncached here): hand them over.
        images: imagesOfMessage({
          id: message.id,
          channelId: message.channelId,
          createdTimestamp: message.createdTimestamp,
          attachments: message.attachments,
          embeds: message.embeds,
          author: message.author,
          guildId,
          channel: parent,
        }),
      })),
    };
  };
}

/** The fetcher for a channel job: through the cached guild when this shard holds it, over REST otherwise. */
export function historyFetchers(client: Client<true>): HistoryFetcherFactory {
  return (guildId) => {
    const guild = client.guilds.cache.get(guildId);
    return guild ? historyFetcher(guild) : restHistoryFetcher(client, guildId);
  };
}

export function canReadHistory(guild: Guild, channel: GuildBasedChannel): boolean {
  const me = guild.members.me;
  return me !== null && (channel.permissionsFor(me)?.has(PermissionFlagsBits.ReadMessageHistory | PermissionFlagsBits.ViewChannel, true) ?? false);
}

export interface BackfillTotals {
  channelsDone: number;
  channelsTotal: number;
  messages: number;
  images: number;
  /** Progress of the channel being crawled, for the bar. */
  current: BackfillProgress | null;
  startedAt: number;
}

const BAR_WIDTH = 20;

export function progressBar(fraction: number): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * BAR_WIDTH);
  return `\`${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}\``;
}

/** A remaining time in the reader's language and units (`3 min 20 s`, `3分20秒`). */
export function formatDuration(t: Translate, seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t('backfill.duration.seconds', { s });
  if (s < 3600) return t('backfill.duration.minutes', { m: Math.floor(s / 60), s: s % 60 });
  return t('backfill.duration.hours', { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
}

/** Overall fraction: finished channels plus the running channel's own fraction. */
export function overallFraction(totals: BackfillTotals): number {
  if (totals.channelsTotal === 0) return 1;
  return Math.min(1, (totals.channelsDone + (totals.current?.done ? 0 : (totals.current?.fraction ?? 0))) / totals.channelsTotal);
}

export function progressText(t: Translate, totals: BackfillTotals, done: boolean, now = Date.now()): string {
  const fraction = done ? 1 : overallFraction(totals);
  const counts = { channelsDone: totals.channelsDone, channelsTotal: totals.channelsTotal, messages: totals.messages, images: totals.images };
  if (done) return t('backfill.done', { bar: progressBar(1), ...counts });
  const elapsed = (now - totals.startedAt) / 1000;
  const eta = fraction > 0.01 && elapsed > 1 ? formatDuration(t, (elapsed / fraction) * (1 - fraction)) : t('backfill.unknownEta');
  return t('backfill.progress', { bar: progressBar(fraction), percent: Math.floor(fraction * 100), eta, ...counts });
}
