/**
 * Spam waves on Discord: feeds each live copy to the wave service and, when it is part of a wave, carries
 * out the guild's actions (delete the copies, time out the posters) with the bot's own permissions, then
 * posts or edits the wave's one alert in the log channel. Members who can manage messages are never acted
 * on; the alert names them as skipped. In dry run the alert says what would have been done.
 */
import { PermissionFlagsBits, type Guild, type GuildMember, type GuildTextBasedChannel, type Message } from 'discord.js';
import type { GuildSettings, IndexOutcome } from '../services/types.ts';
import { isWave, postOf, wavesActive, type DueAction, type WaveAction, type WaveActionOutcome, type WaveActResult, type WaveAlertRef, type WaveState } from '../services/waves.ts';
import type { BotContext } from './context.ts';
import { translatorFor } from './locale.ts';
import { waveAlertText } from './replies/wave.ts';

/** Discord's bulk delete takes 2–100 messages younger than 14 days (wave copies are minutes old). */
const BULK_DELETE_MAX = 100;

/**
 * Adds the message's indexed images to their waves; nothing at all when waves are inactive for the guild.
 * Resolves true when the message is part of a wave: its alert stands in for a duplicate notice.
 */
export async function trackWaves(context: BotContext, message: Message<true>, settings: GuildSettings, outcomes: readonly IndexOutcome[]): Promise<boolean> {
  if (!wavesActive(settings)) return false;
  let inWave = false;
  for (const outcome of outcomes) {
    if (outcome.status !== 'indexed') continue;
    const wave = await context.services.waves.observe(
      { guildId: message.guildId, post: postOf(outcome.record), duplicates: outcome.duplicates, settings },
      (current, due) => actOnWave(context, message.guild, settings, current, due),
    );
    if (wave !== null && isWave(wave, settings)) inWave = true;
  }
  return inWave;
}

async function actOnWave(context: BotContext, guild: Guild, settings: GuildSettings, wave: WaveState, due: readonly DueAction[]): Promise<WaveActResult> {
  const actions = await runActions(context, guild, settings, due);
  const updated: WaveState = { ...wave, actions: [...wave.actions, ...actions] };
  const alert = await postAlert(context, guild, settings, updated);
  return { alert, actions };
}

/** Whether the member moderates where they posted: such members are never acted on. */
function isModerator(member: GuildMember, channel: GuildTextBasedChannel | undefined): boolean {
  if (member.permissions.has(PermissionFlagsBits.ManageMessages, true)) return true;
  return channel !== undefined && member.permissionsIn(channel).has(PermissionFlagsBits.ManageMessages, true);
}

async function fetchMember(guild: Guild, userId: string): Promise<GuildMember | null> {
  return guild.members.cache.get(userId) ?? (await guild.members.fetch(userId).catch(() => null));
}

function textChannel(guild: Guild, channelId: string): GuildTextBasedChannel | undefined {
  const channel = guild.channels.cache.get(channelId);
  return channel?.isTextBased() ? channel : undefined;
}

async function runActions(context: BotContext, guild: Guild, settings: GuildSettings, due: readonly DueAction[]): Promise<WaveAction[]> {
  const results: WaveAction[] = [];
  const record = (action: DueAction, outcome: WaveActionOutcome) => results.push({ ...action, outcome });
  const members = new Map<string, GuildMember | null>();
  const memberOf = async (userId: string) => {
    if (!members.has(userId)) members.set(userId, await fetchMember(guild, userId));
    return members.get(userId) ?? null;
  };
  const deletions = new Map<string, DueAction[]>();
  for (const action of due) {
    const channel = textChannel(guild, action.channelId);
    const member = await memberOf(action.authorId);
    if (member !== null && isModerator(member, channel)) {
      record(action, 'moderator');
      continue;
    }
    if (action.kind === 'delete') {
      const me = guild.members.me;
      if (!channel || !me || !channel.permissionsFor(me).has(PermissionFlagsBits.ManageMessages, true)) record(action, 'no-permission');
      else if (settings.waveDryRun) record(action, 'dry-run');
      else deletions.set(channel.id, [...(deletions.get(channel.id) ?? []), action]);
      continue;
    }
    // Timeouts: `moderatable` covers the bot's Moderate Members permission and the role hierarchy.
    if (member === null || !member.moderatable) record(action, 'no-permission');
    else if (settings.waveDryRun) record(action, 'dry-run');
    else {
      try {
        await member.timeout(settings.waveTimeoutMinutes * 60_000, 'Dejavu: spam wave');
        record(action, 'done');
      } catch (error) {
        context.log.warn({ guildId: guild.id, memberId: action.target, err: error }, 'spam wave timeout failed');
        record(action, 'failed');
      }
    }
  }
  for (const [channelId, actions] of deletions) {
    const channel = textChannel(guild, channelId);
    if (!channel) continue;
    for (let start = 0; start < actions.length; start += BULK_DELETE_MAX) {
      const batch = actions.slice(start, start + BULK_DELETE_MAX);
      try {
        if (batch.length === 1) await channel.messages.delete(batch[0]!.target);
        else await channel.bulkDelete(batch.map((action) => action.target), true);
        for (const action of batch) record(action, 'done');
      } catch (error) {
        context.log.warn({ guildId: guild.id, channelId, messages: batch.length, err: error }, 'spam wave deletion failed');
        for (const action of batch) record(action, 'failed');
      }
    }
  }
  return results;
}

/** Edits the wave's alert, or posts it when there is none yet (or it was deleted). */
async function postAlert(context: BotContext, guild: Guild, settings: GuildSettings, wave: WaveState): Promise<WaveAlertRef | null> {
  const channel = settings.logChannelId ? textChannel(guild, settings.logChannelId) : undefined;
  if (!channel) {
    context.log.warn({ guildId: guild.id, logChannelId: settings.logChannelId, waveId: wave.id }, 'log channel missing: spam wave alert not posted');
    return wave.alert;
  }
  const t = translatorFor(settings, null, guild.preferredLocale);
  const content = waveAlertText(t, wave, settings);
  const payload = { content, allowedMentions: { parse: [] } };
  if (wave.alert !== null && wave.alert.channelId === channel.id) {
    try {
      await channel.messages.edit(wave.alert.messageId, payload);
      return wave.alert;
    } catch (error) {
      context.log.info({ guildId: guild.id, waveId: wave.id, err: error }, 'spam wave alert could not be edited; posting it again');
    }
  }
  try {
    const sent = await channel.send(payload);
    context.log.info({ guildId: guild.id, channelId: channel.id, waveId: wave.id, posts: wave.posts.length }, 'spam wave alert posted');
    return { channelId: channel.id, messageId: sent.id };
  } catch (error) {
    context.log.warn({ guildId: guild.id, channelId: channel.id, waveId: wave.id, err: error }, 'spam wave alert not posted');
    return wave.alert;
  }
}
