/**
 * A fake Discord for end-to-end tests: gateway v10 (WebSocket), REST v10, CDN and media proxy on
 * 127.0.0.1, speaking the real protocol so that an unmodified discord.js 14 client runs against
 * it. It is the only fake in this project: tests drive users' actions through it and assert on
 * what the bot did through its records.
 *
 * ```ts
 * const fake = await startFakeDiscord();
 * const alice = fake.addUser({ username: 'alice' });
 * const guild = fake.addGuild({
 *   name: 'Test', ownerId: alice.id,
 *   roles: [{ name: 'Members' }],
 *   channels: [
 *     { name: 'general' },
 *     { name: 'secret', overwrites: [{ everyone: true, deny: PermissionFlagsBits.ViewChannel }, { role: 'Members', allow: PermissionFlagsBits.ViewChannel }] },
 *     { name: 'lewd', nsfw: true },
 *   ],
 *   members: [{ userId: alice.id, roles: ['Members'] }],
 * });
 * const client = new Client({ intents, partials, rest: { api: fake.apiUrl } });
 * await client.login(fake.token);                                    // READY + GUILD_CREATE
 * const posted = await fake.postMessage({ channelId: guild.channelId('general'), authorId: alice.id,
 *   attachments: [{ filename: 'cat.png', bytes: png }] });           // MESSAGE_CREATE, bytes on the CDN
 * const reply = await fake.waitFor(() => fake.botMessages(posted.channelId).find((m) => m.referencedMessageId === posted.id));
 * const slash = await fake.sendSlashCommand({ channelId: posted.channelId, userId: alice.id, name: 'similar',
 *   options: [{ name: 'image', attachment: { filename: 'q.png', bytes: png } }, { name: 'count', value: 3 }] });
 * const answer = await fake.waitFor(() => fake.interactionResponses(slash.id).original?.embeds.length ? fake.interactionResponses(slash.id) : undefined);
 * fake.injectFailure({ route: '/channels/:channel/messages', method: 'POST', status: 429 });
 * client.destroy(); await fake.close();
 * ```
 *
 * Other actions: addChannel, addMember, setMemberRoles, setRolePermissions, updateChannel,
 * editMessage (also `unfurl` embeds later), deleteMessage, bulkDelete, deleteChannel,
 * removeBotFromGuild, addReaction/removeReaction, imageEmbed, sendMessageContextCommand,
 * sendComponentInteraction (sendButton), reconnectGateway, dropGatewayConnections,
 * invalidateAttachmentUrls, injectFailure (REST 429/5xx), injectCdnFailure (status or delay),
 * redirectUrl. Seed history with `postMessage({ createdAt, dispatch: false })`.
 * Records: requests, requestsTo, cdnRequests, uploadedFiles, messagesIn, message, botMessages,
 * interactionResponses, reactionsOn, commands, gatewaySessions, identifies, permissionsIn,
 * onBotMessage (push-style, for benchmarks), waitFor.
 * Hosts: everything is on 127.0.0.1; `cdnHost` (`127.0.0.1:port`) is the bot's CDN_ALLOWED_HOSTS entry. Destroy discord.js clients before `close()`.
 *
 * Why package.json pins undici 6: discord.js 14 uses undici 6, and the process-wide undici dispatcher
 * is installed by whichever undici loads first. With a second copy (undici 7) imported before
 * discord.js, every discord.js multipart request (replies or edits with files) failed with
 * "TypeError: action is not a function", against real Discord too. One shared copy avoids it.
 *
 * Realism notes: REST checks the bot's channel permissions (50001 Missing Access, 50013 Missing
 * Permissions) and validates bodies like Discord (content ≤ 2000, embed limits and URL schemes,
 * `attachment://` resolved, unique custom_ids, command names/locales/option order); GUILD_CREATE
 * lists all members only with the GuildMembers intent; messages lose content/attachments/embeds
 * without MessageContent; attachment URLs are signed and expire; interaction callbacks after
 * `interactionAckTimeoutMs` (3 s) fail with 10062; the first follow-up after an unedited deferral
 * replaces the loading message; slash options are checked against the deployed definition;
 * `Retry-After` is only ever sent on a 429.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationCommandOptionType, ApplicationCommandType, ChannelType, GatewayIntentBits, PermissionFlagsBits } from 'discord-api-types/v10';
import type { APIEmbed } from 'discord-api-types/v10';
import { Dispatcher } from './events.ts';
import { Gateway, type GatewaySessionInfo } from './gateway.ts';
import { contentTypeFromFilename, imageDimensions, proxyRendition } from './media.ts';
import { RestApi, type BotMessageChange, type FailureInjection, type RecordedRequest } from './rest.ts';
import {
  DEFAULT_BOT_PERMISSIONS,
  DEFAULT_EVERYONE_PERMISSIONS,
  DiscordState,
  channelKindType,
  emojiKey,
  isThread,
  isThreadOnly,
  parseEmoji,
  snowflake,
  type ChannelKind,
  type FakeChannel,
  type FakeGuildState,
  type FakeMessage,
  type FakeUser,
  type Json,
  type JsonObject,
  type StoredAttachment,
  type StoredInteraction,
  type StoredMessage,
  type UploadedFile,
} from './state.ts';

export type { FakeMessage, FakeAttachment, FakeUser, FakeChannel, UploadedFile, Json, JsonObject } from './state.ts';
export type { RecordedRequest, FailureInjection, BotMessageChange } from './rest.ts';
export type { GatewaySessionInfo } from './gateway.ts';
export type { ChannelKind } from './state.ts';

export interface FakeDiscordOptions {
  /** The bot token the gateway and REST accept (default: a random realistic-looking token). */
  token?: string;
  botUsername?: string;
  /** Application id, also the bot user's id (default: a fresh snowflake). */
  applicationId?: string;
  /** HELLO's heartbeat_interval (default 41250 ms, Discord's). */
  heartbeatIntervalMs?: number;
  /** Shard count recommended by GET /gateway/bot (default 1). */
  shards?: number;
  /** Initial interaction responses later than this fail with 10062 (default 3000). */
  interactionAckTimeoutMs?: number;
  /** Interaction webhook tokens expire after this (default 15 min). */
  interactionTokenTtlMs?: number;
  /** How long signed CDN URLs stay valid (default 24 h). */
  attachmentUrlTtlMs?: number;
  /** Per-route bucket: `limit` requests per `windowMs` (default 50 per 1000 ms), 429 beyond if `enforce` (default true). */
  rateLimit?: { limit?: number; windowMs?: number; enforce?: boolean };
  /** Intents the application may use (default all, privileged included); others close with 4014. */
  allowedIntents?: number;
  /** Upload limit per file (default 10 MiB, Discord's for unboosted guilds). */
  maxUploadBytes?: number;
}

