/**
 * Live indexing of one message (MESSAGE_CREATE, and MESSAGE_UPDATE when Discord unfurls an image later),
 * followed by at most one duplicate notice per message, per the guild's mode. A posted notice carries a
 * "Not a repost" button (src/discord/reports.ts) and is remembered so that button works from any process;
 * members of the guild's allowed-reposters role never get a notice.
 */
import type { GuildBasedChannel, Message } from 'discord.js';
import type { EarlierDuplicate, DuplicateNotice, GuildSettings, IndexOutcome } from '../services/types.ts';
import { planDuplicateNotice } from '../services/notices.ts';
import { noticeableOutcomes } from '../services/media.ts';
import type { BotContext } from './context.ts';
import { imagesOfMessage } from './images.ts';
import { RecentIds } from './once.ts';
import { translatorFor } from './locale.ts';
import { audienceCanSee } from './permissions.ts';
import { trackWaves } from './waves.ts';
import { DUPLICATE_REACTION, duplicateLogText, duplicateNoticeText, notARepostRow, TEMPLATE_REACTION, templateLogText, templateNoticeText } from './replies/duplicate.ts';
import { fetchUncachedChannels } from './threads.ts';

/** Messages that already got a notice, so an edit that adds an embed does not notify twice. */
const noticed = new RecentIds(50_000);

/** Whether a message's images should be indexed at all (the cheap guards, before any work). */
export function shouldIndex(message: Message, settings: GuildSettings, selfId: string): boolean {
  if (!message.inGuild()) return false;
  if (message.author.id === selfId) return false;
  if ((message.author.bot || message.webhookId !== null) && !settings.includeOtherBots) return false;
  const channel = message.channel;
  const channelIds = [channel.id, channel.isThread() ? channel.parentId : null, 'parentId' in channel ? channel.parentId : null];
  return !channelIds.some((id) => id !== null && settings.ignoredChannelIds.includes(id));
}

export interface LiveIndexResult {
  outcomes: IndexOutcome[];
  notice: DuplicateNotice | null;
}

/** Indexes the message's images not yet indexed, then posts the duplicate notice if one is due. */
export async function indexLiveMessage(context: BotContext, message: Message<true>, settings: GuildSettings): Promise<LiveIndexResult> {
  const images = imagesOfMessage(message);
  const markSeen = () => context.services.backfill.markSeen(message.guildId, message.channelId, message.id);
  if (images.length === 0) {
    markSeen();
    return { outcomes: [], notice: null };
  }
  const outcomes = await context.services.indexer.indexMessage(images, { priority: 'live' });
  // Only after the outcomes are durable: a crash before this point leaves the message to startup catch-up.
  markSeen();
  for (const outcome of outcomes) {
    if (outcome.status === 'indexed') {
      context.log.debug({ guildId: message.guildId, channelId: message.channelId, messageId: message.id, elapsedMs: outcome.elapsedMs, ...outcome.timings, duplicates: outcome.duplicates.length }, 'image indexed');
    } else if (outcome.status === 'failed') {
      context.log.warn({ guildId: message.guildId, channelId: message.channelId, messageId: message.id, code: outcome.code, sourceKey: outcome.source.sourceKey }, 'image not indexed');
    }
  }
  // GIFs get no notice and make no wave unless the guild asks (reaction GIFs are reposted by design).
  const noticeable = noticeableOutcomes(outcomes, settings);
  // A copy in a spam wave is reported by the wave's one alert, not by a notice of its own.
  if (await trackWaves(context, message, settings, noticeable)) return { outcomes, notice: null };
  if (!noticeable.some((outcome) => outcome.status === 'indexed' && outcome.duplicates.length > 0)) return { outcomes, notice: null };
  if (isAllowedReposter(message, settings)) {
    context.log.info({ guildId: message.guildId, channelId: message.channelId, messageId: message.id, memberId: message.author.id, roleId: settings.allowedReposterRoleId }, 'duplicate notice skipped: allowed reposter');
    return { outcomes, notice: { action: 'none', reason: 'the author has the allowed-reposters role' } };
  }
  const notice = await planNotice(context, message, settings, noticeable);
  if (notice.action !== 'none' && noticed.firstSighting(message.id)) await postNotice(context, message, settings, notice);
  return { outcomes, notice };
}

