// The fake server's world: users, guilds (roles, channels, members), messages, attachments,
// reactions, interactions, and how each is serialised into the payloads real Discord sends.
import { createHmac, randomBytes } from 'node:crypto';
import { ChannelType, PermissionFlagsBits } from 'discord-api-types/v10';
import type { APIEmbed } from 'discord-api-types/v10';
import { channelPermissions, type PermissionOverwrite, type PermissionSubject } from './permissions.ts';

/** JSON as sent on the wire. Payloads are built as plain objects, like Discord's. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json | undefined };
export type JsonObject = { [key: string]: Json | undefined };

const DISCORD_EPOCH = 1_420_070_400_000n;
let snowflakeCounter = 0n;

/** A real-looking snowflake for `at`; ids created later in the same millisecond sort later. */
export function snowflake(at: number = Date.now()): string {
  snowflakeCounter = (snowflakeCounter + 1n) & 0x3f_ffffn;
  return (((BigInt(Math.floor(at)) - DISCORD_EPOCH) << 22n) | snowflakeCounter).toString();
}

export function snowflakeTime(id: string): Date {
  return new Date(Number((BigInt(id) >> 22n) + DISCORD_EPOCH));
}

export function compareSnowflakes(a: string, b: string): number {
  const difference = BigInt(a) - BigInt(b);
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}

/** @everyone's permissions in a new guild: roughly Discord's defaults. */
export const DEFAULT_EVERYONE_PERMISSIONS =
  PermissionFlagsBits.ViewChannel |
  PermissionFlagsBits.SendMessages |
  PermissionFlagsBits.SendMessagesInThreads |
  PermissionFlagsBits.CreatePublicThreads |
  PermissionFlagsBits.ReadMessageHistory |
  PermissionFlagsBits.AddReactions |
  PermissionFlagsBits.AttachFiles |
  PermissionFlagsBits.EmbedLinks |
  PermissionFlagsBits.UseExternalEmojis |
  PermissionFlagsBits.UseApplicationCommands |
  PermissionFlagsBits.ChangeNickname |
  PermissionFlagsBits.CreateInstantInvite |
  PermissionFlagsBits.Connect |
  PermissionFlagsBits.Speak;

/** The bot's managed role: what an invite link with the usual image-bot scopes grants. */
export const DEFAULT_BOT_PERMISSIONS =
  PermissionFlagsBits.ViewChannel |
  PermissionFlagsBits.SendMessages |
  PermissionFlagsBits.SendMessagesInThreads |
  PermissionFlagsBits.ReadMessageHistory |
  PermissionFlagsBits.AddReactions |
  PermissionFlagsBits.AttachFiles |
  PermissionFlagsBits.EmbedLinks |
  PermissionFlagsBits.UseExternalEmojis;

export interface FakeUser {
  id: string;
  username: string;
  globalName: string | null;
  bot: boolean;
}

export interface FakeRole {
  id: string;
  name: string;
  permissions: bigint;
  position: number;
  managed: boolean;
}

export type ChannelKind = 'text' | 'announcement' | 'forum' | 'media' | 'category' | 'voice' | 'public-thread' | 'private-thread';

const CHANNEL_TYPES: Record<ChannelKind, ChannelType> = {
  text: ChannelType.GuildText,
  announcement: ChannelType.GuildAnnouncement,
  forum: ChannelType.GuildForum,
  media: ChannelType.GuildMedia,
  category: ChannelType.GuildCategory,
  voice: ChannelType.GuildVoice,
  'public-thread': ChannelType.PublicThread,
  'private-thread': ChannelType.PrivateThread,
};

export interface FakeChannel {
  id: string;
  guildId: string;
  type: ChannelType;
  name: string;
  position: number;
  nsfw: boolean;
  topic: string | null;
  parentId: string | null;
  overwrites: PermissionOverwrite[];
  /** Threads only: who started it. */
  ownerId: string | null;
  archived: boolean;
  /** Threads: when it was last archived (or created, while never archived); archived lists sort by it. */
  archivedAt: Date | null;
  /** Threads: users who joined it (private threads are readable by members and by Manage Threads). */
  memberIds: Set<string>;
  lastMessageId: string | null;
}

