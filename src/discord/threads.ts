/**
 * Every place images live: text channels, and the threads under text, announcement, forum and media
 * channels — active ones from the cache and archived ones (public, and private ones the bot may read)
 * paged out of Discord's archived-thread lists. A forum or media channel holds no messages of its own:
 * each post is a thread, and most of them are archived, so without these lists a media gallery would
 * never be indexed.
 */
import {
  ChannelType,
  PermissionFlagsBits,
  type AnyThreadChannel,
  type FetchArchivedThreadOptions,
  type ForumChannel,
  type Guild,
  type GuildBasedChannel,
  type GuildMember,
  type GuildTextBasedChannel,
  type MediaChannel,
  type NewsChannel,
  type TextChannel,
} from 'discord.js';
import { VIEW_PERMISSIONS } from './permissions.ts';

/** Channels that have threads. */
export type ThreadParent = TextChannel | NewsChannel | ForumChannel | MediaChannel;

/** Threads per archived-list request: Discord's maximum. */
export const ARCHIVED_PAGE_SIZE = 100;

export function isThreadParent(channel: GuildBasedChannel): channel is ThreadParent {
  return (
    channel.type === ChannelType.GuildText ||
    channel.type === ChannelType.GuildAnnouncement ||
    channel.type === ChannelType.GuildForum ||
    channel.type === ChannelType.GuildMedia
  );
}

function canReadChannel(me: GuildMember, channel: GuildBasedChannel): boolean {
  return channel.permissionsFor(me)?.has(VIEW_PERMISSIONS, true) ?? false;
}

/** Private threads are readable by their members and by whoever may manage threads in the parent. */
function canReadThread(me: GuildMember, thread: AnyThreadChannel, parent: ThreadParent): boolean {
  if (!canReadChannel(me, parent)) return false;
  if (thread.type !== ChannelType.PrivateThread) return true;
  return thread.joined || (parent.permissionsFor(me)?.has(PermissionFlagsBits.ManageThreads, true) ?? false);
}

/**
 * One archived-thread list, page by page (`before` = the last thread of the previous page), until Discord
 * says there is no more.
 */
async function* archivedList(parent: ThreadParent, options: Omit<FetchArchivedThreadOptions, 'before' | 'limit'>, pageSize: number): AsyncGenerator<AnyThreadChannel> {
  let before: AnyThreadChannel | undefined;
  for (;;) {
    const page = await parent.threads.fetchArchived({ ...options, limit: pageSize, ...(before ? { before } : {}) });
    const threads = [...page.threads.values()];
    yield* threads;
    before = threads.at(-1);
    if (!page.hasMore || before === undefined) return;
  }
}

/**
 * The archived threads of `parent` that the bot can read: public (and announcement) ones, and private ones —
 * all of them with Manage Threads, otherwise those the bot joined (the only list Discord grants it).
 */
export async function* archivedThreads(parent: ThreadParent, me: GuildMember, pageSize = ARCHIVED_PAGE_SIZE): AsyncGenerator<AnyThreadChannel> {
  const permissions = parent.permissionsFor(me);
  if (!permissions?.has(VIEW_PERMISSIONS, true)) return;
  yield* archivedList(parent, { type: 'public' }, pageSize);
  // Forum and media posts are always public threads.
  if (parent.type !== ChannelType.GuildText) return;
  const fetchAll = permissions.has(PermissionFlagsBits.ManageThreads, true);
  yield* archivedList(parent, { type: 'private', fetchAll }, pageSize);
}

/** Active threads (from the cache, which the gateway keeps current) and archived ones of `parent` that the bot can read. */
export async function readableThreads(parent: ThreadParent, me: GuildMember, pageSize = ARCHIVED_PAGE_SIZE): Promise<AnyThreadChannel[]> {
  const threads = new Map<string, AnyThreadChannel>();
  for (const thread of parent.threads.cache.values()) if (!thread.archived) threads.set(thread.id, thread);
  for await (const thread of archivedThreads(parent, me, pageSize)) threads.set(thread.id, thread);
  return [...threads.values()].filter((thread) => canReadThread(me, thread, parent));
}

/**
 * Channels with messages the bot can read: text, announcement and voice chats, and every readable thread
 * (active or archived) of text, announcement, forum and media channels.
 */
export async function crawlableChannels(guild: Guild): Promise<GuildTextBasedChannel[]> {
  const me = guild.members.me;
  if (!me) return [];
  const channels: GuildTextBasedChannel[] = [];
  for (const channel of guild.channels.cache.values()) {
    if (channel.isThread() || !canReadChannel(me, channel)) continue;
    if (channel.isTextBased()) channels.push(channel);
    if (isThreadParent(channel)) channels.push(...(await readableThreads(channel, me)));
  }
  return channels;
}

/**
 * What `/dejavu backfill channel:` crawls: the channel itself when it holds messages, and its readable
 * threads when it has any (a forum or media channel is only its threads).
 */
export async function channelAndThreads(guild: Guild, channel: GuildBasedChannel): Promise<GuildTextBasedChannel[]> {
  const me = guild.members.me;
  if (!me || !canReadChannel(me, channel)) return [];
  const channels: GuildTextBasedChannel[] = channel.isTextBased() ? [channel] : [];
  if (isThreadParent(channel)) channels.push(...(await readableThreads(channel, me)));
  return channels;
}

/**
 * Brings channels that the cache lacks (archived threads are not sent by the gateway) into it, so
 * permission checks on records in them can run. Ids that are no channel of this guild (deleted, or no
 * access) are left out; returns how many were fetched.
 */
export async function fetchUncachedChannels(guild: Guild, channelIds: Iterable<string>): Promise<number> {
  let fetched = 0;
  for (const id of new Set(channelIds)) {
    if (guild.channels.cache.has(id)) continue;
    const channel = await guild.channels.fetch(id).catch(() => null);
    if (channel) fetched += 1;
  }
  return fetched;
}