export interface OverwriteSpec {
  /** The @everyone overwrite. */
  everyone?: true;
  /** A role name or id of this guild. */
  role?: string;
  userId?: string;
  allow?: bigint;
  deny?: bigint;
}

export interface ChannelSpec {
  id?: string;
  name: string;
  /** Default `text`. Threads need `parent`. */
  type?: ChannelKind | ChannelType;
  nsfw?: boolean;
  topic?: string;
  /** Category (for channels) or parent channel (for threads), by name or id. */
  parent?: string;
  overwrites?: OverwriteSpec[];
  /** Threads: the user who started it (default: the guild owner). */
  ownerId?: string;
  archived?: boolean;
  /** Threads: when it was archived (default: its creation time); archived-thread lists sort by it. */
  archivedAt?: Date;
  /** Threads: users who joined it (the owner always has); the bot's own user id makes it joined by the bot. */
  members?: string[];
}

export interface MemberSpec {
  userId: string;
  /** Role names or ids. */
  roles?: string[];
  nick?: string;
}

export interface GuildSpec {
  id?: string;
  name: string;
  ownerId: string;
  /** preferred_locale (default en-US). */
  locale?: string;
  /** @everyone's permissions (default: Discord-like defaults incl. ViewChannel, SendMessages, ReadMessageHistory). */
  everyonePermissions?: bigint;
  roles?: Array<{ id?: string; name: string; permissions?: bigint }>;
  channels?: ChannelSpec[];
  members?: MemberSpec[];
  /** The bot's managed role permissions (default: view, send, history, reactions, files, embeds). */
  botPermissions?: bigint;
  /** Extra roles (names or ids) for the bot's member. */
  botRoles?: string[];
}

export interface AttachmentSpec {
  filename: string;
  /** Default: guessed from the file name, like Discord does. */
  contentType?: string;
  bytes: Buffer | Uint8Array;
  /** Default: read from the image; pass to lie about it. */
  width?: number;
  height?: number;
  description?: string;
}

export interface PostMessageSpec {
  channelId: string;
  authorId: string;
  content?: string;
  attachments?: AttachmentSpec[];
  embeds?: APIEmbed[];
  components?: Json[];
  /** Reply to this message (message_reference). */
  replyTo?: string;
  /** Backdate the message (its snowflake encodes the time), e.g. to seed history. */
  createdAt?: Date;
  /** Explicit id, e.g. a forum post's starter message shares the thread's id. */
  id?: string;
  /** Default true; false stores it silently (history the bot must backfill). */
  dispatch?: boolean;
}

export interface EditMessageSpec {
  messageId: string;
  content?: string;
  embeds?: APIEmbed[];
  /** Keep only these attachments (e.g. `[]` removes them all). */
  keepAttachmentIds?: string[];
  /** Discord's late link unfurl: embeds change but edited_timestamp does not. */
  unfurl?: boolean;
  dispatch?: boolean;
}

export interface SlashOption {
  name: string;
  /**
   * Taken from the deployed command's definition when it exists (then unknown option names,
   * undeclared choices and out-of-range values throw, as Discord's client would not send them),
   * else inferred: string 3, integer 4, number 10, boolean 5, attachment 11, nested options 1.
   * User/channel/role options (value = id) get their `resolved` objects.
   */
  type?: ApplicationCommandOptionType;
  value?: string | number | boolean;
  attachment?: AttachmentSpec;
  options?: SlashOption[];
}

interface InteractionBase {
  channelId: string;
  userId: string;
  /** The user's client locale (default en-US). */
  locale?: string;
}

export interface SlashCommandSpec extends InteractionBase {
  name: string;
  options?: SlashOption[];
}

export interface MessageContextSpec extends InteractionBase {
  name: string;
  targetMessageId: string;
}

export interface ComponentInteractionSpec {
  messageId: string;
  userId: string;
  customId: string;
  /** 2 button (default), 3 string select, … */
  componentType?: number;
  values?: string[];
  locale?: string;
}

export interface FakeInteraction {
  id: string;
  token: string;
  /** The INTERACTION_CREATE payload as sent. */
  payload: JsonObject;
}

export interface InteractionResponses {
  interactionId: string;
  acknowledged: boolean;
  /** Time from dispatch to the first callback. */
  ackLatencyMs: number | null;
  callbacks: StoredInteraction['callbacks'];
  /** The original response as it is now (after all edits), for type 4/5 (and 6/7: the component's message). */
  original: FakeMessage | null;
  edits: StoredInteraction['edits'];
  /**
   * Messages returned by follow-ups. Like Discord, the first follow-up after a deferral that was
   * never edited replaces the loading message, so it can be the original itself.
   */
  followUps: FakeMessage[];
}

export interface CdnFailureInjection {
  /** Tested on the CDN path (`/attachments/{channel}/{id}/{file}`): a substring (e.g. an attachment id) or a RegExp. Default: any. */
  match?: string | RegExp;
  /** Answer with this status instead of the bytes (e.g. 503, 500, 404). */
  status?: number;
  /** Wait this long before answering (to trip the bot's download timeout). */
  delayMs?: number;
  /** How many matching requests (default 1). */
  count?: number;
}

export interface CdnRequest {
  host: 'cdn' | 'media';
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  bytes: number;
  at: Date;
}

/** Looks up roles by name or id, and channels by name or id, of one guild. */
export class FakeGuild {
  constructor(private readonly state: FakeGuildState) {}

  get id(): string {
    return this.state.id;
  }

  get name(): string {
    return this.state.name;
  }

  /** @everyone's id (= the guild id). */
  get everyoneRoleId(): string {
    return this.state.id;
  }

  roleId(nameOrId: string): string {
    const role = [...this.state.roles.values()].find((candidate) => candidate.name === nameOrId || candidate.id === nameOrId);
    if (!role) throw new Error(`fake-discord: guild ${this.state.name} has no role ${nameOrId}`);
    return role.id;
  }

  channelId(nameOrId: string): string {
    return this.channel(nameOrId).id;
  }

  channel(nameOrId: string): FakeChannel {
    const channel = this.state.channels.get(nameOrId) ?? [...this.state.channels.values()].find((candidate) => candidate.name === nameOrId);
    if (!channel) throw new Error(`fake-discord: guild ${this.state.name} has no channel ${nameOrId}`);
    return channel;
  }
}

const ALL_INTENTS = Object.values(GatewayIntentBits).filter((value): value is number => typeof value === 'number').reduce((all, bit) => all | bit, 0);