export interface FakeMember {
  userId: string;
  roleIds: string[];
  nick: string | null;
  joinedAt: Date;
  /** ISO time until which the member is timed out (PATCH …/members/:user), if ever set. */
  communicationDisabledUntil?: string | null;
}

export interface FakeGuildState {
  id: string;
  name: string;
  ownerId: string;
  locale: string;
  roles: Map<string, FakeRole>;
  channels: Map<string, FakeChannel>;
  members: Map<string, FakeMember>;
  joinedAt: Date;
}

export interface StoredAttachment {
  id: string;
  channelId: string;
  filename: string;
  contentType: string | null;
  bytes: Buffer;
  width: number | null;
  height: number | null;
  description: string | null;
  ephemeral: boolean;
  /** `attachments` for message files, `external` for images behind unfurled link embeds. */
  kind: 'attachments' | 'external';
}

export interface StoredReaction {
  emoji: { id: string | null; name: string };
  users: Set<string>;
}

export interface StoredMessage {
  id: string;
  channelId: string;
  guildId: string | null;
  authorId: string;
  content: string;
  embeds: APIEmbed[];
  attachments: StoredAttachment[];
  components: Json[];
  type: number;
  flags: number;
  editedAt: Date | null;
  referencedMessageId: string | null;
  webhookId: string | null;
  interaction: { id: string; type: number; name: string; userId: string } | null;
  ephemeral: boolean;
  deleted: boolean;
  tts: boolean;
  pinned: boolean;
  reactions: Map<string, StoredReaction>;
}

/** What tests see of a message: a snapshot with the attachments' bytes and current signed URLs. */
export interface FakeMessage {
  id: string;
  channelId: string;
  guildId: string | null;
  authorId: string;
  content: string;
  embeds: APIEmbed[];
  attachments: FakeAttachment[];
  components: Json[];
  type: number;
  flags: number;
  createdAt: Date;
  editedAt: Date | null;
  /** The message this one replies to (`message_reference`). */
  referencedMessageId: string | null;
  /** Set for interaction responses and follow-ups. */
  interactionId: string | null;
  ephemeral: boolean;
  deleted: boolean;
  /** `https://discord.com/channels/{guild}/{channel}/{message}` */
  jumpUrl: string;
}

export interface FakeAttachment {
  id: string;
  filename: string;
  contentType: string | null;
  size: number;
  bytes: Buffer;
  width: number | null;
  height: number | null;
  description: string | null;
  /** Signed CDN URL, valid for the server's `attachmentUrlTtlMs` from now. */
  url: string;
  proxyUrl: string;
}

export function emojiKey(emoji: { id: string | null; name: string }): string {
  return emoji.id ? `${emoji.name}:${emoji.id}` : emoji.name;
}

/** Parses a reaction route segment (`🔍`, `name:id`, `a:name:id`) or a test's emoji string. */
export function parseEmoji(text: string): { id: string | null; name: string } {
  const custom = /^(?:a:)?([\w~]+):(\d+)$/.exec(text);
  return custom ? { name: custom[1] ?? '', id: custom[2] ?? null } : { id: null, name: text };
}

export function channelKindType(kind: ChannelKind | ChannelType | undefined): ChannelType {
  if (kind === undefined) return ChannelType.GuildText;
  return typeof kind === 'number' ? kind : CHANNEL_TYPES[kind];
}

/** Forum and media channels hold no messages of their own: every post is a thread. */
export function isThreadOnly(channel: FakeChannel): boolean {
  return channel.type === ChannelType.GuildForum || channel.type === ChannelType.GuildMedia;
}

export function isThread(channel: FakeChannel): boolean {
  return (
    channel.type === ChannelType.PublicThread ||
    channel.type === ChannelType.PrivateThread ||
    channel.type === ChannelType.AnnouncementThread
  );
}

