// The gateway events that follow a change of state, shared by test-driven actions (server.ts)
// and the bot's own REST calls (rest.ts), so both produce identical dispatches.
import { GatewayIntentBits } from 'discord-api-types/v10';
import type { Gateway } from './gateway.ts';
import { isThread, type DiscordState, type FakeChannel, type FakeGuildState, type JsonObject, type StoredMessage, type StoredReaction } from './state.ts';

export class Dispatcher {
  constructor(
    private readonly state: DiscordState,
    private readonly gateway: Gateway,
  ) {}

  /** Without MessageContent, other users' messages arrive empty unless they mention the bot. */
  private withContent(message: StoredMessage, intents: number): boolean {
    return (intents & GatewayIntentBits.MessageContent) !== 0 || message.authorId === this.state.botUser.id || message.content.includes(`<@${this.state.botUser.id}>`);
  }

  messageCreate(message: StoredMessage): void {
    if (message.ephemeral) return;
    this.gateway.dispatch('MESSAGE_CREATE', message.guildId, (session) =>
      this.state.apiMessage(message, { forGateway: true, withContent: this.withContent(message, session.intents) }),
    );
  }

  messageUpdate(message: StoredMessage): void {
    if (message.ephemeral) return;
    this.gateway.dispatch('MESSAGE_UPDATE', message.guildId, (session) =>
      this.state.apiMessage(message, { forGateway: true, withContent: this.withContent(message, session.intents) }),
    );
  }

  messageDelete(message: StoredMessage): void {
    if (message.ephemeral) return;
    this.gateway.dispatch('MESSAGE_DELETE', message.guildId, () => ({ id: message.id, channel_id: message.channelId, guild_id: message.guildId ?? undefined }));
  }

  messageDeleteBulk(channel: FakeChannel, messageIds: string[]): void {
    this.gateway.dispatch('MESSAGE_DELETE_BULK', channel.guildId, () => ({ ids: messageIds, channel_id: channel.id, guild_id: channel.guildId }));
  }

  reactionAdd(message: StoredMessage, reaction: StoredReaction, userId: string): void {
    const guild = message.guildId ? this.state.guilds.get(message.guildId) : undefined;
    const member = guild?.members.get(userId);
    this.gateway.dispatch('MESSAGE_REACTION_ADD', message.guildId, () => ({
      user_id: userId,
      channel_id: message.channelId,
      message_id: message.id,
      guild_id: message.guildId ?? undefined,
      member: guild && member ? this.state.apiMember(guild, member) : undefined,
      emoji: { id: reaction.emoji.id, name: reaction.emoji.name },
      message_author_id: message.authorId,
      burst: false,
      burst_colors: [],
      type: 0,
    }));
  }

  reactionRemove(message: StoredMessage, reaction: StoredReaction, userId: string): void {
    this.gateway.dispatch('MESSAGE_REACTION_REMOVE', message.guildId, () => ({
      user_id: userId,
      channel_id: message.channelId,
      message_id: message.id,
      guild_id: message.guildId ?? undefined,
      emoji: { id: reaction.emoji.id, name: reaction.emoji.name },
      burst: false,
      type: 0,
    }));
  }

  channelCreate(channel: FakeChannel): void {
    if (isThread(channel)) {
      this.gateway.dispatch('THREAD_CREATE', channel.guildId, () => ({ ...this.state.apiChannel(channel), newly_created: true }));
    } else {
      this.gateway.dispatch('CHANNEL_CREATE', channel.guildId, () => this.state.apiChannel(channel));
    }
  }

  channelUpdate(channel: FakeChannel): void {
    this.gateway.dispatch(isThread(channel) ? 'THREAD_UPDATE' : 'CHANNEL_UPDATE', channel.guildId, () => this.state.apiChannel(channel));
  }

  channelDelete(channel: FakeChannel): void {
    if (isThread(channel)) {
      this.gateway.dispatch('THREAD_DELETE', channel.guildId, () => ({ id: channel.id, guild_id: channel.guildId, parent_id: channel.parentId, type: channel.type }));
    } else {
      this.gateway.dispatch('CHANNEL_DELETE', channel.guildId, () => this.state.apiChannel(channel));
    }
  }

  guildCreate(guild: FakeGuildState): void {
    this.gateway.dispatch('GUILD_CREATE', guild.id, (session) =>
      this.state.apiGuildCreate(guild, (session.intents & GatewayIntentBits.GuildMembers) !== 0),
    );
  }

  /** The bot was removed (no `unavailable` flag, unlike an outage). */
  guildDelete(guildId: string): void {
    this.gateway.dispatch('GUILD_DELETE', guildId, () => ({ id: guildId }));
  }

  guildRoleUpdate(guild: FakeGuildState, roleId: string): void {
    const role = guild.roles.get(roleId);
    if (role) this.gateway.dispatch('GUILD_ROLE_UPDATE', guild.id, () => ({ guild_id: guild.id, role: this.state.apiRole(role) }));
  }

  memberAdd(guild: FakeGuildState, userId: string): void {
    const member = guild.members.get(userId);
    if (member) this.gateway.dispatch('GUILD_MEMBER_ADD', guild.id, () => ({ ...this.state.apiMember(guild, member), guild_id: guild.id }));
  }

  memberUpdate(guild: FakeGuildState, userId: string): void {
    const member = guild.members.get(userId);
    if (member) this.gateway.dispatch('GUILD_MEMBER_UPDATE', guild.id, () => ({ ...this.state.apiMember(guild, member), guild_id: guild.id }));
  }

  interactionCreate(guildId: string, payload: JsonObject): void {
    this.gateway.dispatch('INTERACTION_CREATE', guildId, () => payload);
  }
}