function botToken(userId: string): string {
  return `${Buffer.from(userId).toString('base64url')}.${randomBytes(4).toString('base64url')}.${randomBytes(27).toString('base64url')}`;
}

export class FakeDiscord {
  readonly apiUrl: string;
  readonly cdnUrl: string;
  readonly mediaUrl: string;
  readonly gatewayUrl: string;
  /** `127.0.0.1:port`: what the bot's CDN host allow-list must contain. */
  readonly cdnHost: string;
  readonly token: string;
  readonly applicationId: string;
  readonly botUser: FakeUser;
  readonly cdnRequests: CdnRequest[] = [];
  private readonly cdnFailures: Array<CdnFailureInjection & { remaining: number }> = [];
  private readonly redirects = new Map<string, { target: string; status: number }>();

  private readonly state: DiscordState;
  private readonly gateway: Gateway;
  private readonly rest: RestApi;
  private readonly events: Dispatcher;
  private readonly listeners = new Set<() => void>();
  private readonly botMessageListeners = new Set<(message: FakeMessage, change: BotMessageChange) => void>();
  private closed = false;

  constructor(
    private readonly server: Server,
    port: number,
    options: FakeDiscordOptions,
  ) {
    const origin = `http://127.0.0.1:${port}`;
    this.apiUrl = `${origin}/api`;
    this.cdnUrl = `${origin}/cdn`;
    this.mediaUrl = `${origin}/media`;
    this.gatewayUrl = `ws://127.0.0.1:${port}/gateway`;
    this.cdnHost = `127.0.0.1:${port}`;
    this.applicationId = options.applicationId ?? snowflake();
    this.token = options.token ?? botToken(this.applicationId);
    this.botUser = { id: this.applicationId, username: options.botUsername ?? 'Dejavu', globalName: null, bot: true };
    const allowedIntents = options.allowedIntents ?? ALL_INTENTS;
    this.state = new DiscordState(this.botUser, this.applicationId, {
      cdnUrl: this.cdnUrl,
      mediaUrl: this.mediaUrl,
      ttlMs: options.attachmentUrlTtlMs ?? 24 * 60 * 60 * 1000,
    });
    this.state.shardCount = options.shards ?? 1;
    const notify = (): void => this.notify();
    this.gateway = new Gateway(
      this.state,
      { token: this.token, url: this.gatewayUrl, heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250, shardCount: this.state.shardCount, allowedIntents },
      notify,
    );
    this.events = new Dispatcher(this.state, this.gateway);
    this.rest = new RestApi(
      this.state,
      this.events,
      {
        token: this.token,
        applicationId: this.applicationId,
        interactionAckTimeoutMs: options.interactionAckTimeoutMs ?? 3000,
        interactionTokenTtlMs: options.interactionTokenTtlMs ?? 15 * 60 * 1000,
        rateLimit: { limit: options.rateLimit?.limit ?? 50, windowMs: options.rateLimit?.windowMs ?? 1000, enforce: options.rateLimit?.enforce ?? true },
        allowedIntents,
        maxUploadBytes: options.maxUploadBytes ?? 10 * 1024 * 1024,
      },
      this.gatewayUrl,
      notify,
      (message, change) => {
        const view = this.state.view(message);
        for (const listener of [...this.botMessageListeners]) listener(view, change);
      },
    );
    this.server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      this.onRequest(request, response).catch((error: unknown) => {
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ message: `fake-discord internal error: ${String(error)}`, code: 0 }));
      });
    });
    this.server.on('upgrade', (request: IncomingMessage, socket, head: Buffer) => {
      if (new URL(request.url ?? '/', 'http://localhost').pathname === '/gateway') this.gateway.handleUpgrade(request, socket, head);
      else socket.destroy();
    });
  }

  // ---- world building -----------------------------------------------------------------------

  addUser(spec: { id?: string; username: string; globalName?: string; bot?: boolean }): FakeUser {
    const user: FakeUser = { id: spec.id ?? snowflake(), username: spec.username, globalName: spec.globalName ?? null, bot: spec.bot ?? false };
    this.state.users.set(user.id, user);
    return user;
  }

  /** Creates a guild with the bot in it; dispatches GUILD_CREATE to connected sessions (the bot joins). */
  addGuild(spec: GuildSpec): FakeGuild {
    const id = spec.id ?? snowflake();
    if (this.state.guilds.has(id)) throw new Error(`fake-discord: guild ${id} exists`);
    this.state.user(spec.ownerId);
    const guild: FakeGuildState = {
      id,
      name: spec.name,
      ownerId: spec.ownerId,
      locale: spec.locale ?? 'en-US',
      roles: new Map(),
      channels: new Map(),
      members: new Map(),
      joinedAt: new Date(),
    };
    guild.roles.set(id, { id, name: '@everyone', permissions: spec.everyonePermissions ?? DEFAULT_EVERYONE_PERMISSIONS, position: 0, managed: false });
    (spec.roles ?? []).forEach((role, index) => {
      const roleId = role.id ?? snowflake();
      guild.roles.set(roleId, { id: roleId, name: role.name, permissions: role.permissions ?? 0n, position: index + 1, managed: false });
    });
    const botRoleId = snowflake();
    guild.roles.set(botRoleId, { id: botRoleId, name: this.botUser.username, permissions: spec.botPermissions ?? DEFAULT_BOT_PERMISSIONS, position: guild.roles.size, managed: true });

    const members = [...(spec.members ?? [])];
    if (!members.some((member) => member.userId === spec.ownerId)) members.push({ userId: spec.ownerId });
    for (const member of members) {
      this.state.user(member.userId);
      guild.members.set(member.userId, { userId: member.userId, roleIds: this.resolveRoles(guild, member.roles ?? []), nick: member.nick ?? null, joinedAt: new Date() });
    }
    guild.members.set(this.botUser.id, { userId: this.botUser.id, roleIds: [botRoleId, ...this.resolveRoles(guild, spec.botRoles ?? [])], nick: null, joinedAt: new Date() });

    this.state.guilds.set(id, guild);
    // Ids first, so that parents can be named in any order.
    const specs = (spec.channels ?? []).map((channelSpec) => ({ channelSpec, id: channelSpec.id ?? snowflake() }));
    specs.forEach(({ channelSpec, id: channelId }, index) => {
      const channel = this.buildChannel(guild, channelSpec, channelId, index, specs);
      guild.channels.set(channel.id, channel);
      this.state.channels.set(channel.id, channel);
    });
    this.events.guildCreate(guild);
    this.notify();
    return new FakeGuild(guild);
  }

  /** Adds a channel or thread; dispatches CHANNEL_CREATE or THREAD_CREATE. */
  addChannel(guildId: string, spec: ChannelSpec): FakeChannel {
    const guild = this.state.guild(guildId);
    const channel = this.buildChannel(guild, spec, spec.id ?? snowflake(), guild.channels.size, []);
    guild.channels.set(channel.id, channel);
    this.state.channels.set(channel.id, channel);
    this.events.channelCreate(channel);
    this.notify();
    return channel;
  }

  /** Changes a channel (name, NSFW flag, overwrites, archived thread); dispatches CHANNEL_UPDATE / THREAD_UPDATE. */
  updateChannel(channelId: string, change: { name?: string; nsfw?: boolean; overwrites?: OverwriteSpec[]; archived?: boolean }): FakeChannel {
    const channel = this.state.channel(channelId);
    const guild = this.state.guild(channel.guildId);
    if (change.name !== undefined) channel.name = change.name;
    if (change.nsfw !== undefined) channel.nsfw = change.nsfw;
    if (change.archived !== undefined) {
      channel.archived = change.archived;
      if (change.archived) channel.archivedAt = new Date();
    }
    if (change.overwrites) channel.overwrites = this.resolveOverwrites(guild, change.overwrites);
    this.events.channelUpdate(channel);
    this.notify();
    return channel;
  }

  addMember(guildId: string, spec: MemberSpec): void {
    const guild = this.state.guild(guildId);
    this.state.user(spec.userId);
    guild.members.set(spec.userId, { userId: spec.userId, roleIds: this.resolveRoles(guild, spec.roles ?? []), nick: spec.nick ?? null, joinedAt: new Date() });
    this.events.memberAdd(guild, spec.userId);
    this.notify();
  }

  /** Replaces a member's roles (names or ids); dispatches GUILD_MEMBER_UPDATE (GuildMembers intent). */
  setMemberRoles(guildId: string, userId: string, roles: string[]): void {
    const guild = this.state.guild(guildId);
    const member = guild.members.get(userId);
    if (!member) throw new Error(`fake-discord: ${userId} is not a member of ${guildId}`);
    member.roleIds = this.resolveRoles(guild, roles);
    this.events.memberUpdate(guild, userId);
    this.notify();
  }

  setRolePermissions(guildId: string, role: string, permissions: bigint): void {
    const guild = this.state.guild(guildId);
    const roleId = new FakeGuild(guild).roleId(role);
    const stored = guild.roles.get(roleId);
    if (stored) stored.permissions = permissions;
    this.events.guildRoleUpdate(guild, roleId);
    this.notify();
  }

  /** Until when a member is timed out (ISO time, as the bot set it), or null. */
  memberTimeout(guildId: string, userId: string): string | null {
    return this.state.guild(guildId).members.get(userId)?.communicationDisabledUntil ?? null;
  }

  /** Effective permissions in a channel, computed like Discord does (what interactions carry). */
  permissionsIn(channelId: string, userId: string): bigint {
    return this.state.permissionsIn(channelId, userId);
  }

  /** Deletes a channel (and its threads and messages); dispatches CHANNEL_DELETE or THREAD_DELETE. */
  deleteChannel(channelId: string): void {
    const channel = this.state.channel(channelId);
    const guild = this.state.guild(channel.guildId);
    const doomed = [channel, ...[...guild.channels.values()].filter((candidate) => candidate.parentId === channel.id && isThread(candidate))];
    for (const target of doomed) {
      for (const message of [...this.state.channelHistory(target.id)]) this.state.removeMessage(message);
      guild.channels.delete(target.id);
      this.state.channels.delete(target.id);
    }
    this.events.channelDelete(channel);
    this.notify();
  }

  /** The bot is kicked: GUILD_DELETE without `unavailable`; REST on the guild answers 404 afterwards. */
  removeBotFromGuild(guildId: string): void {
    const guild = this.state.guild(guildId);
    this.state.guilds.delete(guildId);
    for (const channelId of guild.channels.keys()) this.state.channels.delete(channelId);
    this.events.guildDelete(guildId);
    this.notify();
  }

  // ---- messages -----------------------------------------------------------------------------

  /** A user posts; attachments go to the CDN; dispatches MESSAGE_CREATE (with member) unless `dispatch: false`. */
  async postMessage(spec: PostMessageSpec): Promise<FakeMessage> {
    const channel = this.state.channel(spec.channelId);
    const guild = this.state.guild(channel.guildId);
    if (!guild.members.has(spec.authorId)) throw new Error(`fake-discord: ${spec.authorId} is not a member of guild ${guild.name}`);
    const sendFlag = isThread(channel) ? PermissionFlagsBits.SendMessagesInThreads : PermissionFlagsBits.SendMessages;
    const permissions = this.state.permissionsIn(channel.id, spec.authorId);
    if ((permissions & PermissionFlagsBits.ViewChannel) === 0n || (permissions & sendFlag) === 0n) {
      throw new Error(`fake-discord: ${spec.authorId} cannot send messages in #${channel.name}`);
    }
    if (isThreadOnly(channel) || channel.type === ChannelType.GuildCategory) {
      throw new Error(`fake-discord: #${channel.name} holds no messages (post in a thread)`);
    }
    const id = spec.id ?? snowflake(spec.createdAt?.getTime());
    const attachments: StoredAttachment[] = [];
    for (const attachment of spec.attachments ?? []) attachments.push(await this.storeAttachment(attachment, channel.id, 'attachments', false));
    const message: StoredMessage = {
      id,
      channelId: channel.id,
      guildId: guild.id,
      authorId: spec.authorId,
      content: spec.content ?? '',
      embeds: spec.embeds ?? [],
      attachments,
      components: spec.components ?? [],
      type: spec.replyTo ? 19 : 0,
      flags: 0,
      editedAt: null,
      referencedMessageId: spec.replyTo ?? null,
      webhookId: null,
      interaction: null,
      ephemeral: false,
      deleted: false,
      tts: false,
      pinned: false,
      reactions: new Map(),
    };
    this.state.storeMessage(message);
    if (spec.dispatch ?? true) this.events.messageCreate(message);
    this.notify();
    return this.state.view(message);
  }

  /** A user edit, or Discord unfurling links (`unfurl`); dispatches MESSAGE_UPDATE with the full message. */
  async editMessage(spec: EditMessageSpec): Promise<FakeMessage> {
    const message = this.liveMessage(spec.messageId);
    if (spec.content !== undefined) message.content = spec.content;
    if (spec.embeds !== undefined) message.embeds = spec.embeds;
    if (spec.keepAttachmentIds) {
      const keep = new Set(spec.keepAttachmentIds);
      for (const attachment of message.attachments) if (!keep.has(attachment.id)) this.state.attachments.delete(attachment.id);
      message.attachments = message.attachments.filter((attachment) => keep.has(attachment.id));
    }
    if (!spec.unfurl) message.editedAt = new Date();
    if (spec.dispatch ?? true) this.events.messageUpdate(message);
    this.notify();
    return this.state.view(message);
  }

  /** Deletes as a user or moderator would; dispatches MESSAGE_DELETE. */
  deleteMessage(messageId: string): void {
    const message = this.liveMessage(messageId);
    this.state.removeMessage(message);
    this.events.messageDelete(message);
    this.notify();
  }

  bulkDelete(channelId: string, messageIds: string[]): void {
    const channel = this.state.channel(channelId);
    const messages = messageIds.map((id) => this.liveMessage(id));
    for (const message of messages) this.state.removeMessage(message);
    this.events.messageDeleteBulk(channel, messageIds);
    this.notify();
  }

  /** Serves an image as if from an external site, returning the image embed Discord would unfurl for its link. */
  async imageEmbed(spec: { bytes: Buffer | Uint8Array; contentType?: string; filename?: string; url?: string }): Promise<APIEmbed> {
    const filename = spec.filename ?? 'image.png';
    const stored = await this.storeAttachment({ filename, bytes: spec.bytes, contentType: spec.contentType }, '0', 'external', false);
    const url = spec.url ?? `https://images.example.com/${filename}`;
    return {
      type: 'image' as APIEmbed['type'],
      url,
      thumbnail: {
        url,
        proxy_url: this.state.attachmentProxyUrl(stored),
        width: stored.width ?? undefined,
        height: stored.height ?? undefined,
      },
    };
  }

  addReaction(spec: { messageId: string; userId: string; emoji: string }): void {
    const message = this.liveMessage(spec.messageId);
    const emoji = parseEmoji(spec.emoji);
    const key = emojiKey(emoji);
    let reaction = message.reactions.get(key);
    if (!reaction) {
      reaction = { emoji, users: new Set() };
      message.reactions.set(key, reaction);
    }
    if (reaction.users.has(spec.userId)) return;
    reaction.users.add(spec.userId);
    this.events.reactionAdd(message, reaction, spec.userId);
    this.notify();
  }

  removeReaction(spec: { messageId: string; userId: string; emoji: string }): void {
    const message = this.liveMessage(spec.messageId);
    const reaction = message.reactions.get(emojiKey(parseEmoji(spec.emoji)));
    if (reaction?.users.delete(spec.userId)) this.events.reactionRemove(message, reaction, spec.userId);
    this.notify();
  }

  // ---- interactions -------------------------------------------------------------------------

  /** A user runs a chat-input command; dispatches INTERACTION_CREATE type 2. */
  async sendSlashCommand(spec: SlashCommandSpec): Promise<FakeInteraction> {
    const channel = this.state.channel(spec.channelId);
    const guild = this.state.guild(channel.guildId);
    const command = this.findCommand(channel.guildId, spec.name, ApplicationCommandType.ChatInput);
    const resolved: Record<'attachments' | 'users' | 'members' | 'channels' | 'roles', Record<string, Json>> = {
      attachments: {},
      users: {},
      members: {},
      channels: {},
      roles: {},
    };
    const checkRequired = (definitions: JsonObject[] | undefined, given: SlashOption[]): void => {
      for (const definition of definitions ?? []) {
        if (definition.required === true && !given.some((option) => option.name === definition.name)) {
          throw new Error(`fake-discord: /${spec.name} needs option ${String(definition.name)}`);
        }
      }
    };
    const convert = async (option: SlashOption, definitions: JsonObject[] | undefined): Promise<JsonObject> => {
      const definition = definitions?.find((candidate) => candidate.name === option.name);
      if (definitions && !definition) throw new Error(`fake-discord: /${spec.name} has no option ${option.name}`);
      const declaredType = option.type ?? (definition ? Number(definition.type) : undefined);
      if (option.attachment) {
        const stored = await this.storeAttachment(option.attachment, channel.id, 'attachments', true);
        resolved.attachments[stored.id] = this.state.apiAttachment(stored);
        return { name: option.name, type: ApplicationCommandOptionType.Attachment, value: stored.id };
      }
      if (option.options || declaredType === ApplicationCommandOptionType.Subcommand || declaredType === ApplicationCommandOptionType.SubcommandGroup) {
        const nestedDefinitions = definition ? (Array.isArray(definition.options) ? definition.options : []).map((entry) => entry as JsonObject) : undefined;
        const nested = await Promise.all((option.options ?? []).map((child) => convert(child, nestedDefinitions)));
        checkRequired(nestedDefinitions, option.options ?? []);
        const isGroup = declaredType === ApplicationCommandOptionType.SubcommandGroup;
        return { name: option.name, type: isGroup ? ApplicationCommandOptionType.SubcommandGroup : ApplicationCommandOptionType.Subcommand, options: nested };
      }
      const value = option.value;
      const inferred =
        typeof value === 'boolean'
          ? ApplicationCommandOptionType.Boolean
          : typeof value === 'number'
            ? Number.isInteger(value)
              ? ApplicationCommandOptionType.Integer
              : ApplicationCommandOptionType.Number
            : ApplicationCommandOptionType.String;
      const type = declaredType ?? inferred;
      if (definition) this.checkOptionValue(spec.name, definition, value);
      this.resolveOptionValue(guild, spec.userId, type, String(value), resolved);
      return { name: option.name, type, value: value ?? null };
    };
    const topDefinitions = command ? (Array.isArray(command.options) ? command.options : []).map((entry) => entry as JsonObject) : undefined;
    const options = await Promise.all((spec.options ?? []).map((option) => convert(option, topDefinitions)));
    checkRequired(topDefinitions, spec.options ?? []);
    const usedResolved = Object.fromEntries(Object.entries(resolved).filter(([, entries]) => Object.keys(entries).length > 0));
    const data: JsonObject = {
      id: command?.id ?? snowflake(),
      name: spec.name,
      type: ApplicationCommandType.ChatInput,
      guild_id: command?.guild_id ?? undefined,
      options: options.length ? options : undefined,
      resolved: Object.keys(usedResolved).length ? usedResolved : undefined,
    };
    return this.dispatchInteraction({ type: 2, name: spec.name, commandType: ApplicationCommandType.ChatInput, data, channel, userId: spec.userId, locale: spec.locale });
  }

  /** Discord's client only lets users send declared choices, within min/max value and length. */
  private checkOptionValue(command: string, definition: JsonObject, value: SlashOption['value']): void {
    const fail = (why: string): never => {
      throw new Error(`fake-discord: /${command} option ${String(definition.name)}: ${why}`);
    };
    if (Array.isArray(definition.choices) && definition.choices.length > 0) {
      const allowed = definition.choices.map((choice) => (choice as JsonObject).value);
      if (!allowed.includes(value as Json)) fail(`${JSON.stringify(value)} is not one of ${JSON.stringify(allowed)}`);
    }
    if (typeof value === 'number') {
      if (typeof definition.min_value === 'number' && value < definition.min_value) fail(`${value} < min_value ${definition.min_value}`);
      if (typeof definition.max_value === 'number' && value > definition.max_value) fail(`${value} > max_value ${definition.max_value}`);
    }
    if (typeof value === 'string') {
      if (typeof definition.min_length === 'number' && value.length < definition.min_length) fail(`shorter than min_length ${definition.min_length}`);
      if (typeof definition.max_length === 'number' && value.length > definition.max_length) fail(`longer than max_length ${definition.max_length}`);
    }
  }

  /** User, channel, role and mentionable options come with their objects in `resolved`, like Discord sends them. */
  private resolveOptionValue(
    guild: FakeGuildState,
    invokerId: string,
    type: number,
    id: string,
    resolved: Record<'users' | 'members' | 'channels' | 'roles', Record<string, Json>>,
  ): void {
    const wantsUser = type === ApplicationCommandOptionType.User || type === ApplicationCommandOptionType.Mentionable;
    const wantsRole = type === ApplicationCommandOptionType.Role || type === ApplicationCommandOptionType.Mentionable;
    const user = wantsUser ? this.state.users.get(id) : undefined;
    if (user) {
      resolved.users[id] = this.state.apiUser(user);
      const member = guild.members.get(id);
      if (member) resolved.members[id] = this.state.apiMember(guild, member, false);
      return;
    }
    const role = wantsRole ? guild.roles.get(id) : undefined;
    if (role) {
      resolved.roles[id] = this.state.apiRole(role);
      return;
    }
    if (type === ApplicationCommandOptionType.Channel) {
      const target = guild.channels.get(id);
      if (!target) throw new Error(`fake-discord: no channel ${id} in guild ${guild.name}`);
      resolved.channels[id] = {
        id: target.id,
        name: target.name,
        type: target.type,
        parent_id: target.parentId,
        nsfw: target.nsfw,
        // The invoking member's permissions in that channel.
        permissions: this.state.permissionsIn(target.id, invokerId).toString(),
        thread_metadata: isThread(target) ? (this.state.apiChannel(target).thread_metadata ?? undefined) : undefined,
      };
      return;
    }
    if (wantsUser || wantsRole) throw new Error(`fake-discord: no user or role ${id}`);
  }

  /** A user picks a message context-menu command (e.g. "Find similar images") on `targetMessageId`. */
  async sendMessageContextCommand(spec: MessageContextSpec): Promise<FakeInteraction> {
    const channel = this.state.channel(spec.channelId);
    const target = this.liveMessage(spec.targetMessageId);
    const command = this.findCommand(channel.guildId, spec.name, ApplicationCommandType.Message);
    const data: JsonObject = {
      id: command?.id ?? snowflake(),
      name: spec.name,
      type: ApplicationCommandType.Message,
      guild_id: command?.guild_id ?? undefined,
      target_id: target.id,
      resolved: { messages: { [target.id]: this.state.apiMessage(target) } },
    };
    return this.dispatchInteraction({ type: 2, name: spec.name, commandType: ApplicationCommandType.Message, data, channel, userId: spec.userId, locale: spec.locale });
  }

  /** A user clicks a button (or uses a select) on a message the bot sent; INTERACTION_CREATE type 3. */
  async sendComponentInteraction(spec: ComponentInteractionSpec): Promise<FakeInteraction> {
    const message = this.liveMessage(spec.messageId);
    if (!JSON.stringify(message.components).includes(JSON.stringify(spec.customId))) {
      throw new Error(`fake-discord: message ${message.id} has no component with custom_id ${spec.customId}`);
    }
    const channel = this.state.channel(message.channelId);
    const data: JsonObject = { custom_id: spec.customId, component_type: spec.componentType ?? 2, values: spec.values };
    return this.dispatchInteraction({
      type: 3,
      name: spec.customId,
      commandType: null,
      data,
      channel,
      userId: spec.userId,
      locale: spec.locale,
      message,
    });
  }

  /** Alias of sendComponentInteraction for buttons. */
  sendButton(spec: Omit<ComponentInteractionSpec, 'componentType' | 'values'>): Promise<FakeInteraction> {
    return this.sendComponentInteraction(spec);
  }

  // ---- gateway control ----------------------------------------------------------------------

  /** Sends op 7 RECONNECT: discord.js reconnects and RESUMEs, missed events are replayed. */
  reconnectGateway(): void {
    this.gateway.requestReconnect();
  }

  /** Drops every gateway socket (default code 4000: resumable). Events until the resume are buffered. */
  dropGatewayConnections(code?: number): void {
    this.gateway.dropConnections(code);
  }

  gatewaySessions(): GatewaySessionInfo[] {
    return this.gateway.sessionInfo();
  }

  get identifies(): ReadonlyArray<{ shard: [number, number]; intents: number; at: Date }> {
    return this.gateway.identifies;
  }

  // ---- failure injection --------------------------------------------------------------------

  /** The next `count` matching REST requests fail with `status` (429 with retry_after, or a 5xx). */
  injectFailure(failure: FailureInjection): void {
    this.rest.injectFailure(failure);
  }

  // ---- records for assertions ---------------------------------------------------------------

  /** Every REST request, in arrival order. */
  get requests(): readonly RecordedRequest[] {
    return this.rest.requests;
  }

  /** REST requests matching a route pattern (`/channels/:channel/messages`), exact path, or RegExp on the path. */
  requestsTo(route: string | RegExp, method?: string): RecordedRequest[] {
    return this.rest.requests.filter(
      (request) =>
        (!method || request.method === method.toUpperCase()) &&
        (typeof route === 'string' ? request.route === route || request.path === route : route.test(request.path)),
    );
  }

  /** Files the bot uploaded (multipart), with the message they ended up on. */
  uploadedFiles(): readonly UploadedFile[] {
    return this.rest.uploads;
  }

  /** Visible messages of a channel, oldest first. */
  messagesIn(channelId: string): FakeMessage[] {
    return this.state.channelHistory(channelId).map((message) => this.state.view(message));
  }

  /** Any message by id (deleted and ephemeral ones too), or undefined. */
  message(messageId: string): FakeMessage | undefined {
    const message = this.state.messages.get(messageId);
    return message ? this.state.view(message) : undefined;
  }

  /** The bot's visible (non-ephemeral, not deleted) messages, oldest first; in one channel if given. */
  botMessages(channelId?: string): FakeMessage[] {
    const channels = channelId ? [channelId] : [...this.state.history.keys()];
    return channels
      .flatMap((id) => this.state.channelHistory(id))
      .filter((message) => message.authorId === this.botUser.id)
      .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1))
      .map((message) => this.state.view(message));
  }

  interactionResponses(interactionId: string): InteractionResponses {
    const interaction = this.state.interactions.get(interactionId);
    if (!interaction) throw new Error(`fake-discord: unknown interaction ${interactionId}`);
    const original = interaction.originalMessageId ? this.state.messages.get(interaction.originalMessageId) : undefined;
    const first = interaction.callbacks[0];
    return {
      interactionId,
      acknowledged: first !== undefined,
      ackLatencyMs: first ? first.at.getTime() - interaction.createdAt : null,
      callbacks: interaction.callbacks,
      original: original ? this.state.view(original) : null,
      edits: interaction.edits,
      followUps: interaction.followUpIds.map((id) => this.state.view(this.state.message(id))),
    };
  }

  /** Reactions on a message: emoji (`🔍` or `name:id`), who reacted, and whether the bot did. */
  reactionsOn(messageId: string): Array<{ emoji: string; userIds: string[]; me: boolean }> {
    const message = this.state.message(messageId);
    return [...message.reactions.values()]
      .filter((reaction) => reaction.users.size > 0)
      .map((reaction) => ({ emoji: emojiKey(reaction.emoji), userIds: [...reaction.users], me: reaction.users.has(this.botUser.id) }));
  }

  /**
   * Calls `listener` synchronously whenever the bot creates, edits or deletes a message (channel
   * messages, interaction responses, follow-ups; ephemeral included). Cheaper than polling for
   * benchmarks: `createdAt` of a reply minus `createdAt` of the trigger is the bot's latency.
   * Returns an unsubscribe function.
   */
  onBotMessage(listener: (message: FakeMessage, change: BotMessageChange) => void): () => void {
    this.botMessageListeners.add(listener);
    return () => this.botMessageListeners.delete(listener);
  }

  /** The next `count` CDN/media requests matching `match` fail with `status` and/or answer after `delayMs`. */
  injectCdnFailure(failure: CdnFailureInjection): void {
    this.cdnFailures.push({ ...failure, remaining: failure.count ?? 1 });
  }

  /** A URL on the fake's CDN host that redirects (302 by default) to `target`, for redirect-policy tests. */
  redirectUrl(target: string, status = 302): string {
    const id = randomBytes(8).toString('hex');
    this.redirects.set(id, { target, status });
    return `${this.cdnUrl}/redirect/${id}`;
  }

  /** Makes every attachment URL handed out so far invalid (404), as if they had expired. */
  invalidateAttachmentUrls(): void {
    this.state.rotateSigningKey();
  }

  /** Registered application commands: global, or of one guild. */
  commands(guildId?: string): JsonObject[] {
    return guildId ? (this.rest.guildCommands.get(guildId) ?? []) : this.rest.globalCommands;
  }

  /**
   * Resolves with the first truthy value of `predicate`, re-checked whenever the fake records
   * something (and every 25 ms). Rejects after `timeoutMs` with the last requests for context.
   */
  waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs = 5000, description = 'condition'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const check = (): void => {
        if (settled) return;
        let value: T | undefined | null | false;
        try {
          value = predicate();
        } catch (error) {
          finish();
          reject(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        if (value) {
          finish();
          resolve(value);
        }
      };
      const finish = (): void => {
        settled = true;
        clearInterval(poll);
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      const poll = setInterval(check, 25);
      const timer = setTimeout(() => {
        finish();
        const recent = this.rest.requests.slice(-8).map((request) => `${request.method} ${request.path} → ${request.status}`);
        reject(new Error(`fake-discord: timed out after ${timeoutMs} ms waiting for ${description}; last requests:\n  ${recent.join('\n  ') || '(none)'}`));
      }, timeoutMs);
      this.listeners.add(check);
      check();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.gateway.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- internals ----------------------------------------------------------------------------

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private liveMessage(messageId: string): StoredMessage {
    const message = this.state.message(messageId);
    if (message.deleted) throw new Error(`fake-discord: message ${messageId} was deleted`);
    return message;
  }

  private resolveRoles(guild: FakeGuildState, roles: string[]): string[] {
    const handle = new FakeGuild(guild);
    return roles.map((role) => handle.roleId(role)).filter((id) => id !== guild.id);
  }

  private resolveOverwrites(guild: FakeGuildState, overwrites: OverwriteSpec[]) {
    const handle = new FakeGuild(guild);
    return overwrites.map((overwrite) => {
      const allow = overwrite.allow ?? 0n;
      const deny = overwrite.deny ?? 0n;
      if (overwrite.everyone) return { id: guild.id, type: 0 as const, allow, deny };
      if (overwrite.role) return { id: handle.roleId(overwrite.role), type: 0 as const, allow, deny };
      if (overwrite.userId) return { id: overwrite.userId, type: 1 as const, allow, deny };
      throw new Error('fake-discord: an overwrite needs everyone, role or userId');
    });
  }

  private buildChannel(guild: FakeGuildState, spec: ChannelSpec, id: string, position: number, siblings: Array<{ channelSpec: ChannelSpec; id: string }>): FakeChannel {
    const type = channelKindType(spec.type);
    let parentId: string | null = null;
    if (spec.parent) {
      parentId =
        siblings.find((sibling) => sibling.channelSpec.name === spec.parent || sibling.id === spec.parent)?.id ??
        new FakeGuild(guild).channelId(spec.parent);
    }
    const channel: FakeChannel = {
      id,
      guildId: guild.id,
      type,
      name: spec.name,
      position,
      nsfw: spec.nsfw ?? false,
      topic: spec.topic ?? null,
      parentId,
      overwrites: this.resolveOverwrites(guild, spec.overwrites ?? []),
      ownerId: null,
      archived: spec.archived ?? false,
      archivedAt: spec.archivedAt ?? null,
      memberIds: new Set(),
      lastMessageId: null,
    };
    if (isThread(channel)) {
      if (!parentId) throw new Error(`fake-discord: thread ${spec.name} needs a parent`);
      channel.ownerId = spec.ownerId ?? guild.ownerId;
      channel.overwrites = [];
      channel.memberIds = new Set([channel.ownerId, ...(spec.members ?? [])]);
    }
    return channel;
  }

  private async storeAttachment(spec: AttachmentSpec, channelId: string, kind: StoredAttachment['kind'], ephemeral: boolean): Promise<StoredAttachment> {
    const bytes = Buffer.from(spec.bytes);
    const contentType = spec.contentType ?? contentTypeFromFilename(spec.filename);
    const dimensions = spec.width !== undefined && spec.height !== undefined ? { width: spec.width, height: spec.height } : await imageDimensions(bytes, contentType);
    const attachment: StoredAttachment = {
      id: snowflake(),
      channelId,
      filename: spec.filename,
      contentType,
      bytes,
      width: dimensions?.width ?? null,
      height: dimensions?.height ?? null,
      description: spec.description ?? null,
      ephemeral,
      kind,
    };
    this.state.attachments.set(attachment.id, attachment);
    return attachment;
  }

  private findCommand(guildId: string, name: string, type: ApplicationCommandType): JsonObject | undefined {
    const matches = (command: JsonObject): boolean => command.name === name && Number(command.type) === type;
    return this.commands(guildId).find(matches) ?? this.commands().find(matches);
  }

  private async dispatchInteraction(spec: {
    type: number;
    name: string;
    commandType: number | null;
    data: JsonObject;
    channel: FakeChannel;
    userId: string;
    locale: string | undefined;
    message?: StoredMessage;
  }): Promise<FakeInteraction> {
    const { channel, userId } = spec;
    const guild = this.state.guild(channel.guildId);
    const member = guild.members.get(userId);
    if (!member) throw new Error(`fake-discord: ${userId} is not a member of guild ${guild.name}`);
    const permissions = this.state.permissionsIn(channel.id, userId);
    if ((permissions & PermissionFlagsBits.ViewChannel) === 0n) throw new Error(`fake-discord: ${userId} cannot see #${channel.name}`);
    const id = snowflake();
    const token = `aW50ZXJhY3Rpb246${id}:${randomBytes(48).toString('base64url')}`;
    const payload: JsonObject = {
      id,
      application_id: this.applicationId,
      type: spec.type,
      data: spec.data,
      guild_id: guild.id,
      guild: { id: guild.id, locale: guild.locale, features: [] },
      channel: { ...this.state.apiChannel(channel), permissions: permissions.toString() },
      channel_id: channel.id,
      member: { ...this.state.apiMember(guild, member), permissions: permissions.toString() },
      message: spec.message ? this.state.apiMessage(spec.message) : undefined,
      token,
      version: 1,
      app_permissions: this.state.permissionsIn(channel.id, this.botUser.id).toString(),
      locale: spec.locale ?? 'en-US',
      guild_locale: guild.locale,
      entitlements: [],
      entitlement_sku_ids: [],
      authorizing_integration_owners: { '0': guild.id },
      context: 0,
      attachment_size_limit: 10 * 1024 * 1024,
    };
    this.state.interactions.set(id, {
      id,
      token,
      type: spec.type,
      name: spec.name,
      commandType: spec.commandType,
      guildId: guild.id,
      channelId: channel.id,
      userId,
      createdAt: Date.now(),
      componentMessageId: spec.message?.id ?? null,
      callbacks: [],
      originalMessageId: null,
      edits: [],
      followUpIds: [],
    });
    this.events.interactionCreate(guild.id, payload);
    this.notify();
    return { id, token, payload };
  }

  private async onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const method = request.method ?? 'GET';
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    if (url.pathname.startsWith('/api/v10/')) {
      const headers: Record<string, string | undefined> = {
        authorization: request.headers.authorization,
        'content-type': request.headers['content-type'],
      };
      const result = await this.rest.handle(method, url, url.pathname.slice('/api/v10'.length), headers, raw);
      const body = result.body === undefined ? '' : JSON.stringify(result.body);
      response.writeHead(result.status, { ...result.headers, ...(body ? { 'content-type': 'application/json' } : {}), via: '1.1 google' });
      response.end(body);
      return;
    }
    if (url.pathname.startsWith('/cdn/') || url.pathname.startsWith('/media/')) {
      await this.serveCdn(method, url, response);
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ message: '404: Not Found', code: 0 }));
  }

  /** CDN and media proxy: signed URLs only; the media proxy resizes with width/height/format. */
  private async serveCdn(method: string, url: URL, response: ServerResponse): Promise<void> {
    const host = url.pathname.startsWith('/cdn/') ? 'cdn' : 'media';
    const path = url.pathname.slice(host.length + 1);
    const record: CdnRequest = { host, method, path, query: Object.fromEntries(url.searchParams), status: 404, bytes: 0, at: new Date() };
    this.cdnRequests.push(record);
    const failure = this.cdnFailures.find(
      (candidate) => candidate.remaining > 0 && (candidate.match === undefined || (typeof candidate.match === 'string' ? path.includes(candidate.match) : candidate.match.test(path))),
    );
    if (failure) {
      failure.remaining -= 1;
      if (failure.delayMs) await new Promise((resolve) => setTimeout(resolve, failure.delayMs).unref());
      if (failure.status !== undefined) {
        record.status = failure.status;
        if (!response.destroyed) {
          response.writeHead(failure.status, { 'content-type': 'text/plain' });
          response.end(`fake-discord: injected ${failure.status}`);
        }
        this.notify();
        return;
      }
    }
    if (response.destroyed) return;
    const segments = path.split('/');
    const redirect = segments[1] === 'redirect' ? this.redirects.get(segments[2] ?? '') : undefined;
    if (redirect) {
      record.status = redirect.status;
      response.writeHead(redirect.status, { location: redirect.target });
      response.end();
      this.notify();
      return;
    }
    const attachmentId = segments[1] === 'external' ? segments[2] : segments[1] === 'attachments' ? segments[3] : undefined;
    const attachment = attachmentId ? this.state.attachments.get(attachmentId) : undefined;
    const signedPath = attachment ? this.state.attachmentPath(attachment) : undefined;
    if (!attachment || signedPath !== path || (method !== 'GET' && method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('Not Found');
    } else if (!this.state.verifySignedQuery(path, url.searchParams)) {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('This content is no longer available.');
    } else {
      const served = host === 'media' ? await proxyRendition(attachment.bytes, attachment.contentType, url.searchParams) : { bytes: attachment.bytes, contentType: attachment.contentType };
      record.status = 200;
      record.bytes = served.bytes.length;
      response.writeHead(200, {
        'content-type': served.contentType ?? 'application/octet-stream',
        'content-length': String(served.bytes.length),
        'cache-control': 'public, max-age=31536000',
      });
      response.end(method === 'HEAD' ? undefined : served.bytes);
    }
    this.notify();
  }
}

/** Starts the fake on 127.0.0.1 with a random port. */
export async function startFakeDiscord(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const server = createServer({ keepAliveTimeout: 5000 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return new FakeDiscord(server, port, options);
}