export interface UrlSigner {
  cdnUrl: string;
  mediaUrl: string;
  ttlMs: number;
}

/**
 * Everything the fake knows, plus the serialisers to Discord's payload shapes. Actions that also
 * dispatch gateway events live on FakeDiscord; this class only holds and renders state.
 */
export class DiscordState {
  readonly users = new Map<string, FakeUser>();
  readonly guilds = new Map<string, FakeGuildState>();
  /** Every channel of every guild, threads included, by id. */
  readonly channels = new Map<string, FakeChannel>();
  /** Every message by id, ephemeral interaction responses included. */
  readonly messages = new Map<string, StoredMessage>();
  /** Channel id → its non-ephemeral messages, oldest first. */
  readonly history = new Map<string, StoredMessage[]>();
  readonly attachments = new Map<string, StoredAttachment>();
  readonly interactions = new Map<string, StoredInteraction>();
  /** The shard count `GET /gateway/bot` recommends. */
  shardCount = 1;
  private signingKey = randomBytes(32);

  constructor(
    readonly botUser: FakeUser,
    readonly applicationId: string,
    private readonly urls: UrlSigner,
  ) {
    this.users.set(botUser.id, botUser);
  }

  // ---- lookups ------------------------------------------------------------------------------

  user(id: string): FakeUser {
    const user = this.users.get(id);
    if (!user) throw new Error(`fake-discord: unknown user ${id} (add it with addUser first)`);
    return user;
  }

  guild(id: string): FakeGuildState {
    const guild = this.guilds.get(id);
    if (!guild) throw new Error(`fake-discord: unknown guild ${id}`);
    return guild;
  }

  channel(id: string): FakeChannel {
    const channel = this.channels.get(id);
    if (!channel) throw new Error(`fake-discord: unknown channel ${id}`);
    return channel;
  }

  message(id: string): StoredMessage {
    const message = this.messages.get(id);
    if (!message) throw new Error(`fake-discord: unknown message ${id}`);
    return message;
  }

  /** Threads take their permissions from their parent channel. */
  permissionChannel(channel: FakeChannel): FakeChannel {
    return isThread(channel) && channel.parentId ? (this.channels.get(channel.parentId) ?? channel) : channel;
  }

  permissionSubject(guild: FakeGuildState, userId: string): PermissionSubject {
    const member = guild.members.get(userId);
    const rolePermissions = new Map<string, bigint>();
    for (const role of guild.roles.values()) rolePermissions.set(role.id, role.permissions);
    return { guildId: guild.id, ownerId: guild.ownerId, userId, memberRoleIds: member?.roleIds ?? [], rolePermissions };
  }

  /** Effective permissions of `userId` in `channelId` (0 when not a member). */
  permissionsIn(channelId: string, userId: string): bigint {
    const channel = this.channel(channelId);
    const guild = this.guild(channel.guildId);
    if (!guild.members.has(userId)) return 0n;
    return channelPermissions(this.permissionSubject(guild, userId), this.permissionChannel(channel).overwrites);
  }

  channelHistory(channelId: string): StoredMessage[] {
    let list = this.history.get(channelId);
    if (!list) {
      list = [];
      this.history.set(channelId, list);
    }
    return list;
  }

  /** Inserts in id order (messages may be created with past timestamps to seed history). */
  storeMessage(message: StoredMessage): void {
    this.messages.set(message.id, message);
    for (const attachment of message.attachments) this.attachments.set(attachment.id, attachment);
    if (message.ephemeral) return;
    const list = this.channelHistory(message.channelId);
    let index = list.length;
    while (index > 0 && compareSnowflakes(list[index - 1]?.id ?? '0', message.id) > 0) index -= 1;
    list.splice(index, 0, message);
    const channel = this.channels.get(message.channelId);
    if (channel && (!channel.lastMessageId || compareSnowflakes(channel.lastMessageId, message.id) < 0)) {
      channel.lastMessageId = message.id;
    }
  }

