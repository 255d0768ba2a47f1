/**
 * The one path every similarity answer takes (/similar, "Find similar images", 🔍, page buttons):
 * resolve the query image → services.findSimilar with the asker's permission filter → re-fetch each match's
 * message for a fresh image URL (dropping messages deleted meanwhile) → collage → reply payload.
 */
import { DiscordAPIError, RESTJSONErrorCodes, type Guild, type GuildBasedChannel, type GuildMember, type Message } from 'discord.js';
import type { SimilarityMatch, SimilarityQuery } from '../services/types.ts';
import type { ImageRecord } from '../store/types.ts';
import type { BotContext } from './context.ts';
import { UserFacingError } from './errors.ts';
import type { Translate } from './i18n.ts';
import { freshUrlOf, imagesOfMessage } from './images.ts';
import { messageLink } from './links.ts';
import { canView, isNsfw, resultFilter } from './permissions.ts';
import { buildCollage } from './replies/collage.ts';
import { similarReply, type MatchView, type ReplyPayload } from './replies/similar.ts';
import type { SimilarSession } from './sessions.ts';
import { fetchUncachedChannels } from './threads.ts';

/** Matches per page when the asker does not choose (/similar without `count`, the context menu, 🔍). */
export const DEFAULT_COUNT = 5;
/** Searches repeated at most after fetching uncached channels of candidate records (archived threads). */
const MAX_CHANNEL_ROUNDS = 3;
/** Edge asked from Discord's media proxy for thumbnails in the collage. */
const THUMBNAIL_EDGE = 320;

export type QueryInput =
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'url'; url: string }
  /** A message the asker pointed at; its first image is the query and the message is excluded. */
  | { kind: 'message'; message: Message };

export interface SimilarRequest {
  guild: Guild;
  asker: GuildMember;
  replyChannel: GuildBasedChannel;
  ephemeral: boolean;
  k: number;
  scopeChannelId?: string;
  input: QueryInput;
  t: Translate;
  header?: string;
}

interface ResolvedQuery {
  query: SimilarityQuery;
  excludeMessageIds: string[];
  excludeSourceKeys: string[];
}

/** Turns the user's input into a reusable query (a vector or an indexed record), so paging never re-embeds. */
export async function resolveQuery(context: BotContext, guild: Guild, input: QueryInput): Promise<ResolvedQuery> {
  switch (input.kind) {
    case 'bytes':
      return { query: await context.services.embedQuery(input.bytes), excludeMessageIds: [], excludeSourceKeys: [] };
    case 'url':
      return { query: await context.services.embedQuery(await context.services.download(input.url)), excludeMessageIds: [], excludeSourceKeys: [] };
    case 'message': {
      const images = imagesOfMessage(input.message);
      const first = images[0];
      if (!first) throw new UserFacingError('similar.messageHasNoImage');
      const exclude = { excludeMessageIds: [input.message.id], excludeSourceKeys: images.map((image) => image.source.sourceKey) };
      const record = await context.services.getRecord(guild.id, first.source.sourceKey);
      if (record && record.guildId === guild.id) return { query: { record }, ...exclude };
      const bytes = await context.services.download(first.proxyUrl ?? first.url);
      return { query: await context.services.embedQuery(bytes), ...exclude };
    }
  }
}

/** Adds the media proxy's downscaling parameters (other hosts ignore them). */
export function thumbnailUrl(url: string, edge = THUMBNAIL_EDGE): string {
  try {
    const parsed = new URL(url);
    parsed.searchParams.set('width', String(edge));
    parsed.searchParams.set('height', String(edge));
    return parsed.toString();
  } catch {
    return url;
  }
}

function isUnknownMessageOrChannel(error: unknown): boolean {
  return error instanceof DiscordAPIError && (error.code === RESTJSONErrorCodes.UnknownMessage || error.code === RESTJSONErrorCodes.UnknownChannel);
}

interface HydratedMatch {
  view: MatchView;
  imageUrl?: string;
}

