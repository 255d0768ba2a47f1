// Gateway v10 over WebSocket: HELLO, heartbeats, IDENTIFY/READY/GUILD_CREATE, RESUME with replay,
// sharding, intents, sequence numbers, member requests. Frames are JSON text, or zlib-deflated
// binary when IDENTIFY asked for `compress` (discord.js does that without zlib-sync).
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { deflateSync } from 'node:zlib';
import { GatewayIntentBits, GatewayOpcodes } from 'discord-api-types/v10';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { DiscordState, JsonObject } from './state.ts';

export interface GatewayOptions {
  token: string;
  url: string;
  heartbeatIntervalMs: number;
  shardCount: number;
  /** Intents the application is approved for; others close the socket with 4014. */
  allowedIntents: number;
}

export interface GatewaySessionInfo {
  sessionId: string;
  shard: [number, number];
  intents: number;
  connected: boolean;
  sequence: number;
  identifiedAt: Date;
  resumes: number;
}

interface Session {
  id: string;
  socket: WebSocket | null;
  shard: [number, number];
  intents: number;
  compress: boolean;
  sequence: number;
  /** Recent dispatches, replayed on RESUME. */
  sent: Array<{ s: number; frame: JsonObject }>;
  identifiedAt: Date;
  resumes: number;
}

interface Connection {
  socket: WebSocket;
  session: Session | null;
}

const REPLAY_BUFFER = 2000;

/** Which intent a dispatch needs; undefined = always delivered. */
function intentFor(event: string, inGuild: boolean): number | undefined {
  if (event.startsWith('GUILD_MEMBER')) return event === 'GUILD_MEMBERS_CHUNK' ? undefined : GatewayIntentBits.GuildMembers;
  if (event.startsWith('MESSAGE_REACTION')) return inGuild ? GatewayIntentBits.GuildMessageReactions : GatewayIntentBits.DirectMessageReactions;
  if (event.startsWith('MESSAGE_')) return inGuild ? GatewayIntentBits.GuildMessages : GatewayIntentBits.DirectMessages;
  if (event.startsWith('GUILD_') || event.startsWith('CHANNEL_') || event.startsWith('THREAD_')) return GatewayIntentBits.Guilds;
  return undefined;
}