  removeMessage(message: StoredMessage): void {
    message.deleted = true;
    const list = this.history.get(message.channelId);
    if (list) {
      const index = list.indexOf(message);
      if (index >= 0) list.splice(index, 1);
    }
    for (const attachment of message.attachments) this.attachments.delete(attachment.id);
  }

  // ---- CDN URLs -----------------------------------------------------------------------------

  attachmentPath(attachment: StoredAttachment): string {
    return attachment.kind === 'external'
      ? `/external/${attachment.id}/${encodeURIComponent(attachment.filename)}`
      : `/attachments/${attachment.channelId}/${attachment.id}/${encodeURIComponent(attachment.filename)}`;
  }

  /** `?ex=&is=&hm=` like Discord: hex expiry and issue times, and an HMAC over path and times. */
  signedQuery(path: string, now: number = Date.now()): string {
    const issued = Math.floor(now / 1000);
    const expires = Math.floor((now + this.urls.ttlMs) / 1000);
    const ex = expires.toString(16);
    const is = issued.toString(16);
    return `ex=${ex}&is=${is}&hm=${this.signature(path, ex, is)}&`;
  }

  /** Every URL signed so far stops working (like Discord's expiry, without waiting a day). */
  rotateSigningKey(): void {
    this.signingKey = randomBytes(32);
  }

  private signature(path: string, ex: string, is: string): string {
    return createHmac('sha256', this.signingKey).update(`${path}|${ex}|${is}`).digest('hex');
  }

  /** Checks the signature and expiry of a CDN or media URL's query. */
  verifySignedQuery(path: string, query: URLSearchParams, now: number = Date.now()): boolean {
    const ex = query.get('ex');
    const is = query.get('is');
    const hm = query.get('hm');
    if (!ex || !is || !hm || hm !== this.signature(path, ex, is)) return false;
    return Number.parseInt(ex, 16) * 1000 >= now;
  }

  attachmentUrl(attachment: StoredAttachment): string {
    const path = this.attachmentPath(attachment);
    return `${this.urls.cdnUrl}${path}?${this.signedQuery(path)}`;
  }

  attachmentProxyUrl(attachment: StoredAttachment): string {
    const path = this.attachmentPath(attachment);
    return `${this.urls.mediaUrl}${path}?${this.signedQuery(path)}`;
  }

  // ---- payloads -----------------------------------------------------------------------------

  apiUser(user: FakeUser): JsonObject {
    return {
      id: user.id,
      username: user.username,
      discriminator: '0',
      global_name: user.globalName,
      avatar: null,
      bot: user.bot || undefined,
      public_flags: 0,
      flags: 0,
      banner: null,
      accent_color: null,
      avatar_decoration_data: null,
    };
  }

  apiRole(role: FakeRole): JsonObject {
    return {
      id: role.id,
      name: role.name,
      color: 0,
      colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      icon: null,
      unicode_emoji: null,
      position: role.position,
      permissions: role.permissions.toString(),
      managed: role.managed,
      mentionable: false,
      flags: 0,
      tags: role.managed ? { bot_id: this.botUser.id } : undefined,
    };
  }

  /** A guild member; `withUser` false for MESSAGE_CREATE's `member` (Discord omits it there). */
  apiMember(guild: FakeGuildState, member: FakeMember, withUser = true): JsonObject {
    return {
      user: withUser ? this.apiUser(this.user(member.userId)) : undefined,
      nick: member.nick,
      avatar: null,
      banner: null,
      roles: [...member.roleIds],
      joined_at: member.joinedAt.toISOString(),
      premium_since: null,
      deaf: false,
      mute: false,
      flags: 0,
      pending: false,
      communication_disabled_until: member.communicationDisabledUntil ?? null,
    };
  }

