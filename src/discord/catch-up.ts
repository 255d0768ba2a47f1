/**
 * Startup catch-up of one guild: messages posted while the bot was offline. Channels whose newest message
 * the bot remembers are caught up from there. Threads are listed afresh (active ones from the cache,
 * archived ones paged out of Discord's lists, see ./threads.ts) under every parent the bot has crawled —
 * a known channel, or a forum or media channel with a known post — because a thread that was created, or
 * got new messages and was archived again, while the bot was away is in no cache: known threads are caught
 * up, new ones crawled in full. Channels run one after another so a restart does not flood Discord's REST
 * limits; a channel another process is crawling right now (its lock is taken) is left to it.
 */
import type { Guild } from 'discord.js';
import { isDejavuError } from '../errors.ts';
import type { BackfillProgress } from '../services/types.ts';
import { historyFetcher } from './backfill.ts';
import type { BotContext } from './context.ts';
import { isThreadParent, readableThreads } from './threads.ts';

type Crawl = 'catch-up' | 'full';

/** What to crawl: every known channel (catch-up), plus the unknown threads of crawled parents (full). */
export async function catchUpPlan(guild: Guild, known: ReadonlySet<string>): Promise<Map<string, Crawl>> {
  const plan = new Map<string, Crawl>([...known].map((id) => [id, 'catch-up']));
  const me = guild.members.me;
  if (!me) return plan;
  for (const parent of guild.channels.cache.values()) {
    if (parent.isThread() || !isThreadParent(parent)) continue;
    const parentKnown = known.has(parent.id);
    if (!parentKnown && parent.isTextBased()) continue; // a text channel never crawled: its threads were not either
    const threads = await readableThreads(parent, me);
    if (!parentKnown && !threads.some((thread) => known.has(thread.id))) continue;
    for (const thread of threads) if (!known.has(thread.id)) plan.set(thread.id, 'full');
  }
  return plan;
}

export async function catchUpGuild(context: BotContext, guild: Guild): Promise<void> {
  const { backfill } = context.services;
  // Cached text channels are passed as candidates: a stored cursor that the guild's channel list lacks still counts.
  const candidates = guild.channels.cache.filter((channel) => channel.isTextBased()).map((channel) => channel.id);
  const known = new Set(await backfill.knownChannels(guild.id, candidates));
  if (known.size === 0) return;
  let plan: Map<string, Crawl>;
  try {
    plan = await catchUpPlan(guild, known);
  } catch (error) {
    context.log.warn({ guildId: guild.id, err: error }, 'listing threads for catch-up failed; catching up known channels only');
    plan = new Map([...known].map((id) => [id, 'catch-up']));
  }
  const fetchPage = historyFetcher(guild);
  for (const [channelId, crawl] of plan) {
    try {
      const run = { guildId: guild.id, channelId, fetchPage };
      const progress: BackfillProgress = crawl === 'full' ? await backfill.backfill(run) : await backfill.catchUp(run);
      if (progress.scanned > 0) context.log.info({ guildId: guild.id, channelId, crawl, scanned: progress.scanned, indexed: progress.indexed }, 'caught up');
    } catch (error) {
      if (isDejavuError(error) && error.code === 'LOCKED') context.log.info({ guildId: guild.id, channelId }, 'catch-up skipped: another process is crawling the channel');
      else context.log.warn({ guildId: guild.id, channelId, err: error }, 'catch-up failed');
    }
  }
}