export function shardOf(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

export class Gateway {
  private readonly server = new WebSocketServer({ noServer: true, maxPayload: 4096 * 1024 });
  private readonly connections = new Set<Connection>();
  private readonly sessions = new Map<string, Session>();
  private readonly closedSessions: Session[] = [];
  /** Every IDENTIFY received, for assertions (token omitted). */
  readonly identifies: Array<{ shard: [number, number]; intents: number; at: Date }> = [];

  constructor(
    private readonly state: DiscordState,
    private readonly options: GatewayOptions,
    private readonly onChange: () => void,
  ) {}

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const query = new URL(request.url ?? '/', 'http://localhost').searchParams;
    this.server.handleUpgrade(request, socket, head, (ws) => {
      const connection: Connection = { socket: ws, session: null };
      this.connections.add(connection);
      ws.on('close', (code) => this.onClose(connection, code));
      ws.on('message', (data) => this.onMessage(connection, data));
      ws.on('error', () => ws.terminate());
      if (query.get('v') !== '10') return ws.close(4012, 'Invalid API version.');
      if ((query.get('encoding') ?? 'json') !== 'json') return ws.close(4002, 'Error while decoding payload.');
      this.sendFrame(connection, { op: GatewayOpcodes.Hello, d: { heartbeat_interval: this.options.heartbeatIntervalMs }, s: null, t: null });
    });
  }

  sessionInfo(): GatewaySessionInfo[] {
    return [...this.sessions.values()].map((session) => ({
      sessionId: session.id,
      shard: session.shard,
      intents: session.intents,
      connected: session.socket !== null,
      sequence: session.sequence,
      identifiedAt: session.identifiedAt,
      resumes: session.resumes,
    }));
  }

  /**
   * Sends a dispatch to every session that should get it: right shard for `guildId`, the needed
   * intent. `build` may tailor the payload per session (e.g. no content without MessageContent)
   * or return undefined to skip it. Disconnected-but-resumable sessions buffer it for RESUME.
   */
  dispatch(event: string, guildId: string | null, build: (session: { intents: number }) => JsonObject | undefined): void {
    for (const session of this.sessions.values()) {
      if (guildId && shardOf(guildId, session.shard[1]) !== session.shard[0]) continue;
      if (!guildId && session.shard[0] !== 0) continue;
      const intent = intentFor(event, guildId !== null);
      if (intent !== undefined && (session.intents & intent) === 0) continue;
      const data = build(session);
      if (data) this.sendDispatch(session, event, data);
    }
  }

  /** Asks every connected client to reconnect (op 7); discord.js then RESUMEs. */
  requestReconnect(): void {
    for (const connection of this.connections) this.sendFrame(connection, { op: GatewayOpcodes.Reconnect, d: null, s: null, t: null });
  }

  /** Drops every socket with `code` (4000 keeps sessions resumable; 1000 would not on real Discord). */
  dropConnections(code = 4000): void {
    for (const connection of this.connections) connection.socket.close(code, 'fake-discord: connection dropped');
  }

  async close(): Promise<void> {
    for (const connection of this.connections) connection.socket.terminate();
    this.connections.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- internals ----------------------------------------------------------------------------

  private onClose(connection: Connection, code: number): void {
    this.connections.delete(connection);
    const session = connection.session;
    if (!session || session.socket !== connection.socket) return;
    session.socket = null;
    // A normal close ends the session on Discord; anything else can be resumed.
    if (code === 1000 || code === 1001) {
      this.sessions.delete(session.id);
      this.closedSessions.push(session);
    }
    this.onChange();
  }

  private onMessage(connection: Connection, data: RawData): void {
    let payload: { op?: unknown; d?: unknown };
    try {
      payload = JSON.parse(data.toString()) as { op?: unknown; d?: unknown };
    } catch {
      connection.socket.close(4002, 'Error while decoding payload.');
      return;
    }
    const d = (payload.d ?? {}) as Record<string, unknown>;
    switch (payload.op) {
      case GatewayOpcodes.Heartbeat:
        this.sendFrame(connection, { op: GatewayOpcodes.HeartbeatAck, d: null, s: null, t: null });
        return;
      case GatewayOpcodes.Identify:
        this.identify(connection, d);
        return;
      case GatewayOpcodes.Resume:
        this.resume(connection, d);
        return;
      case GatewayOpcodes.RequestGuildMembers:
        this.requestGuildMembers(connection, d);
        return;
      case GatewayOpcodes.PresenceUpdate:
      case GatewayOpcodes.VoiceStateUpdate:
        if (!connection.session) connection.socket.close(4003, 'Not authenticated.');
        return;
      default:
        connection.socket.close(4001, 'Unknown opcode.');
    }
  }

  private identify(connection: Connection, d: Record<string, unknown>): void {
    if (connection.session) return connection.socket.close(4005, 'Already authenticated.');
    if (d.token !== this.options.token) return connection.socket.close(4004, 'Authentication failed.');
    const shard = Array.isArray(d.shard) ? (d.shard as unknown[]) : [0, 1];
    const [shardId, shardCount] = [Number(shard[0]), Number(shard[1])];
    if (!Number.isInteger(shardId) || !Number.isInteger(shardCount) || shardCount < 1 || shardId < 0 || shardId >= shardCount) {
      return connection.socket.close(4010, 'Invalid shard.');
    }
    const intents = Number(d.intents);
    if (!Number.isInteger(intents) || intents < 0) return connection.socket.close(4013, 'Invalid intent(s).');
    if ((intents & ~this.options.allowedIntents) !== 0) return connection.socket.close(4014, 'Disallowed intent(s).');

    const session: Session = {
      id: randomBytes(16).toString('hex'),
      socket: connection.socket,
      shard: [shardId, shardCount],
      intents,
      compress: d.compress === true,
      sequence: 0,
      sent: [],
      identifiedAt: new Date(),
      resumes: 0,
    };
    connection.session = session;
    this.sessions.set(session.id, session);
    this.identifies.push({ shard: session.shard, intents, at: session.identifiedAt });

    const guilds = [...this.state.guilds.values()].filter((guild) => shardOf(guild.id, shardCount) === shardId);
    this.sendDispatch(session, 'READY', {
      v: 10,
      user: { ...this.state.apiUser(this.state.botUser), verified: true, mfa_enabled: false, email: null },
      guilds: guilds.map((guild) => ({ id: guild.id, unavailable: true })),
      session_id: session.id,
      session_type: 'normal',
      resume_gateway_url: this.options.url,
      shard: [shardId, shardCount],
      application: { id: this.state.applicationId, flags: 0 },
      private_channels: [],
      relationships: [],
      presences: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
      user_settings: {},
      _trace: ['["fake-discord",{"micros":0}]'],
    });
    // Like Discord, the guilds follow READY as separate dispatches, a moment later.
    setImmediate(() => {
      if (session.socket !== connection.socket) return;
      const allMembers = (intents & GatewayIntentBits.GuildMembers) !== 0;
      for (const guild of guilds) {
        if (this.state.guilds.has(guild.id)) this.sendDispatch(session, 'GUILD_CREATE', this.state.apiGuildCreate(guild, allMembers));
      }
      this.onChange();
    });
    this.onChange();
  }

  private resume(connection: Connection, d: Record<string, unknown>): void {
    const session = typeof d.session_id === 'string' ? this.sessions.get(d.session_id) : undefined;
    if (d.token !== this.options.token) return connection.socket.close(4004, 'Authentication failed.');
    if (!session) {
      this.sendFrame(connection, { op: GatewayOpcodes.InvalidSession, d: false, s: null, t: null });
      return;
    }
    const since = Number(d.seq ?? 0);
    if (session.socket && session.socket !== connection.socket) session.socket.close(4009, 'Session timed out.');
    session.socket = connection.socket;
    session.resumes += 1;
    connection.session = session;
    for (const entry of session.sent) {
      if (entry.s > since) this.writeFrame(session, connection.socket, entry.frame);
    }
    this.sendDispatch(session, 'RESUMED', { _trace: ['["fake-discord",{"micros":0}]'] });
    this.onChange();
  }

  private requestGuildMembers(connection: Connection, d: Record<string, unknown>): void {
    const session = connection.session;
    if (!session) return connection.socket.close(4003, 'Not authenticated.');
    const guildIds = Array.isArray(d.guild_id) ? (d.guild_id as unknown[]) : [d.guild_id];
    for (const guildId of guildIds) {
      const guild = typeof guildId === 'string' ? this.state.guilds.get(guildId) : undefined;
      if (!guild) continue;
      const userIds = Array.isArray(d.user_ids) ? (d.user_ids as unknown[]).map(String) : typeof d.user_ids === 'string' ? [d.user_ids] : null;
      const query = typeof d.query === 'string' ? d.query.toLowerCase() : '';
      const limit = Number(d.limit ?? 0) || Number.POSITIVE_INFINITY;
      const members = [...guild.members.values()]
        .filter((member) => (userIds ? userIds.includes(member.userId) : this.state.user(member.userId).username.toLowerCase().startsWith(query)))
        .slice(0, limit);
      const notFound = userIds ? userIds.filter((id) => !guild.members.has(id)) : [];
      this.sendDispatch(session, 'GUILD_MEMBERS_CHUNK', {
        guild_id: guild.id,
        members: members.map((member) => this.state.apiMember(guild, member)),
        chunk_index: 0,
        chunk_count: 1,
        not_found: notFound.length ? notFound : undefined,
        nonce: typeof d.nonce === 'string' ? d.nonce : undefined,
      });
    }
  }

  private sendDispatch(session: Session, event: string, data: JsonObject): void {
    session.sequence += 1;
    const frame: JsonObject = { op: GatewayOpcodes.Dispatch, t: event, s: session.sequence, d: data };
    session.sent.push({ s: session.sequence, frame });
    if (session.sent.length > REPLAY_BUFFER) session.sent.shift();
    if (session.socket) this.writeFrame(session, session.socket, frame);
  }

  private sendFrame(connection: Connection, frame: JsonObject): void {
    if (connection.session) this.writeFrame(connection.session, connection.socket, frame);
    else if (connection.socket.readyState === connection.socket.OPEN) connection.socket.send(JSON.stringify(frame));
  }

  private writeFrame(session: Session, socket: WebSocket, frame: JsonObject): void {
    if (socket.readyState !== socket.OPEN) return;
    const text = JSON.stringify(frame);
    if (session.compress) socket.send(deflateSync(text), { binary: true });
    else socket.send(text);
  }
}