  apiChannel(channel: FakeChannel): JsonObject {
    const base: JsonObject = {
      id: channel.id,
      type: channel.type,
      guild_id: channel.guildId,
      name: channel.name,
      parent_id: channel.parentId,
      nsfw: channel.nsfw,
      flags: 0,
    };
    if (isThread(channel)) {
      const messages = this.history.get(channel.id) ?? [];
      return {
        ...base,
        owner_id: channel.ownerId,
        last_message_id: channel.lastMessageId,
        rate_limit_per_user: 0,
        message_count: messages.length,
        member_count: 1,
        total_message_sent: messages.length,
        thread_metadata: {
          archived: channel.archived,
          auto_archive_duration: 1440,
          archive_timestamp: (channel.archivedAt ?? snowflakeTime(channel.id)).toISOString(),
          locked: false,
          create_timestamp: snowflakeTime(channel.id).toISOString(),
          invitable: channel.type === ChannelType.PrivateThread ? true : undefined,
        },
        applied_tags: [],
        // Discord adds the current user's thread member to threads it joined (GUILD_CREATE, thread lists).
        member: channel.memberIds.has(this.botUser.id) ? this.apiThreadMember(channel, this.botUser.id) : undefined,
      };
    }
    return {
      ...base,
      position: channel.position,
      permission_overwrites: channel.overwrites.map((overwrite) => ({
        id: overwrite.id,
        type: overwrite.type,
        allow: overwrite.allow.toString(),
        deny: overwrite.deny.toString(),
      })),
      topic: channel.topic,
      last_message_id: channel.type === ChannelType.GuildCategory ? undefined : channel.lastMessageId,
      rate_limit_per_user: 0,
      ...(isThreadOnly(channel)
        ? { available_tags: [], default_reaction_emoji: null, default_sort_order: null, default_forum_layout: 0, default_thread_rate_limit_per_user: 0 }
        : {}),
      ...(channel.type === ChannelType.GuildVoice ? { bitrate: 64000, user_limit: 0, rtc_region: null } : {}),
    };
  }

  apiThreadMember(thread: FakeChannel, userId: string): JsonObject {
    return { id: thread.id, user_id: userId, join_timestamp: snowflakeTime(thread.id).toISOString(), flags: 0 };
  }

  apiGuild(guild: FakeGuildState): JsonObject {
    return {
      id: guild.id,
      name: guild.name,
      icon: null,
      icon_hash: null,
      splash: null,
      discovery_splash: null,
      owner_id: guild.ownerId,
      region: 'deprecated',
      afk_channel_id: null,
      afk_timeout: 300,
      widget_enabled: false,
      widget_channel_id: null,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      roles: [...guild.roles.values()].map((role) => this.apiRole(role)),
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: null,
      system_channel_flags: 0,
      rules_channel_id: null,
      max_presences: null,
      max_members: 500000,
      vanity_url_code: null,
      description: null,
      banner: null,
      premium_tier: 0,
      premium_subscription_count: 0,
      preferred_locale: guild.locale,
      public_updates_channel_id: null,
      max_video_channel_users: 25,
      max_stage_video_channel_users: 50,
      nsfw_level: 0,
      premium_progress_bar_enabled: false,
      safety_alerts_channel_id: null,
      incidents_data: null,
      hub_type: null,
    };
  }

  /** The full GUILD_CREATE: members only include everyone with the GuildMembers intent, else just the bot. */
  apiGuildCreate(guild: FakeGuildState, includeAllMembers: boolean): JsonObject {
    const members = [...guild.members.values()].filter((member) => includeAllMembers || member.userId === this.botUser.id);
    const channels = [...guild.channels.values()];
    return {
      ...this.apiGuild(guild),
      joined_at: guild.joinedAt.toISOString(),
      large: false,
      unavailable: false,
      member_count: guild.members.size,
      voice_states: [],
      members: members.map((member) => this.apiMember(guild, member)),
      channels: channels.filter((channel) => !isThread(channel)).map((channel) => this.apiChannel(channel)),
      threads: channels.filter((channel) => isThread(channel) && !channel.archived).map((channel) => this.apiChannel(channel)),
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
      lazy: true,
    };
  }