/** Fetches the match's message for a fresh URL; a deleted message is removed from the index and dropped. */
async function hydrate(context: BotContext, guild: Guild, match: SimilarityMatch): Promise<HydratedMatch | null> {
  const { record } = match;
  const view: MatchView = {
    link: messageLink(record),
    percent: match.percent,
    authorId: record.authorId,
    createdAt: record.createdAt,
    label: record.label,
  };
  const channel = guild.channels.cache.get(record.channelId);
  if (!channel?.isTextBased()) return { view };
  try {
    const message = await channel.messages.fetch(record.messageId);
    const url = freshUrlOf(message, record.sourceKey);
    if (!url) {
      // The image was edited away after indexing: forget it.
      await context.services.removeMessages(guild.id, [record.messageId]);
      return null;
    }
    return { view: { ...view, thumbnailUrl: url }, imageUrl: url };
  } catch (error) {
    if (isUnknownMessageOrChannel(error)) {
      await context.services.removeMessages(guild.id, [record.messageId]);
      return null;
    }
    context.log.warn({ guildId: guild.id, channelId: record.channelId, messageId: record.messageId, err: error }, 'could not re-fetch a match');
    return { view };
  }
}

async function downloadThumbnail(context: BotContext, url: string | undefined): Promise<Uint8Array | null> {
  if (!url) return null;
  try {
    return await context.services.download(thumbnailUrl(url));
  } catch {
    return null;
  }
}

/** Runs one page of a session and formats it. */
export async function answerPage(context: BotContext, guild: Guild, asker: GuildMember, session: SimilarSession, sessionId: string, page: number, t: Translate, header?: string): Promise<ReplyPayload> {
  const replyChannel = guild.channels.cache.get(session.replyChannelId);
  if (!replyChannel) throw new UserFacingError('similar.expired');
  const filter = resultFilter({ asker, replyChannel, ephemeral: session.ephemeral });
  // Archived threads are not in the cache (the gateway sends active ones only), and a record whose channel
  // is unknown cannot pass the permission check: fetch those channels and search again.
  const uncached = new Set<string>();
  const canViewRecord = (record: Pick<ImageRecord, 'guildId' | 'channelId'>): boolean => {
    if (record.guildId === guild.id && !guild.channels.cache.has(record.channelId)) uncached.add(record.channelId);
    return filter(record);
  };
  const search = () =>
    context.services.findSimilar({
      guildId: guild.id,
      query: session.query,
      k: session.k,
      offset: page * session.k,
      canView: canViewRecord,
      excludeMessageIds: session.excludeMessageIds,
      excludeSourceKeys: session.excludeSourceKeys,
      nsfwAllowed: isNsfw(replyChannel),
      ...(session.scopeChannelId ? { channelId: session.scopeChannelId } : {}),
    });
  let result = await search();
  for (let round = 0; round < MAX_CHANNEL_ROUNDS && uncached.size > 0; round++) {
    const ids = [...uncached];
    uncached.clear();
    if ((await fetchUncachedChannels(guild, ids)) === 0) break;
    result = await search();
  }
  const hydrated = (await Promise.all(result.matches.map((match) => hydrate(context, guild, match)))).filter((entry) => entry !== null);
  const thumbnails = await Promise.all(hydrated.map((entry) => downloadThumbnail(context, entry.imageUrl)));
  const collage = await buildCollage(thumbnails);
  return similarReply({ t, matches: hydrated.map((entry) => entry.view), page, hasMore: result.hasMore, sessionId, collage, ...(header ? { header } : {}) });
}

/** Resolves the query, opens a paging session and answers its first page. */
export async function answerSimilar(context: BotContext, request: SimilarRequest): Promise<ReplyPayload> {
  const { guild, asker, replyChannel } = request;
  if (request.input.kind === 'message') {
    const source = request.input.message.channel;
    // A message link to a channel the asker cannot see is answered as if it did not exist.
    if (source.isDMBased() || source.guildId !== guild.id || !canView(asker, source)) throw new UserFacingError('similar.messageNotFound');
  }
  const resolved = await resolveQuery(context, guild, request.input);
  const session: SimilarSession = {
    guildId: guild.id,
    askerId: asker.id,
    replyChannelId: replyChannel.id,
    ephemeral: request.ephemeral,
    query: resolved.query,
    k: request.k,
    excludeMessageIds: resolved.excludeMessageIds,
    excludeSourceKeys: resolved.excludeSourceKeys,
    ...(request.scopeChannelId ? { scopeChannelId: request.scopeChannelId } : {}),
  };
  const sessionId = context.sessions.create(session);
  return answerPage(context, guild, asker, session, sessionId, 0, request.t, request.header);
}
