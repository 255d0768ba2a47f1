// REST API v10 routes a bot uses, with Discord's error shapes, permission checks, rate-limit
// headers, failure injection and a record of every request.
import { createHash, randomBytes } from 'node:crypto';
import { ApplicationCommandType, ChannelType, GatewayIntentBits, MessageFlags, PermissionFlagsBits } from 'discord-api-types/v10';
import type { APIEmbed } from 'discord-api-types/v10';
import type { Dispatcher } from './events.ts';
import { contentTypeFromFilename, imageDimensions } from './media.ts';
import { basePermissions } from './permissions.ts';
import {
  compareSnowflakes,
  emojiKey,
  isThread,
  isThreadOnly,
  parseEmoji,
  snowflake,
  snowflakeTime,
  type DiscordState,
  type FakeChannel,
  type Json,
  type JsonObject,
  type StoredAttachment,
  type StoredInteraction,
  type StoredMessage,
  type UploadedFile,
} from './state.ts';

export interface RestOptions {
  token: string;
  applicationId: string;
  /** Initial interaction callbacks later than this are refused with 10062 Unknown interaction. */
  interactionAckTimeoutMs: number;
  /** Interaction webhook tokens stop working after this (Discord: 15 minutes). */
  interactionTokenTtlMs: number;
  rateLimit: { limit: number; windowMs: number; enforce: boolean };
  /** Intents the application is approved for (MessageContent decides whether REST returns content). */
  allowedIntents: number;
  maxUploadBytes: number;
}

export interface RecordedRequest {
  method: string;
  /** Path after `/api/v10`, e.g. `/channels/1/messages`. */
  path: string;
  /** The matched route pattern, e.g. `/channels/:channel/messages`, or null for unknown routes. */
  route: string | null;
  query: Record<string, string>;
  /** Parsed JSON body, or `payload_json` of a multipart body. */
  body: Json | null;
  files: UploadedFile[];
  status: number;
  at: Date;
}

export interface FailureInjection {
  /** A route pattern (`/channels/:channel/messages`), an exact path, or a RegExp tested on the path. */
  route: string | RegExp;
  method?: string;
  /** 429, or a 5xx. */
  status: number;
  /** How many matching requests fail (default 1). */
  count?: number;
  /** For 429: the `retry_after` (default 100 ms). */
  retryAfterMs?: number;
  /** For 429: `X-RateLimit-Scope` (default `user`). */
  scope?: 'user' | 'global' | 'shared';
  global?: boolean;
}

export type BotMessageChange = 'create' | 'update' | 'delete';

interface RestRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: JsonObject | Json[] | null;
  files: UploadedFile[];
}

export interface RestResponse {
  status: number;
  headers: Record<string, string>;
  body: Json | undefined;
}

type Handler = (request: RestRequest) => Promise<Json | undefined> | Json | undefined;

interface Route {
  method: string;
  pattern: string;
  regex: RegExp;
  names: string[];
  auth: boolean;
  handler: Handler;
}

/** A Discord error response: `{message, code, errors?}`. */
export class DiscordHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly errors?: JsonObject,
  ) {
    super(message);
  }
}

// Discord's rule for chat-input names: this pattern, and lowercase wherever a letter has a lowercase form.
const COMMAND_NAME_PATTERN = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;
const COMMAND_NAME = { test: (name: string): boolean => COMMAND_NAME_PATTERN.test(name) && name === name.toLowerCase() };
const DISCORD_LOCALES = new Set([
  'id', 'da', 'de', 'en-GB', 'en-US', 'es-ES', 'es-419', 'fr', 'hr', 'it', 'lt', 'hu', 'nl', 'no', 'pl', 'pt-BR',
  'ro', 'fi', 'sv-SE', 'vi', 'tr', 'cs', 'el', 'bg', 'ru', 'uk', 'hi', 'th', 'zh-CN', 'ja', 'zh-TW', 'ko',
]);
const MAJOR_PARAMETERS = new Set(['channel', 'guild', 'webhook', 'token', 'interaction']);
const unknownChannel = (): DiscordHttpError => new DiscordHttpError(404, 10003, 'Unknown Channel');
const unknownMessage = (): DiscordHttpError => new DiscordHttpError(404, 10008, 'Unknown Message');
const unknownInteraction = (): DiscordHttpError => new DiscordHttpError(404, 10062, 'Unknown interaction');
const invalidForm = (field: string, code: string, message: string): DiscordHttpError =>
  new DiscordHttpError(400, 50035, 'Invalid Form Body', { [field]: { _errors: [{ code, message }] } });

function asObject(value: unknown): JsonObject {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : {};
}

export class RestApi {
  readonly requests: RecordedRequest[] = [];
  readonly uploads: UploadedFile[] = [];
  readonly globalCommands: JsonObject[] = [];
  readonly guildCommands = new Map<string, JsonObject[]>();
  private readonly routes: Route[] = [];
  private readonly failures: Array<FailureInjection & { remaining: number }> = [];
  private readonly buckets = new Map<string, { remaining: number; resetAt: number }>();
  private readonly acknowledging = new Set<string>();

  constructor(
    private readonly state: DiscordState,
    private readonly events: Dispatcher,
    private readonly options: RestOptions,
    private readonly gatewayUrl: string,
    private readonly onChange: () => void,
    /** Told about every message the bot creates, edits or deletes (ephemeral ones included). */
    private readonly onBotMessage: (message: StoredMessage, change: BotMessageChange) => void = () => {},
  ) {
    this.defineRoutes();
  }

  injectFailure(failure: FailureInjection): void {
    this.failures.push({ ...failure, remaining: failure.count ?? 1 });
  }

  /** Handles one request to `/api/v10${path}`. */
  async handle(method: string, url: URL, path: string, headers: Record<string, string | undefined>, raw: Buffer): Promise<RestResponse> {
    const record: RecordedRequest = { method, path, route: null, query: Object.fromEntries(url.searchParams), body: null, files: [], status: 0, at: new Date() };
    this.requests.push(record);
    const response = await this.respond(method, url, path, headers, raw, record);
    record.status = response.status;
    this.onChange();
    return response;
  }