  apiAttachment(attachment: StoredAttachment): JsonObject {
    const isImage = attachment.width !== null && attachment.height !== null;
    return {
      id: attachment.id,
      filename: attachment.filename,
      description: attachment.description ?? undefined,
      content_type: attachment.contentType ?? undefined,
      size: attachment.bytes.length,
      url: this.attachmentUrl(attachment),
      proxy_url: this.attachmentProxyUrl(attachment),
      width: isImage ? attachment.width : undefined,
      height: isImage ? attachment.height : undefined,
      placeholder: isImage ? randomBytes(18).toString('base64') : undefined,
      placeholder_version: isImage ? 1 : undefined,
      ephemeral: attachment.ephemeral || undefined,
      flags: 0,
    };
  }

  /**
   * A message as REST returns it, or as MESSAGE_CREATE/UPDATE carries it (`forGateway`: adds
   * guild_id and the author's member). `withContent` false mimics a missing MessageContent intent.
   */
  apiMessage(message: StoredMessage, options: { forGateway?: boolean; withContent?: boolean; nested?: boolean } = {}): JsonObject {
    const withContent = options.withContent ?? true;
    const guild = message.guildId ? this.guilds.get(message.guildId) : undefined;
    const member = guild?.members.get(message.authorId);
    const reference = message.referencedMessageId ? this.messages.get(message.referencedMessageId) : undefined;
    const reactions = [...message.reactions.values()].filter((reaction) => reaction.users.size > 0);
    const payload: JsonObject = {
      id: message.id,
      channel_id: message.channelId,
      guild_id: options.forGateway && message.guildId ? message.guildId : undefined,
      author: this.apiUser(this.user(message.authorId)),
      member: options.forGateway && guild && member && !message.webhookId ? this.apiMember(guild, member, false) : undefined,
      content: withContent ? message.content : '',
      timestamp: snowflakeTime(message.id).toISOString(),
      edited_timestamp: message.editedAt ? message.editedAt.toISOString() : null,
      tts: message.tts,
      mention_everyone: false,
      mentions: withContent ? this.mentionedUsers(message, guild, options.forGateway ?? false) : [],
      mention_roles: [],
      mention_channels: undefined,
      attachments: withContent ? message.attachments.map((attachment) => this.apiAttachment(attachment)) : [],
      embeds: withContent ? (this.resolveEmbeds(message) as Json[]) : [],
      reactions: reactions.length
        ? reactions.map((reaction) => ({
            count: reaction.users.size,
            count_details: { burst: 0, normal: reaction.users.size },
            me: reaction.users.has(this.botUser.id),
            me_burst: false,
            burst_colors: [],
            emoji: { id: reaction.emoji.id, name: reaction.emoji.name },
          }))
        : undefined,
      pinned: message.pinned,
      type: message.type,
      flags: message.flags,
      components: withContent ? message.components : [],
      webhook_id: message.webhookId ?? undefined,
      application_id: message.webhookId ? this.applicationId : undefined,
      message_reference: message.referencedMessageId
        ? { type: 0, message_id: message.referencedMessageId, channel_id: reference?.channelId ?? message.channelId, guild_id: message.guildId ?? undefined }
        : undefined,
      referenced_message:
        message.referencedMessageId && !options.nested
          ? reference && !reference.deleted
            ? this.apiMessage(reference, { nested: true, withContent })
            : null
          : undefined,
      interaction_metadata: message.interaction
        ? {
            id: message.interaction.id,
            type: message.interaction.type,
            user: this.apiUser(this.user(message.interaction.userId)),
            authorizing_integration_owners: message.guildId ? { '0': message.guildId } : {},
            name: message.interaction.name,
          }
        : undefined,
      position: (() => {
        const channel = this.channels.get(message.channelId);
        return channel && isThread(channel) ? this.channelHistory(channel.id).indexOf(message) : undefined;
      })(),
    };
    return payload;
  }