/** Members of the guild's allowed-reposters role never get duplicate notices. */
function isAllowedReposter(message: Message<true>, settings: GuildSettings): boolean {
  const roleId = settings.allowedReposterRoleId;
  return roleId !== null && message.member?.roles.cache.has(roleId) === true;
}

async function planNotice(context: BotContext, message: Message<true>, settings: GuildSettings, outcomes: IndexOutcome[]): Promise<DuplicateNotice> {
  const guild = message.guild;
  // Originals in archived threads (forum and media posts) are not in the cache: fetch them to check them.
  await fetchUncachedChannels(guild, outcomes.flatMap((outcome) => (outcome.status === 'indexed' ? outcome.duplicates.map((match) => match.record.channelId) : [])));
  // In log mode the notice is read by the log channel's audience; otherwise by the new message's channel's.
  const logChannel = settings.noticeMode === 'log' && settings.logChannelId ? guild.channels.cache.get(settings.logChannelId) : undefined;
  const audience: GuildBasedChannel | undefined = settings.noticeMode === 'log' ? logChannel : message.channel;
  return planDuplicateNotice({
    outcomes,
    settings,
    isSuppressed: (match, image) => context.services.reports.isSuppressed(message.guildId, image.contentHash, match.record.contentHash),
    audienceCanSee: (match: EarlierDuplicate) => {
      if (!audience) return false;
      const target = guild.channels.cache.get(match.record.channelId);
      if (!target) return false;
      if (settings.noticeMode === 'log' && !audienceCanSee(audience, message.channel)) return false;
      return audienceCanSee(audience, target);
    },
  });
}

async function postNotice(context: BotContext, message: Message<true>, settings: GuildSettings, notice: Exclude<DuplicateNotice, { action: 'none' }>): Promise<void> {
  const t = translatorFor(settings, null, message.guild.preferredLocale);
  const fields = { guildId: message.guildId, channelId: message.channelId, messageId: message.id, memberId: message.author.id, matches: notice.matches.length, kind: notice.kind };
  const template = notice.kind === 'template';
  const components = [notARepostRow(t, message.id)];
  let posted: Message | undefined;
  switch (notice.action) {
    case 'reply': {
      const content = template ? templateNoticeText(t, notice.matches) : duplicateNoticeText(t, notice.matches);
      posted = await message.reply({ content, components, allowedMentions: { parse: [], repliedUser: false } });
      break;
    }
    case 'react':
      // A reaction carries no button: it is removed like any reaction.
      await message.react(template ? TEMPLATE_REACTION : DUPLICATE_REACTION);
      break;
    case 'log': {
      const channel = notice.logChannelId ? message.guild.channels.cache.get(notice.logChannelId) : undefined;
      if (!channel?.isTextBased()) {
        context.log.warn({ ...fields, logChannelId: notice.logChannelId }, 'log channel missing: notice not posted');
        return;
      }
      const content = template ? templateLogText(t, notice.message, notice.matches) : duplicateLogText(t, notice.message, notice.matches);
      posted = await channel.send({ content, components, allowedMentions: { parse: [] } });
      break;
    }
  }
  if (posted !== undefined) {
    await context.services.reports.rememberNotice({
      guildId: message.guildId,
      channelId: message.channelId,
      messageId: message.id,
      posterId: message.author.id,
      noticeChannelId: posted.channelId,
      noticeMessageId: posted.id,
      pairs: notice.pairs,
      postedAt: Date.now(),
    });
  }
  context.log.info({ ...fields, action: notice.action, noticeMessageId: posted?.id }, template ? 'same-template note posted' : 'duplicate notice posted');
}