  private async respond(method: string, url: URL, path: string, headers: Record<string, string | undefined>, raw: Buffer, record: RecordedRequest): Promise<RestResponse> {
    const match = this.match(method, path);
    if (!match) {
      const pathExists = this.routes.some((route) => route.regex.test(path));
      return pathExists ? this.error(new DiscordHttpError(405, 0, '405: Method Not Allowed')) : this.error(new DiscordHttpError(404, 0, '404: Not Found'));
    }
    const { route, params } = match;
    record.route = route.pattern;
    let request: RestRequest;
    try {
      const parsed = await this.parseBody(headers['content-type'], raw, route.pattern);
      record.body = parsed.body;
      record.files = parsed.files;
      request = { method, path, params, query: url.searchParams, body: parsed.body, files: parsed.files };
    } catch (error) {
      return this.error(error instanceof DiscordHttpError ? error : new DiscordHttpError(400, 50109, 'The request body contains invalid JSON.'));
    }
    if (route.auth && headers.authorization !== `Bot ${this.options.token}`) {
      return this.error(new DiscordHttpError(401, 0, '401: Unauthorized'));
    }
    const bucketKey = this.bucketKey(route, params);
    const bucketHash = createHash('sha1').update(`${method} ${route.pattern}`).digest('hex').slice(0, 32);
    const injected = this.takeFailure(method, path, route.pattern);
    if (injected) return this.injectedResponse(injected, bucketHash);

    const rateLimit = this.consumeRateLimit(bucketKey, !path.startsWith('/interactions/'));
    const rateHeaders: Record<string, string> = {
      'X-RateLimit-Limit': String(this.options.rateLimit.limit),
      'X-RateLimit-Remaining': String(Math.max(0, rateLimit.remaining)),
      'X-RateLimit-Reset': (rateLimit.resetAt / 1000).toFixed(3),
      'X-RateLimit-Reset-After': (Math.max(0, rateLimit.resetAt - Date.now()) / 1000).toFixed(3),
      'X-RateLimit-Bucket': bucketHash,
    };
    if (rateLimit.limited) {
      const retryAfter = Math.max(0.001, (rateLimit.resetAt - Date.now()) / 1000);
      return {
        status: 429,
        headers: { ...rateHeaders, 'Retry-After': retryAfter.toFixed(3), 'X-RateLimit-Scope': 'user' },
        body: { message: 'You are being rate limited.', retry_after: retryAfter, global: false },
      };
    }
    try {
      const body = await route.handler(request);
      return { status: body === undefined ? 204 : 200, headers: rateHeaders, body };
    } catch (error) {
      if (error instanceof DiscordHttpError) return { ...this.error(error), headers: { ...rateHeaders } };
      throw error;
    }
  }

  private error(error: DiscordHttpError): RestResponse {
    return { status: error.status, headers: {}, body: { message: error.message, code: error.code, errors: error.errors } };
  }