  /**
   * Embeds as Discord returns them: `attachment://name` image/thumbnail URLs become the
   * attachment's CDN URL with proxy_url and size (the attachment stays in `attachments` too).
   */
  resolveEmbeds(message: StoredMessage): APIEmbed[] {
    return message.embeds.map((embed) => {
      const resolved = structuredClone(embed);
      for (const key of ['image', 'thumbnail'] as const) {
        const media = resolved[key];
        const name = media?.url.startsWith('attachment://') ? media.url.slice('attachment://'.length) : undefined;
        const attachment = name ? message.attachments.find((candidate) => candidate.filename === name) : undefined;
        if (media && attachment) {
          resolved[key] = {
            ...media,
            url: this.attachmentUrl(attachment),
            proxy_url: this.attachmentProxyUrl(attachment),
            width: attachment.width ?? undefined,
            height: attachment.height ?? undefined,
          };
        }
      }
      return resolved;
    });
  }

  /** `<@id>` mentions of known users, each with its member on the gateway like Discord. */
  private mentionedUsers(message: StoredMessage, guild: FakeGuildState | undefined, withMember: boolean): Json[] {
    const ids = new Set([...message.content.matchAll(/<@!?(\d+)>/g)].map((match) => match[1] ?? ''));
    return [...ids]
      .map((id) => this.users.get(id))
      .filter((user): user is FakeUser => user !== undefined)
      .map((user) => {
        const member = guild?.members.get(user.id);
        return { ...this.apiUser(user), member: withMember && guild && member ? this.apiMember(guild, member, false) : undefined };
      });
  }

  view(message: StoredMessage): FakeMessage {
    return {
      id: message.id,
      channelId: message.channelId,
      guildId: message.guildId,
      authorId: message.authorId,
      content: message.content,
      embeds: this.resolveEmbeds(message),
      attachments: message.attachments.map((attachment) => ({
        id: attachment.id,
        filename: attachment.filename,
        contentType: attachment.contentType,
        size: attachment.bytes.length,
        bytes: attachment.bytes,
        width: attachment.width,
        height: attachment.height,
        description: attachment.description,
        url: this.attachmentUrl(attachment),
        proxyUrl: this.attachmentProxyUrl(attachment),
      })),
      components: structuredClone(message.components),
      type: message.type,
      flags: message.flags,
      createdAt: snowflakeTime(message.id),
      editedAt: message.editedAt,
      referencedMessageId: message.referencedMessageId,
      interactionId: message.interaction?.id ?? null,
      ephemeral: message.ephemeral,
      deleted: message.deleted,
      jumpUrl: `https://discord.com/channels/${message.guildId ?? '@me'}/${message.channelId}/${message.id}`,
    };
  }
}

/** One interaction the fake sent, and everything the bot answered to it. */
export interface StoredInteraction {
  id: string;
  token: string;
  /** 2 application command, 3 message component, 5 modal submit. */
  type: number;
  /** Command name or component custom_id. */
  name: string;
  /** 1 chat input, 2 user, 3 message context menu; null for components. */
  commandType: number | null;
  guildId: string;
  channelId: string;
  userId: string;
  createdAt: number;
  /** The message a component was clicked on. */
  componentMessageId: string | null;
  callbacks: Array<{ type: number; body: JsonObject; files: UploadedFile[]; at: Date }>;
  originalMessageId: string | null;
  /** Every PATCH of the original or of a follow-up, in order. */
  edits: Array<{ messageId: string; body: JsonObject; files: UploadedFile[]; at: Date }>;
  followUpIds: string[];
}

/** A file the bot uploaded in a multipart request. */
export interface UploadedFile {
  /** The form field (`files[0]`). */
  field: string;
  filename: string;
  contentType: string | null;
  bytes: Buffer;
  /** The message it was attached to, once stored. */
  messageId: string | null;
  route: string;
  at: Date;
}
