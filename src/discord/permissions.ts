/**
 * Who may see what. Every answer (slash command, context menu, reaction, duplicate notice, page button)
 * filters its results through these functions, so the rules live in one place:
 *  - a user sees an image only if they can view its channel and read its history (roles + overwrites);
 *  - images from NSFW channels are shown only in NSFW channels;
 *  - a reply everyone in a channel can read links only channels that this whole audience can see.
 */
import {
  ChannelType,
  PermissionFlagsBits,
  PermissionsBitField,
  type GuildBasedChannel,
  type GuildMember,
  type NonThreadGuildBasedChannel,
} from 'discord.js';
import type { ImageRecord } from '../store/types.ts';

/** The two permissions needed to see an image in a channel. */
export const VIEW_PERMISSIONS = PermissionFlagsBits.ViewChannel | PermissionFlagsBits.ReadMessageHistory;

/** Threads take their permissions from the parent channel. */
function baseChannel(channel: GuildBasedChannel): NonThreadGuildBasedChannel | null {
  return channel.isThread() ? channel.parent : channel;
}

/** Whether the member can view the channel and read its history. Private threads also need membership. */
export function canView(member: GuildMember, channel: GuildBasedChannel): boolean {
  if (member.guild.id !== channel.guildId) return false;
  const base = baseChannel(channel);
  if (!base) return false;
  const permissions = base.permissionsFor(member, true);
  if (!permissions?.has(VIEW_PERMISSIONS, true)) return false;
  if (channel.isThread() && channel.type === ChannelType.PrivateThread) {
    return channel.members.cache.has(member.id) || permissions.has(PermissionFlagsBits.ManageThreads, true);
  }
  return true;
}

/** Age-restricted? Threads inherit their parent's flag. */
export function isNsfw(channel: GuildBasedChannel): boolean {
  const base = baseChannel(channel);
  return base !== null && 'nsfw' in base && base.nsfw === true;
}

/** Whether every guild member can view the channel: @everyone may, and no role or member overwrite denies. */
export function isVisibleToEveryone(channel: NonThreadGuildBasedChannel): boolean {
  const everyone = channel.guild.roles.everyone;
  if (!channel.permissionsFor(everyone, true)?.has(VIEW_PERMISSIONS, true)) return false;
  for (const overwrite of channel.permissionOverwrites.cache.values()) {
    if (overwrite.id === everyone.id) continue;
    if (overwrite.deny.any(VIEW_PERMISSIONS)) return false;
  }
  return true;
}

/** Overwrites restricted to the view bits, keyed by role/member id. Identical maps mean identical audiences. */
function viewOverwrites(channel: NonThreadGuildBasedChannel): Map<string, string> {
  const map = new Map<string, string>();
  for (const overwrite of channel.permissionOverwrites.cache.values()) {
    const allow = overwrite.allow.bitfield & VIEW_PERMISSIONS;
    const deny = overwrite.deny.bitfield & VIEW_PERMISSIONS;
    if (allow !== 0n || deny !== 0n) map.set(overwrite.id, `${allow}:${deny}`);
  }
  return map;
}

function sameViewOverwrites(a: NonThreadGuildBasedChannel, b: NonThreadGuildBasedChannel): boolean {
  const left = viewOverwrites(a);
  const right = viewOverwrites(b);
  if (left.size !== right.size) return false;
  for (const [id, bits] of left) if (right.get(id) !== bits) return false;
  return true;
}

/**
 * Whether everyone who can see `audience` (a channel where a public reply is posted) can also see `target`.
 * Sound, not complete: true only when it is certain (same channel, same parent for a public thread,
 * a channel visible to every member, or identical view overwrites).
 */
export function audienceCanSee(audience: GuildBasedChannel, target: GuildBasedChannel): boolean {
  if (audience.guildId !== target.guildId) return false;
  if (audience.id === target.id) return true;
  if (target.isThread() && target.type === ChannelType.PrivateThread) return false;
  if (isNsfw(target) && !isNsfw(audience)) return false;
  const audienceBase = baseChannel(audience);
  const targetBase = baseChannel(target);
  if (!audienceBase || !targetBase) return false;
  if (audienceBase.id === targetBase.id) return true;
  return isVisibleToEveryone(targetBase) || sameViewOverwrites(audienceBase, targetBase);
}


export interface ResultAudience {
  /** The user who asked. */
  asker: GuildMember;
  /** Where the answer appears. */
  replyChannel: GuildBasedChannel;
  /** An ephemeral answer is seen by the asker only; otherwise by the reply channel's whole audience. */
  ephemeral: boolean;
}

/** The one filter every answer applies to its results. */
export function resultFilter({ asker, replyChannel, ephemeral }: ResultAudience): (record: Pick<ImageRecord, 'guildId' | 'channelId'>) => boolean {
  const guild = asker.guild;
  const nsfwAllowed = isNsfw(replyChannel);
  return (record) => {
    if (record.guildId !== guild.id) return false;
    const channel = guild.channels.cache.get(record.channelId);
    if (!channel) return false;
    if (!nsfwAllowed && isNsfw(channel)) return false;
    if (!canView(asker, channel)) return false;
    return ephemeral || audienceCanSee(replyChannel, channel);
  };
}

/** Runtime check for administrative commands (default member permissions can be changed by admins). */
export function canManageGuild(member: GuildMember | null, permissions?: Readonly<PermissionsBitField> | null): boolean {
  const bits = permissions ?? member?.permissions;
  return bits?.has(PermissionFlagsBits.ManageGuild, true) ?? false;
}