  private match(method: string, path: string): { route: Route; params: Record<string, string> } | undefined {
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const found = route.regex.exec(path);
      if (!found) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, index) => (params[name] = decodeURIComponent(found[index + 1] ?? '')));
      return { route, params };
    }
    return undefined;
  }

  private bucketKey(route: Route, params: Record<string, string>): string {
    const major = route.names.filter((name) => MAJOR_PARAMETERS.has(name)).map((name) => params[name]);
    return `${route.method} ${route.pattern} ${major.join('/')}`;
  }

  private consumeRateLimit(key: string, enforce: boolean): { remaining: number; resetAt: number; limited: boolean } {
    const now = Date.now();
    let bucket = this.buckets.get(key);
    if (!bucket || now >= bucket.resetAt) {
      bucket = { remaining: this.options.rateLimit.limit, resetAt: now + this.options.rateLimit.windowMs };
      this.buckets.set(key, bucket);
    }
    if (bucket.remaining <= 0 && enforce && this.options.rateLimit.enforce) return { ...bucket, limited: true };
    bucket.remaining -= 1;
    return { ...bucket, limited: false };
  }

  private takeFailure(method: string, path: string, pattern: string): (FailureInjection & { remaining: number }) | undefined {
    const failure = this.failures.find(
      (candidate) =>
        candidate.remaining > 0 &&
        (!candidate.method || candidate.method.toUpperCase() === method) &&
        (typeof candidate.route === 'string' ? candidate.route === path || candidate.route === pattern : candidate.route.test(path)),
    );
    if (failure) failure.remaining -= 1;
    return failure;
  }

  private injectedResponse(failure: FailureInjection, bucketHash: string): RestResponse {
    if (failure.status === 429) {
      const retryAfter = (failure.retryAfterMs ?? 100) / 1000;
      const headers: Record<string, string> = {
        'Retry-After': String(retryAfter),
        'X-RateLimit-Scope': failure.scope ?? (failure.global ? 'global' : 'user'),
        'X-RateLimit-Limit': String(this.options.rateLimit.limit),
        'X-RateLimit-Remaining': '0',
        'X-RateLimit-Reset': ((Date.now() + retryAfter * 1000) / 1000).toFixed(3),
        'X-RateLimit-Reset-After': retryAfter.toFixed(3),
        'X-RateLimit-Bucket': bucketHash,
      };
      if (failure.global) headers['X-RateLimit-Global'] = 'true';
      return { status: 429, headers, body: { message: 'You are being rate limited.', retry_after: retryAfter, global: failure.global ?? false, code: failure.global ? 0 : undefined } };
    }
    return { status: failure.status, headers: {}, body: { message: `${failure.status}: Internal Server Error`, code: 0 } };
  }

  private async parseBody(contentType: string | undefined, raw: Buffer, route: string): Promise<{ body: JsonObject | Json[] | null; files: UploadedFile[] }> {
    if (raw.length === 0) return { body: null, files: [] };
    if (contentType?.startsWith('multipart/form-data')) {
      const form = await new Request('http://fake-discord/', { method: 'POST', headers: { 'content-type': contentType }, body: raw }).formData();
      let body: JsonObject | null = null;
      const files: UploadedFile[] = [];
      for (const [field, value] of form) {
        if (typeof value === 'string') {
          if (field === 'payload_json') body = JSON.parse(value) as JsonObject;
          continue;
        }
        const bytes = Buffer.from(await value.arrayBuffer());
        if (bytes.length > this.options.maxUploadBytes) throw new DiscordHttpError(413, 40005, 'Request entity too large');
        const contentTypeOfFile = value.type && value.type !== 'application/octet-stream' ? value.type : contentTypeFromFilename(value.name);
        files.push({ field, filename: value.name, contentType: contentTypeOfFile, bytes, messageId: null, route, at: new Date() });
      }
      this.uploads.push(...files);
      return { body, files };
    }
    return { body: JSON.parse(raw.toString('utf8')) as JsonObject | Json[], files: [] };
  }

  private define(method: string, pattern: string, handler: Handler, auth = true): void {
    const names: string[] = [];
    const source = pattern.replace(/:(\w+)/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    this.routes.push({ method, pattern, regex: new RegExp(`^${source}$`), names, auth, handler });
  }

  // ---- shared checks ------------------------------------------------------------------------

  private channelOrThrow(id: string | undefined): FakeChannel {
    const channel = id ? this.state.channels.get(id) : undefined;
    if (!channel || !this.state.guilds.has(channel.guildId)) throw unknownChannel();
    return channel;
  }

  /** Missing ViewChannel → 50001 Missing Access; missing anything else → 50013 Missing Permissions. */
  private requireBotPermissions(channel: FakeChannel, ...needed: bigint[]): void {
    const permissions = this.state.permissionsIn(channel.id, this.state.botUser.id);
    if ((permissions & PermissionFlagsBits.ViewChannel) === 0n) throw new DiscordHttpError(403, 50001, 'Missing Access');
    // A private thread is closed to non-members unless they can manage threads.
    if (channel.type === ChannelType.PrivateThread && !channel.memberIds.has(this.state.botUser.id) && (permissions & PermissionFlagsBits.ManageThreads) === 0n) {
      throw new DiscordHttpError(403, 50001, 'Missing Access');
    }
    for (const flag of needed) if ((permissions & flag) === 0n) throw new DiscordHttpError(403, 50013, 'Missing Permissions');
  }

  private messageOrThrow(channel: FakeChannel, id: string | undefined): StoredMessage {
    const message = id ? this.state.messages.get(id) : undefined;
    if (!message || message.deleted || message.ephemeral || message.channelId !== channel.id) throw unknownMessage();
    return message;
  }

  private restMessage(message: StoredMessage): JsonObject {
    return this.state.apiMessage(message, { withContent: (this.options.allowedIntents & GatewayIntentBits.MessageContent) !== 0 || message.authorId === this.state.botUser.id });
  }

  private guildOrThrow(id: string | undefined) {
    const guild = id ? this.state.guilds.get(id) : undefined;
    if (!guild) throw new DiscordHttpError(404, 10004, 'Unknown Guild');
    return guild;
  }

  private checkApplication(id: string | undefined): void {
    if (id !== this.options.applicationId) throw new DiscordHttpError(403, 20012, 'You are not authorized to perform this action on this application');
  }

  // ---- message bodies -----------------------------------------------------------------------

  private validateMessageBody(body: JsonObject, requireSomething: boolean, files: UploadedFile[]): void {
    const content = typeof body.content === 'string' ? body.content : '';
    if (content.length > 2000) throw invalidForm('content', 'BASE_TYPE_MAX_LENGTH', 'Must be 2000 or fewer in length.');
    const embeds = Array.isArray(body.embeds) ? body.embeds : [];
    if (embeds.length > 10) throw invalidForm('embeds', 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
    let embedText = 0;
    for (const embed of embeds.map(asObject)) {
      const title = typeof embed.title === 'string' ? embed.title : '';
      const description = typeof embed.description === 'string' ? embed.description : '';
      if (title.length > 256) throw invalidForm('embeds', 'BASE_TYPE_MAX_LENGTH', 'Embed title must be 256 or fewer in length.');
      if (description.length > 4096) throw invalidForm('embeds', 'BASE_TYPE_MAX_LENGTH', 'Embed description must be 4096 or fewer in length.');
      const fields = Array.isArray(embed.fields) ? embed.fields.map(asObject) : [];
      if (fields.length > 25) throw invalidForm('embeds', 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
      embedText += title.length + description.length;
      for (const field of fields) {
        const name = String(field.name ?? '');
        const value = String(field.value ?? '');
        if (name.length < 1 || name.length > 256) throw invalidForm('embeds', 'BASE_TYPE_BAD_LENGTH', 'Embed field name must be between 1 and 256 in length.');
        if (value.length < 1 || value.length > 1024) throw invalidForm('embeds', 'BASE_TYPE_BAD_LENGTH', 'Embed field value must be between 1 and 1024 in length.');
        embedText += name.length + value.length;
      }
      const footer = String(asObject(embed.footer).text ?? '');
      const author = String(asObject(embed.author).name ?? '');
      if (footer.length > 2048) throw invalidForm('embeds', 'BASE_TYPE_MAX_LENGTH', 'Embed footer text must be 2048 or fewer in length.');
      if (author.length > 256) throw invalidForm('embeds', 'BASE_TYPE_MAX_LENGTH', 'Embed author name must be 256 or fewer in length.');
      embedText += footer.length + author.length;
    }
    for (const [index, embed] of embeds.map(asObject).entries()) this.validateEmbedUrls(embed, index);
    this.validateComponents(Array.isArray(body.components) ? body.components : []);
    if (embedText > 6000) throw invalidForm('embeds', 'MAX_EMBED_SIZE_EXCEEDED', 'Embed size exceeds maximum size of 6000');
    if (files.length > 10) throw invalidForm('files', 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
    const components = Array.isArray(body.components) ? body.components : [];
    if (components.length > 5 && ((Number(body.flags ?? 0) & MessageFlags.IsComponentsV2) === 0)) {
      throw invalidForm('components', 'BASE_TYPE_MAX_LENGTH', 'Must be 5 or fewer in length.');
    }
    const hasSticker = Array.isArray(body.sticker_ids) && body.sticker_ids.length > 0;
    if (requireSomething && !content && embeds.length === 0 && files.length === 0 && components.length === 0 && !hasSticker && !body.poll) {
      throw new DiscordHttpError(400, 50006, 'Cannot send an empty message');
    }
  }

  /** Discord accepts http(s) links, and `attachment://` for images and icons. */
  private validateEmbedUrls(embed: JsonObject, index: number): void {
    const checks: Array<[string, unknown, boolean]> = [
      ['url', embed.url, false],
      ['image.url', asObject(embed.image).url, true],
      ['thumbnail.url', asObject(embed.thumbnail).url, true],
      ['author.url', asObject(embed.author).url, false],
      ['author.icon_url', asObject(embed.author).icon_url, true],
      ['footer.icon_url', asObject(embed.footer).icon_url, true],
    ];
    for (const [field, value, attachmentAllowed] of checks) {
      if (value === undefined || value === null) continue;
      const scheme = typeof value === 'string' ? /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase() : undefined;
      const ok = scheme === 'http' || scheme === 'https' || (attachmentAllowed && scheme === 'attachment');
      if (!ok) throw invalidForm(`embeds.${index}.${field}`, 'URL_TYPE_INVALID_URL', `Not a well formed URL (${String(value)}).`);
    }
  }

  /** Action rows of ≤ 5 components; custom_id ≤ 100 characters and unique in the message. */
  private validateComponents(components: Json[]): void {
    const customIds = new Set<string>();
    const visit = (component: JsonObject, depth: number): void => {
      const children = Array.isArray(component.components) ? component.components.map(asObject) : [];
      if (Number(component.type) === 1 && children.length > 5) throw invalidForm('components', 'BASE_TYPE_MAX_LENGTH', 'Must be 5 or fewer in length.');
      if (typeof component.custom_id === 'string') {
        if (component.custom_id.length > 100) throw invalidForm('components', 'BASE_TYPE_MAX_LENGTH', 'custom_id must be 100 or fewer in length.');
        if (customIds.has(component.custom_id)) throw invalidForm('components', 'COMPONENT_CUSTOM_ID_DUPLICATED', 'Component custom id cannot be duplicated');
        customIds.add(component.custom_id);
      }
      if (Number(component.type) === 2 && Number(component.style) !== 5 && Number(component.style) !== 6 && typeof component.custom_id !== 'string') {
        throw invalidForm('components', 'BUTTON_COMPONENT_CUSTOM_ID_REQUIRED', 'A custom id is required');
      }
      if (typeof component.label === 'string' && component.label.length > 80) throw invalidForm('components', 'BASE_TYPE_MAX_LENGTH', 'label must be 80 or fewer in length.');
      for (const child of children) visit(child, depth + 1);
    };
    for (const component of components) visit(asObject(component), 0);
  }

  /** Turns uploaded `files[n]` into attachments, using `attachments: [{id: n, filename, description}]`. */
  private async attachmentsFromFiles(body: JsonObject, files: UploadedFile[], channelId: string, ephemeral: boolean): Promise<StoredAttachment[]> {
    const described = (Array.isArray(body.attachments) ? body.attachments : []).map(asObject);
    const attachments: StoredAttachment[] = [];
    for (const [index, file] of files.entries()) {
      const key = /^files\[(\w+)\]$/.exec(file.field)?.[1] ?? String(index);
      const description = described.find((entry) => String(entry.id) === key);
      const filename = typeof description?.filename === 'string' ? description.filename : file.filename;
      const dimensions = await imageDimensions(file.bytes, file.contentType);
      attachments.push({
        id: snowflake(),
        channelId,
        filename,
        contentType: file.contentType,
        bytes: file.bytes,
        width: dimensions?.width ?? null,
        height: dimensions?.height ?? null,
        description: typeof description?.description === 'string' ? description.description : null,
        ephemeral,
        kind: 'attachments',
      });
    }
    return attachments;
  }

  private async newBotMessage(
    channel: FakeChannel,
    body: JsonObject,
    files: UploadedFile[],
    extra: Partial<StoredMessage> & { ephemeral: boolean },
    allowEmpty = false,
  ): Promise<StoredMessage> {
    this.validateMessageBody(body, !allowEmpty, files);
    const id = snowflake();
    const reference = asObject(body.message_reference);
    let referencedMessageId: string | null = null;
    if (typeof reference.message_id === 'string') {
      const target = this.state.messages.get(reference.message_id);
      const sameChannel = target && !target.deleted && target.channelId === (typeof reference.channel_id === 'string' ? reference.channel_id : channel.id);
      if (sameChannel) referencedMessageId = reference.message_id;
      else if (reference.fail_if_not_exists !== false) throw invalidForm('message_reference', 'MESSAGE_REFERENCE_UNKNOWN_MESSAGE', 'Unknown message');
    }
    const message: StoredMessage = {
      id,
      channelId: channel.id,
      guildId: channel.guildId,
      authorId: this.state.botUser.id,
      content: typeof body.content === 'string' ? body.content : '',
      embeds: (Array.isArray(body.embeds) ? body.embeds : []).map((embed) => ({ type: 'rich', ...asObject(embed) }) as APIEmbed),
      attachments: await this.attachmentsFromFiles(body, files, channel.id, extra.ephemeral),
      components: Array.isArray(body.components) ? body.components : [],
      type: referencedMessageId ? 19 : 0,
      flags: Number(body.flags ?? 0) & (MessageFlags.SuppressEmbeds | MessageFlags.SuppressNotifications | MessageFlags.Ephemeral | MessageFlags.IsComponentsV2),
      editedAt: null,
      referencedMessageId,
      webhookId: null,
      interaction: null,
      deleted: false,
      tts: body.tts === true,
      pinned: false,
      reactions: new Map(),
      ...extra,
    };
    for (const file of files) file.messageId = id;
    return message;
  }

  /** PATCH semantics: given fields replace; `attachments` lists the existing ones to keep. A refused edit changes nothing. */
  private async applyEdit(message: StoredMessage, body: JsonObject, files: UploadedFile[]): Promise<void> {
    this.validateMessageBody(body, false, files);
    const next = { ...message };
    if ('content' in body) next.content = typeof body.content === 'string' ? body.content : '';
    if ('embeds' in body) next.embeds = (Array.isArray(body.embeds) ? body.embeds : []).map((embed) => ({ type: 'rich', ...asObject(embed) }) as APIEmbed);
    if ('components' in body) next.components = Array.isArray(body.components) ? body.components : [];
    if ('flags' in body && body.flags !== null) {
      next.flags = (message.flags & ~MessageFlags.SuppressEmbeds) | (Number(body.flags) & MessageFlags.SuppressEmbeds);
    }
    if (Array.isArray(body.attachments)) {
      const keep = new Set(body.attachments.map((entry) => String(asObject(entry).id)));
      next.attachments = message.attachments.filter((attachment) => keep.has(attachment.id));
    }
    const added = await this.attachmentsFromFiles(body, files, message.channelId, message.ephemeral);
    next.attachments = [...next.attachments, ...added];
    if (!next.content && next.embeds.length === 0 && next.attachments.length === 0 && next.components.length === 0) {
      throw new DiscordHttpError(400, 50006, 'Cannot send an empty message');
    }
    for (const attachment of message.attachments) if (!next.attachments.includes(attachment)) this.state.attachments.delete(attachment.id);
    for (const attachment of added) this.state.attachments.set(attachment.id, attachment);
    for (const file of files) file.messageId = message.id;
    // Resolving a deferred "thinking" message is not an edit on Discord.
    const wasLoading = (message.flags & MessageFlags.Loading) !== 0;
    next.flags &= ~MessageFlags.Loading;
    next.editedAt = wasLoading ? message.editedAt : new Date();
    Object.assign(message, next);
  }

  // ---- interactions -------------------------------------------------------------------------

  private interactionByToken(token: string | undefined): StoredInteraction {
    const interaction = [...this.state.interactions.values()].find((candidate) => candidate.token === token);
    if (!interaction) throw new DiscordHttpError(404, 10015, 'Unknown Webhook');
    if (Date.now() - interaction.createdAt > this.options.interactionTokenTtlMs) throw new DiscordHttpError(401, 50027, 'Invalid Webhook Token');
    return interaction;
  }

  private webhookMessage(interaction: StoredInteraction, id: string | undefined): StoredMessage {
    const messageId = id === '@original' ? interaction.originalMessageId : id;
    const ownsIt = messageId && (messageId === interaction.originalMessageId || interaction.followUpIds.includes(messageId));
    const message = ownsIt ? this.state.messages.get(messageId) : undefined;
    if (!message || message.deleted) throw unknownMessage();
    return message;
  }

  private interactionMessageType(interaction: StoredInteraction): number {
    if (interaction.type !== 2) return 0;
    return interaction.commandType === ApplicationCommandType.ChatInput ? 20 : 23;
  }

  private async callback(request: RestRequest): Promise<Json | undefined> {
    const interaction = this.state.interactions.get(request.params.interaction ?? '');
    if (!interaction || interaction.token !== request.params.token) throw unknownInteraction();
    if (interaction.callbacks.length > 0 || this.acknowledging.has(interaction.id)) {
      throw new DiscordHttpError(400, 40060, 'Interaction has already been acknowledged.');
    }
    if (Date.now() - interaction.createdAt > this.options.interactionAckTimeoutMs) throw unknownInteraction();
    // Two concurrent callbacks: the second is refused even while the first is still being stored.
    this.acknowledging.add(interaction.id);
    try {
      return await this.acknowledge(interaction, request);
    } finally {
      this.acknowledging.delete(interaction.id);
    }
  }

  private async acknowledge(interaction: StoredInteraction, request: RestRequest): Promise<Json | undefined> {
    const body = asObject(request.body);
    const type = Number(body.type);
    const data = asObject(body.data);
    const isComponent = interaction.type === 3 || interaction.type === 5;
    const allowed = isComponent ? [4, 5, 6, 7, 9] : interaction.type === 4 ? [8] : [4, 5, 9];
    if (!allowed.includes(type)) throw invalidForm('type', 'INTERACTION_RESPONSE_TYPE_INVALID', `Interaction response type ${type} is not valid here`);
    const channel = this.channelOrThrow(interaction.channelId);
    let message: StoredMessage | undefined;
    let created = false;
    if (type === 4 || type === 5) {
      const ephemeral = (Number(data.flags ?? 0) & MessageFlags.Ephemeral) !== 0;
      if (type === 5) {
        message = await this.newBotMessage(channel, { content: '', flags: data.flags ?? 0 }, [], { ephemeral, type: this.interactionMessageType(interaction) }, true);
        message.flags |= MessageFlags.Loading;
      } else {
        message = await this.newBotMessage(channel, data, request.files, { ephemeral, type: this.interactionMessageType(interaction) });
      }
      message.webhookId = this.options.applicationId;
      message.interaction = { id: interaction.id, type: interaction.type, name: interaction.name, userId: interaction.userId };
      interaction.originalMessageId = message.id;
      created = true;
    } else if (type === 6 || type === 7) {
      message = interaction.componentMessageId ? this.state.messages.get(interaction.componentMessageId) : undefined;
      if (!message || message.deleted) throw unknownMessage();
      interaction.originalMessageId = message.id;
      if (type === 7) await this.applyEdit(message, data, request.files);
    }
    interaction.callbacks.push({ type, body, files: request.files, at: new Date() });
    if (message && created) {
      this.state.storeMessage(message);
      this.events.messageCreate(message);
      this.onBotMessage(message, 'create');
    } else if (message && type === 7) {
      this.events.messageUpdate(message);
      this.onBotMessage(message, 'update');
    }
    if (request.query.get('with_response') !== 'true') return undefined;
    return {
      interaction: {
        id: interaction.id,
        type: interaction.type,
        activity_instance_id: undefined,
        response_message_id: message?.id,
        response_message_loading: message ? (message.flags & MessageFlags.Loading) !== 0 : undefined,
        response_message_ephemeral: message ? message.ephemeral : undefined,
      },
      resource: type === 6 ? undefined : { type, message: message ? this.state.apiMessage(message) : undefined },
    };
  }

  private async webhookEdit(request: RestRequest): Promise<Json> {
    const interaction = this.interactionByToken(request.params.token);
    const message = this.webhookMessage(interaction, request.params.message);
    const body = asObject(request.body);
    await this.applyEdit(message, body, request.files);
    interaction.edits.push({ messageId: message.id, body, files: request.files, at: new Date() });
    this.events.messageUpdate(message);
    this.onBotMessage(message, 'update');
    return this.state.apiMessage(message);
  }

  private async followUp(request: RestRequest): Promise<Json | undefined> {
    this.checkApplication(request.params.webhook);
    const interaction = this.interactionByToken(request.params.token);
    if (interaction.callbacks.length === 0) throw new DiscordHttpError(404, 10015, 'Unknown Webhook');
    const body = asObject(request.body);
    const channel = this.channelOrThrow(interaction.channelId);
    // Discord's backwards-compatible quirk: the first follow-up after a deferral that is still
    // "thinking" replaces the loading message, keeping the deferral's ephemeral setting.
    const original = interaction.originalMessageId ? this.state.messages.get(interaction.originalMessageId) : undefined;
    if (interaction.callbacks[0]?.type === 5 && original && !original.deleted && (original.flags & MessageFlags.Loading) !== 0) {
      await this.applyEdit(original, body, request.files);
      interaction.followUpIds.push(original.id);
      this.events.messageUpdate(original);
      this.onBotMessage(original, 'update');
      return request.query.get('wait') === 'false' ? undefined : this.state.apiMessage(original);
    }
    const ephemeral = (Number(body.flags ?? 0) & MessageFlags.Ephemeral) !== 0;
    const message = await this.newBotMessage(channel, body, request.files, { ephemeral, type: this.interactionMessageType(interaction) });
    message.webhookId = this.options.applicationId;
    message.interaction = { id: interaction.id, type: interaction.type, name: interaction.name, userId: interaction.userId };
    interaction.followUpIds.push(message.id);
    this.state.storeMessage(message);
    this.events.messageCreate(message);
    this.onBotMessage(message, 'create');
    return request.query.get('wait') === 'false' ? undefined : this.state.apiMessage(message);
  }

  // ---- commands -----------------------------------------------------------------------------

  private commandList(guildId: string | undefined): JsonObject[] {
    if (!guildId) return this.globalCommands;
    this.guildOrThrow(guildId);
    let list = this.guildCommands.get(guildId);
    if (!list) {
      list = [];
      this.guildCommands.set(guildId, list);
    }
    return list;
  }

  private normaliseCommand(raw: Json, existing: JsonObject[], guildId: string | undefined): JsonObject {
    const command = asObject(raw);
    const type = Number(command.type ?? ApplicationCommandType.ChatInput);
    const name = typeof command.name === 'string' ? command.name : '';
    const validName = type === ApplicationCommandType.ChatInput ? COMMAND_NAME.test(name) : name.length >= 1 && name.length <= 32;
    if (!validName) throw invalidForm('name', 'APPLICATION_COMMAND_INVALID_NAME', `Command name is invalid: ${JSON.stringify(name)}`);
    const description = typeof command.description === 'string' ? command.description : '';
    if (type === ApplicationCommandType.ChatInput && (description.length < 1 || description.length > 100)) {
      throw invalidForm('description', 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
    }
    this.validateLocalizations(command, 'name', type === ApplicationCommandType.ChatInput);
    this.validateLocalizations(command, 'description', false);
    if (type === ApplicationCommandType.ChatInput) this.validateOptions(command.options, 'options');
    else if (command.options !== undefined && !(Array.isArray(command.options) && command.options.length === 0)) {
      throw invalidForm('options', 'APPLICATION_COMMAND_OPTIONS_TYPE_INVALID', 'Context menu commands cannot have options');
    }
    const previous = existing.find((candidate) => candidate.name === name && Number(candidate.type) === type);
    return {
      ...command,
      id: typeof previous?.id === 'string' ? previous.id : snowflake(),
      application_id: this.options.applicationId,
      guild_id: guildId,
      version: snowflake(),
      type,
      name,
      description: type === ApplicationCommandType.ChatInput ? description : '',
      default_member_permissions: command.default_member_permissions ?? null,
      nsfw: command.nsfw ?? false,
      options: type === ApplicationCommandType.ChatInput ? (command.options ?? []) : undefined,
    };
  }

  private validateLocalizations(source: JsonObject, field: 'name' | 'description', chatInputName: boolean): void {
    const localizations = source[`${field}_localizations`];
    if (localizations === undefined || localizations === null) return;
    for (const [locale, value] of Object.entries(asObject(localizations))) {
      if (!DISCORD_LOCALES.has(locale)) throw invalidForm(`${field}_localizations.${locale}`, 'LOCALE_INVALID', `Invalid locale ${locale}`);
      const text = typeof value === 'string' ? value : '';
      const valid = field === 'name' ? (chatInputName ? COMMAND_NAME.test(text) : text.length >= 1 && text.length <= 32) : text.length >= 1 && text.length <= 100;
      if (!valid) throw invalidForm(`${field}_localizations.${locale}`, 'BASE_TYPE_BAD_LENGTH', `Invalid localized ${field}: ${JSON.stringify(text)}`);
    }
  }

  /** Option rules Discord enforces on registration (names, descriptions, order, choices, limits). */
  private validateOptions(raw: Json | undefined, path: string): void {
    if (raw === undefined || raw === null) return;
    if (!Array.isArray(raw)) throw invalidForm(path, 'BASE_TYPE_ARRAY', 'Must be an array.');
    if (raw.length > 25) throw invalidForm(path, 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
    let optionalSeen = false;
    const names = new Set<string>();
    for (const [index, entry] of raw.entries()) {
      const option = asObject(entry);
      const where = `${path}.${index}`;
      const name = typeof option.name === 'string' ? option.name : '';
      if (!COMMAND_NAME.test(name)) throw invalidForm(`${where}.name`, 'APPLICATION_COMMAND_INVALID_NAME', `Option name is invalid: ${JSON.stringify(name)}`);
      if (names.has(name)) throw invalidForm(`${where}.name`, 'APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS', 'Option names must be unique');
      names.add(name);
      const description = typeof option.description === 'string' ? option.description : '';
      if (description.length < 1 || description.length > 100) throw invalidForm(`${where}.description`, 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
      this.validateLocalizations(option, 'name', true);
      this.validateLocalizations(option, 'description', false);
      const type = Number(option.type);
      if (type === 1 || type === 2) {
        this.validateOptions(option.options, `${where}.options`);
        continue;
      }
      if (option.required === true && optionalSeen) {
        throw invalidForm(where, 'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID', 'Required options must be placed before non-required options');
      }
      if (option.required !== true) optionalSeen = true;
      if (Array.isArray(option.choices) && option.choices.length > 25) throw invalidForm(`${where}.choices`, 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
      if (typeof option.min_value === 'number' && typeof option.max_value === 'number' && option.min_value > option.max_value) {
        throw invalidForm(`${where}.min_value`, 'NUMBER_TYPE_MAX', 'min_value must be less than or equal to max_value');
      }
    }
  }

  // ---- route table --------------------------------------------------------------------------

  private defineRoutes(): void {
    const bot = this.state.botUser;

    this.define('GET', '/gateway', () => ({ url: this.gatewayUrl }), false);
    this.define('GET', '/gateway/bot', () => ({
      url: this.gatewayUrl,
      shards: this.state.shardCount,
      session_start_limit: { total: 1000, remaining: 999, reset_after: 86_400_000, max_concurrency: 16 },
    }));

    this.define('GET', '/users/@me', () => ({ ...this.state.apiUser(bot), verified: true, mfa_enabled: false, email: null, locale: 'en-US' }));
    this.define('GET', '/users/:user', ({ params }) => {
      const user = this.state.users.get(params.user ?? '');
      if (!user) throw new DiscordHttpError(404, 10013, 'Unknown User');
      return this.state.apiUser(user);
    });
    this.define('GET', '/applications/@me', () => ({
      id: this.options.applicationId,
      name: bot.username,
      icon: null,
      description: '',
      bot_public: true,
      bot_require_code_grant: false,
      verify_key: randomBytes(32).toString('hex'),
      flags: (1 << 19) | (1 << 15) | (1 << 13),
      owner: this.state.apiUser(bot),
      team: null,
      bot: this.state.apiUser(bot),
      approximate_guild_count: this.state.guilds.size,
      tags: [],
    }));
    this.define('DELETE', '/users/@me/guilds/:guild', ({ params }) => {
      const guild = this.guildOrThrow(params.guild);
      this.state.guilds.delete(guild.id);
      this.events.guildDelete(guild.id);
      return undefined;
    });

    // Application commands (deploy-commands).
    for (const prefix of ['/applications/:application/commands', '/applications/:application/guilds/:guild/commands']) {
      this.define('GET', prefix, ({ params }) => {
        this.checkApplication(params.application);
        return this.commandList(params.guild);
      });
      this.define('PUT', prefix, ({ params, body }) => {
        this.checkApplication(params.application);
        const list = this.commandList(params.guild);
        if (!Array.isArray(body)) throw invalidForm('_root', 'BASE_TYPE_ARRAY', 'Must be an array.');
        if (body.length > 100) throw invalidForm('_root', 'BASE_TYPE_MAX_LENGTH', 'Must be 100 or fewer in length.');
        const replaced = body.map((command) => this.normaliseCommand(command, list, params.guild));
        list.splice(0, list.length, ...replaced);
        return list;
      });
      this.define('POST', prefix, ({ params, body }) => {
        this.checkApplication(params.application);
        const list = this.commandList(params.guild);
        const command = this.normaliseCommand(body, list, params.guild);
        const index = list.findIndex((candidate) => candidate.id === command.id);
        if (index >= 0) list[index] = command;
        else list.push(command);
        return command;
      });
      this.define('DELETE', `${prefix}/:command`, ({ params }) => {
        this.checkApplication(params.application);
        const list = this.commandList(params.guild);
        const index = list.findIndex((candidate) => candidate.id === params.command);
        if (index < 0) throw new DiscordHttpError(404, 10063, 'Unknown application command');
        list.splice(index, 1);
        return undefined;
      });
    }

    // Guilds.
    this.define('GET', '/guilds/:guild', ({ params, query }) => {
      const guild = this.guildOrThrow(params.guild);
      const counts = query.get('with_counts') === 'true' ? { approximate_member_count: guild.members.size, approximate_presence_count: 0 } : {};
      return { ...this.state.apiGuild(guild), ...counts };
    });
    this.define('GET', '/guilds/:guild/channels', ({ params }) => {
      const guild = this.guildOrThrow(params.guild);
      return [...guild.channels.values()].filter((channel) => !isThread(channel)).map((channel) => this.state.apiChannel(channel));
    });
    this.define('GET', '/guilds/:guild/roles', ({ params }) => [...this.guildOrThrow(params.guild).roles.values()].map((role) => this.state.apiRole(role)));
    this.define('GET', '/guilds/:guild/members/:user', ({ params }) => {
      const guild = this.guildOrThrow(params.guild);
      const member = guild.members.get(params.user === '@me' ? bot.id : (params.user ?? ''));
      if (!member) throw new DiscordHttpError(404, 10007, 'Unknown Member');
      return this.state.apiMember(guild, member);
    });
    // Member timeouts (the only member change a bot here makes), with Discord's checks: Moderate Members,
    // never the owner or an administrator, and only members whose highest role is below the bot's.
    this.define('PATCH', '/guilds/:guild/members/:user', ({ params, body }) => {
      const guild = this.guildOrThrow(params.guild);
      const member = guild.members.get(params.user ?? '');
      if (!member) throw new DiscordHttpError(404, 10007, 'Unknown Member');
      const change = asObject(body);
      if (!('communication_disabled_until' in change)) return this.state.apiMember(guild, member);
      const until = change.communication_disabled_until;
      if (until !== null && (typeof until !== 'string' || Number.isNaN(Date.parse(until)))) throw invalidForm('communication_disabled_until', 'DATE_TYPE_INVALID', 'Could not parse date.');
      if (typeof until === 'string' && Date.parse(until) - Date.now() > 28 * 24 * 3600_000 + 60_000) throw invalidForm('communication_disabled_until', 'BASE_TYPE_BAD_LENGTH', 'At most 28 days.');
      const permissions = basePermissions(this.state.permissionSubject(guild, bot.id));
      if ((permissions & PermissionFlagsBits.ModerateMembers) === 0n) throw new DiscordHttpError(403, 50013, 'Missing Permissions');
      const targetPermissions = basePermissions(this.state.permissionSubject(guild, member.userId));
      const highest = (userId: string) => Math.max(0, ...(guild.members.get(userId)?.roleIds ?? []).map((id) => guild.roles.get(id)?.position ?? 0));
      const outranked = member.userId === guild.ownerId || (targetPermissions & PermissionFlagsBits.Administrator) !== 0n || highest(member.userId) >= highest(bot.id);
      if (outranked) throw new DiscordHttpError(403, 50013, 'Missing Permissions');
      member.communicationDisabledUntil = until === null ? null : new Date(until).toISOString();
      this.events.memberUpdate(guild, member.userId);
      return this.state.apiMember(guild, member);
    });
    this.define('GET', '/guilds/:guild/members', ({ params, query }) => {
      const guild = this.guildOrThrow(params.guild);
      const limit = Math.min(1000, Math.max(1, Number(query.get('limit') ?? 1)));
      const after = query.get('after') ?? '0';
      return [...guild.members.values()]
        .filter((member) => compareSnowflakes(member.userId, after) > 0)
        .sort((a, b) => compareSnowflakes(a.userId, b.userId))
        .slice(0, limit)
        .map((member) => this.state.apiMember(guild, member));
    });
    this.define('GET', '/guilds/:guild/threads/active', ({ params }) => {
      const guild = this.guildOrThrow(params.guild);
      const threads = [...guild.channels.values()].filter((channel) => isThread(channel) && !channel.archived);
      return { threads: threads.map((thread) => this.state.apiChannel(thread)), members: [] };
    });
    // Archived threads of a channel, newest archive first, in pages (`before`, `limit`, `has_more`) like
    // Discord: public ones need Read Message History; all private ones need Manage Threads as well; the
    // private ones the bot joined are listed by thread id instead of archive time.
    const archivedPage = (threads: FakeChannel[], query: URLSearchParams, key: (thread: FakeChannel) => string, older: (thread: FakeChannel, before: string) => boolean): JsonObject => {
      const limit = Number(query.get('limit') ?? 50);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw invalidForm('limit', 'NUMBER_TYPE_MAX', 'int value should be less than or equal to 100.');
      const before = query.get('before');
      const sorted = threads.filter((thread) => before === null || older(thread, before)).sort((a, b) => key(b).localeCompare(key(a)) || compareSnowflakes(b.id, a.id));
      const page = sorted.slice(0, limit);
      const botId = this.state.botUser.id;
      return {
        threads: page.map((thread) => this.state.apiChannel(thread)),
        members: page.filter((thread) => thread.memberIds.has(botId)).map((thread) => this.state.apiThreadMember(thread, botId)),
        has_more: sorted.length > page.length,
      };
    };
    const archiveTime = (thread: FakeChannel): string => (thread.archivedAt ?? snowflakeTime(thread.id)).toISOString();
    const archivedBefore = (thread: FakeChannel, before: string): boolean => {
      const time = Date.parse(before);
      if (Number.isNaN(time)) throw invalidForm('before', 'DATE_TIME_TYPE_PARSE', 'Could not interpret the value as a date.');
      return (thread.archivedAt ?? snowflakeTime(thread.id)).getTime() < time;
    };
    const archivedThreads = (parent: FakeChannel, type: ChannelType): FakeChannel[] =>
      [...this.state.channels.values()].filter((thread) => thread.parentId === parent.id && thread.type === type && thread.archived);
    this.define('GET', '/channels/:channel/threads/archived/public', ({ params, query }) => {
      const channel = this.channelOrThrow(params.channel);
      this.requireBotPermissions(channel, PermissionFlagsBits.ReadMessageHistory);
      const type = channel.type === ChannelType.GuildAnnouncement ? ChannelType.AnnouncementThread : ChannelType.PublicThread;
      return archivedPage(archivedThreads(channel, type), query, archiveTime, archivedBefore);
    });
    this.define('GET', '/channels/:channel/threads/archived/private', ({ params, query }) => {
      const channel = this.channelOrThrow(params.channel);
      this.requireBotPermissions(channel, PermissionFlagsBits.ReadMessageHistory, PermissionFlagsBits.ManageThreads);
      return archivedPage(archivedThreads(channel, ChannelType.PrivateThread), query, archiveTime, archivedBefore);
    });
    this.define('GET', '/channels/:channel/users/@me/threads/archived/private', ({ params, query }) => {
      const channel = this.channelOrThrow(params.channel);
      this.requireBotPermissions(channel, PermissionFlagsBits.ReadMessageHistory);
      const joined = archivedThreads(channel, ChannelType.PrivateThread).filter((thread) => thread.memberIds.has(bot.id));
      const byId = (thread: FakeChannel): string => thread.id.padStart(20, '0');
      return archivedPage(joined, query, byId, (thread, before) => compareSnowflakes(thread.id, before) < 0);
    });

    // Channels and messages.
    this.define('GET', '/channels/:channel', ({ params }) => {
      const channel = this.channelOrThrow(params.channel);
      this.requireBotPermissions(channel);
      return this.state.apiChannel(channel);
    });
    this.define('POST', '/channels/:channel/typing', ({ params }) => {
      this.requireBotPermissions(this.channelOrThrow(params.channel), PermissionFlagsBits.SendMessages);
      return undefined;
    });
    this.define('GET', '/channels/:channel/messages', ({ params, query }) => {
      const channel = this.channelOrThrow(params.channel);
      this.requireBotPermissions(channel);
      if ((this.state.permissionsIn(channel.id, bot.id) & PermissionFlagsBits.ReadMessageHistory) === 0n) return [];
      const limit = Number(query.get('limit') ?? 50);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw invalidForm('limit', 'NUMBER_TYPE_MAX', 'int value should be less than or equal to 100.');
      const history = this.state.channelHistory(channel.id);
      let page: StoredMessage[];
      const before = query.get('before');
      const after = query.get('after');
      const around = query.get('around');
      if (around) {
        const older = history.filter((message) => compareSnowflakes(message.id, around) < 0);
        const newer = history.filter((message) => compareSnowflakes(message.id, around) >= 0);
        const olderCount = Math.floor(limit / 2);
        page = [...older.slice(Math.max(0, older.length - olderCount)), ...newer.slice(0, limit - Math.min(olderCount, older.length))];
      } else if (before) {
        const older = history.filter((message) => compareSnowflakes(message.id, before) < 0);
        page = older.slice(Math.max(0, older.length - limit));
      } else if (after) {
        page = history.filter((message) => compareSnowflakes(message.id, after) > 0).slice(0, limit);
      } else {
        page = history.slice(Math.max(0, history.length - limit));
      }
      return page.reverse().map((message) => this.restMessage(message));
    });
    this.define('GET', '/channels/:channel/messages/:message', ({ params }) => {
      const channel = this.channelOrThrow(params.channel);
      this.requireBotPermissions(channel, PermissionFlagsBits.ReadMessageHistory);
      return this.restMessage(this.messageOrThrow(channel, params.message));
    });
    this.define('POST', '/channels/:channel/messages', async ({ params, body, files }) => {
      const channel = this.channelOrThrow(params.channel);
      if (isThreadOnly(channel) || channel.type === ChannelType.GuildCategory) {
        throw new DiscordHttpError(400, 50008, 'Cannot send messages in a non-text channel');
      }
      const needed = [isThread(channel) ? PermissionFlagsBits.SendMessagesInThreads : PermissionFlagsBits.SendMessages];
      if (files.length) needed.push(PermissionFlagsBits.AttachFiles);
      const messageBody = asObject(body);
      if (messageBody.message_reference) needed.push(PermissionFlagsBits.ReadMessageHistory);
      this.requireBotPermissions(channel, ...needed);
      const message = await this.newBotMessage(channel, messageBody, files, { ephemeral: false });
      this.state.storeMessage(message);
      this.events.messageCreate(message);
      this.onBotMessage(message, 'create');
      return this.state.apiMessage(message);
    });
    this.define('PATCH', '/channels/:channel/messages/:message', async ({ params, body, files }) => {
      const channel = this.channelOrThrow(params.channel);
      this.requireBotPermissions(channel);
      const message = this.messageOrThrow(channel, params.message);
      if (message.authorId !== bot.id) throw new DiscordHttpError(403, 50005, 'Cannot edit a message authored by another user');
      await this.applyEdit(message, asObject(body), files);
      this.events.messageUpdate(message);
      this.onBotMessage(message, 'update');
      return this.state.apiMessage(message);
    });
    this.define('DELETE', '/channels/:channel/messages/:message', ({ params }) => {
      const channel = this.channelOrThrow(params.channel);
      const message = this.messageOrThrow(channel, params.message);
      if (message.authorId === bot.id) this.requireBotPermissions(channel);
      else this.requireBotPermissions(channel, PermissionFlagsBits.ManageMessages);
      this.state.removeMessage(message);
      this.events.messageDelete(message);
      if (message.authorId === bot.id) this.onBotMessage(message, 'delete');
      return undefined;
    });
    this.define('POST', '/channels/:channel/messages/bulk-delete', ({ params, body }) => {
      const channel = this.channelOrThrow(params.channel);
      this.requireBotPermissions(channel, PermissionFlagsBits.ManageMessages);
      const ids = Array.isArray(asObject(body).messages) ? (asObject(body).messages as Json[]).map(String) : [];
      if (ids.length < 2 || ids.length > 100) throw invalidForm('messages', 'BASE_TYPE_BAD_LENGTH', 'Must be between 2 and 100 in length.');
      const messages = ids.map((id) => this.state.messages.get(id)).filter((message): message is StoredMessage => !!message && !message.deleted && message.channelId === channel.id);
      for (const message of messages) this.state.removeMessage(message);
      this.events.messageDeleteBulk(channel, messages.map((message) => message.id));
      return undefined;
    });

    // Reactions.
    const reactionTarget = (params: Record<string, string>) => {
      const channel = this.channelOrThrow(params.channel);
      this.requireBotPermissions(channel, PermissionFlagsBits.ReadMessageHistory);
      return { channel, message: this.messageOrThrow(channel, params.message), emoji: parseEmoji(params.emoji ?? '') };
    };
    this.define('PUT', '/channels/:channel/messages/:message/reactions/:emoji/@me', ({ params }) => {
      const { channel, message, emoji } = reactionTarget(params);
      const key = emojiKey(emoji);
      let reaction = message.reactions.get(key);
      if (!reaction || reaction.users.size === 0) this.requireBotPermissions(channel, PermissionFlagsBits.AddReactions);
      if (!reaction) {
        reaction = { emoji, users: new Set() };
        message.reactions.set(key, reaction);
      }
      if (!reaction.users.has(bot.id)) {
        reaction.users.add(bot.id);
        this.events.reactionAdd(message, reaction, bot.id);
      }
      return undefined;
    });
    const removeReaction = (params: Record<string, string>, userId: string): undefined => {
      const { channel, message, emoji } = reactionTarget(params);
      if (userId !== bot.id) this.requireBotPermissions(channel, PermissionFlagsBits.ManageMessages);
      const reaction = message.reactions.get(emojiKey(emoji));
      if (reaction?.users.delete(userId)) this.events.reactionRemove(message, reaction, userId);
      return undefined;
    };
    this.define('DELETE', '/channels/:channel/messages/:message/reactions/:emoji/@me', ({ params }) => removeReaction(params, bot.id));
    this.define('DELETE', '/channels/:channel/messages/:message/reactions/:emoji/:user', ({ params }) => removeReaction(params, params.user ?? ''));
    this.define('GET', '/channels/:channel/messages/:message/reactions/:emoji', ({ params }) => {
      const { message, emoji } = reactionTarget(params);
      const users = [...(message.reactions.get(emojiKey(emoji))?.users ?? [])];
      return users.map((id) => this.state.apiUser(this.state.user(id)));
    });

    // Interactions and their webhooks (no bot token needed, like Discord).
    this.define('POST', '/interactions/:interaction/:token/callback', (request) => this.callback(request), false);
    this.define('POST', '/webhooks/:webhook/:token', (request) => this.followUp(request), false);
    for (const method of ['GET', 'PATCH', 'DELETE']) {
      this.define(
        method,
        '/webhooks/:webhook/:token/messages/:message',
        async (request) => {
          this.checkApplication(request.params.webhook);
          if (method === 'PATCH') return this.webhookEdit(request);
          const interaction = this.interactionByToken(request.params.token);
          const message = this.webhookMessage(interaction, request.params.message);
          if (method === 'GET') return this.state.apiMessage(message);
          this.state.removeMessage(message);
          this.events.messageDelete(message);
          this.onBotMessage(message, 'delete');
          return undefined;
        },
        false,
      );
    }
  }
}
