// The fake Discord against the real discord.js client: if these pass, bot end-to-end tests can
// trust that what the bot sees and does through the fake is what it would see and do on Discord.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { inflateSync } from 'node:zlib';
// discord.js before undici: the first undici loaded installs the process-wide dispatcher, and
// discord.js's own undici 6 cannot send multipart bodies through undici 7's (see server.ts).
import {
  ActionRowBuilder,
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ButtonBuilder,
  ButtonStyle,
  ChannelType,
  Client,
  Events,
  GatewayIntentBits,
  MessageFlags,
  Partials,
  PermissionFlagsBits,
  type Interaction,
  type Message,
  type PartialMessage,
  type TextChannel,
} from 'discord.js';
import sharp from 'sharp';
import { Agent, request } from 'undici';
import WebSocket from 'ws';
import { startFakeDiscord, type FakeDiscord, type FakeGuild, type FakeUser } from './server.ts';

const INTENTS = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent, GatewayIntentBits.GuildMessageReactions];
const PARTIALS = [Partials.Message, Partials.Channel, Partials.Reaction, Partials.User];

function png(width: number, height: number, color: { r: number; g: number; b: number }): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: color } }).png().toBuffer();
}

const downloads = new Agent();

async function download(url: string): Promise<{ status: number; bytes: Buffer }> {
  const response = await request(url, { dispatcher: downloads });
  return { status: response.statusCode, bytes: Buffer.from(await response.body.arrayBuffer()) };
}

function newClient(fake: FakeDiscord): Client {
  return new Client({ intents: INTENTS, partials: PARTIALS, rest: { api: fake.apiUrl } });
}

async function login(client: Client, token: string): Promise<void> {
  const ready = once(client, Events.ClientReady);
  await client.login(token);
  await ready;
}

describe('fake Discord with a real discord.js client', () => {
  let fake: FakeDiscord;
  let client: Client;
  let guild: FakeGuild;
  let alice: FakeUser;
  let bob: FakeUser;
  let red: Buffer;
  const interactions: Interaction[] = [];
  let answerOverride: ((interaction: Interaction) => Promise<void>) | undefined;

  before(async () => {
    red = await png(64, 48, { r: 255, g: 0, b: 0 });
    fake = await startFakeDiscord();
    alice = fake.addUser({ username: 'alice' });
    bob = fake.addUser({ username: 'bob' });
    const owner = fake.addUser({ username: 'owner' });
    guild = fake.addGuild({
      name: 'Test Guild',
      ownerId: owner.id,
      locale: 'ja',
      roles: [{ name: 'Insiders' }],
      channels: [
        { name: 'general' },
        { name: 'history' },
        { name: 'secret', overwrites: [{ everyone: true, deny: PermissionFlagsBits.ViewChannel }, { role: 'Insiders', allow: PermissionFlagsBits.ViewChannel }] },
        { name: 'lewd', nsfw: true },
        { name: 'gallery', type: 'forum' },
        { name: 'post', type: 'public-thread', parent: 'gallery' },
      ],
      members: [
        { userId: alice.id, roles: ['Insiders'] },
        { userId: bob.id },
      ],
    });
    client = newClient(fake);
    client.on(Events.InteractionCreate, (interaction) => {
      interactions.push(interaction);
      void answer(interaction);
    });
    await login(client, fake.token);
  });

  after(async () => {
    await client.destroy();
    await fake.close();
  });

  /** What a bot would do: defer + edit + follow up, reply to context menus, update on buttons. */
  async function answer(interaction: Interaction): Promise<void> {
    if (answerOverride) {
      await answerOverride(interaction);
    } else if (interaction.isChatInputCommand()) {
      await interaction.deferReply({ flags: MessageFlags.Ephemeral });
      const attachment = interaction.options.getAttachment('image', true);
      const { bytes } = await download(attachment.url);
      await interaction.editReply({ content: `got ${bytes.length} bytes, count ${interaction.options.getInteger('count')}`, files: [{ attachment: bytes, name: 'echo.png' }] });
      await interaction.followUp({ content: 'page 2', flags: MessageFlags.Ephemeral });
    } else if (interaction.isMessageContextMenuCommand()) {
      const response = await interaction.reply({ content: `target ${interaction.targetMessage.id}`, withResponse: true });
      await interaction.followUp({ content: `response ${response.resource?.message?.id ?? 'none'}` });
    } else if (interaction.isButton()) {
      await interaction.update({ content: `clicked ${interaction.customId}`, components: [] });
    }
  }

  test('login: READY then GUILD_CREATE with channels, roles, overwrites and the bot member', () => {
    const cached = client.guilds.cache.get(guild.id);
    assert.ok(cached, 'guild cached');
    assert.equal(cached.name, 'Test Guild');
    assert.equal(cached.preferredLocale, 'ja');
    assert.ok(cached.roles.everyone.permissions.has(PermissionFlagsBits.ViewChannel));
    assert.equal(cached.channels.cache.get(guild.channelId('lewd'))?.isTextBased() && (cached.channels.cache.get(guild.channelId('lewd')) as TextChannel).nsfw, true);
    assert.ok(cached.channels.cache.get(guild.channelId('post'))?.isThread(), 'thread cached');
    assert.ok(cached.members.me, 'bot member present');
    assert.equal(client.user?.id, fake.botUser.id);
    assert.equal(client.application?.id, fake.applicationId);
    assert.equal(fake.identifies[0]?.intents, INTENTS.reduce((all, bit) => all | bit, 0));
  });

  test('permissions: member without ViewChannel on a private channel, as discord.js computes them', async () => {
    const cached = client.guilds.cache.get(guild.id);
    assert.ok(cached);
    const secret = cached.channels.cache.get(guild.channelId('secret'));
    assert.ok(secret && !secret.isThread());
    const bobMember = await cached.members.fetch(bob.id);
    const aliceMember = await cached.members.fetch(alice.id);
    assert.equal(bobMember.permissionsIn(secret).has(PermissionFlagsBits.ViewChannel), false);
    assert.equal(aliceMember.permissionsIn(secret).has(PermissionFlagsBits.ViewChannel), true);
    assert.equal(bobMember.permissionsIn(secret).bitfield, fake.permissionsIn(secret.id, bob.id));
    assert.equal(aliceMember.permissionsIn(secret).bitfield, fake.permissionsIn(secret.id, alice.id));
    assert.equal(cached.members.me?.permissionsIn(secret).has(PermissionFlagsBits.ViewChannel), false, 'the bot has no Insiders role either');
    const general = cached.channels.cache.get(guild.channelId('general'));
    assert.ok(general && !general.isThread());
    assert.equal(bobMember.permissionsIn(general).bitfield, fake.permissionsIn(general.id, bob.id));
  });

  test('a posted message with an attachment arrives with member, and its bytes download from the CDN', async () => {
    const received = once(client, Events.MessageCreate) as Promise<[Message]>;
    const posted = await fake.postMessage({ channelId: guild.channelId('general'), authorId: alice.id, content: 'look', attachments: [{ filename: 'red.png', bytes: red }] });
    const [message] = await received;
    assert.equal(message.id, posted.id);
    assert.equal(message.content, 'look');
    assert.equal(message.member?.id, alice.id);
    const attachment = message.attachments.first();
    assert.ok(attachment);
    assert.equal(attachment.contentType, 'image/png');
    assert.equal(attachment.width, 64);
    assert.equal(attachment.height, 48);
    assert.match(attachment.url, /\?ex=[0-9a-f]+&is=[0-9a-f]+&hm=[0-9a-f]+&$/);
    assert.deepEqual((await download(attachment.url)).bytes, red);
    const resized = await download(`${attachment.proxyURL}width=32&height=32`);
    assert.equal(resized.status, 200);
    assert.equal((await sharp(resized.bytes).metadata()).width, 32);
    const tampered = await download(attachment.url.replace(/hm=[0-9a-f]/, 'hm=x'));
    assert.equal(tampered.status, 404);
  });

  test('reply with a file (multipart) and react', async () => {
    const received = once(client, Events.MessageCreate) as Promise<[Message]>;
    const posted = await fake.postMessage({ channelId: guild.channelId('general'), authorId: alice.id, attachments: [{ filename: 'red.png', bytes: red }] });
    const [message] = await received;
    await message.reply({ content: 'seen before', embeds: [{ title: 'match', thumbnail: { url: 'attachment://collage.png' } }], files: [{ attachment: red, name: 'collage.png' }] });
    await message.react('🔍');
    const reply = fake.botMessages(posted.channelId).find((candidate) => candidate.referencedMessageId === posted.id);
    assert.ok(reply, 'reply stored');
    assert.equal(reply.content, 'seen before');
    assert.equal(reply.attachments[0]?.filename, 'collage.png');
    assert.deepEqual(reply.attachments[0]?.bytes, red);
    assert.ok(fake.uploadedFiles().some((file) => file.messageId === reply.id && file.filename === 'collage.png'));
    const thumbnail = reply.embeds[0]?.thumbnail;
    assert.equal(thumbnail?.width, 64, 'attachment:// resolved like Discord does');
    assert.deepEqual((await download(thumbnail?.url ?? '')).bytes, red);
    assert.deepEqual(fake.reactionsOn(posted.id), [{ emoji: '🔍', userIds: [fake.botUser.id], me: true }]);
  });

  test('a user reaction arrives with the member', async () => {
    const posted = await fake.postMessage({ channelId: guild.channelId('general'), authorId: alice.id, content: 'react to me', dispatch: false });
    const received = once(client, Events.MessageReactionAdd);
    fake.addReaction({ messageId: posted.id, userId: bob.id, emoji: '🔍' });
    const [reaction, user] = (await received) as [{ partial: boolean; emoji: { name: string }; message: { id: string } }, { id: string }];
    assert.equal(reaction.emoji.name, '🔍');
    assert.equal(reaction.message.id, posted.id);
    assert.equal(user.id, bob.id);
    assert.equal(reaction.partial, true, 'an uncached message gives a partial reaction');
  });

  test('deferred slash command: edit of @original with a file, then an ephemeral follow-up', async () => {
    const sent = await fake.sendSlashCommand({
      channelId: guild.channelId('general'),
      userId: alice.id,
      name: 'similar',
      locale: 'ja',
      options: [{ name: 'image', attachment: { filename: 'query.png', bytes: red } }, { name: 'count', value: 3 }],
    });
    const responses = await fake.waitFor(() => {
      const current = fake.interactionResponses(sent.id);
      return current.followUps.length > 0 ? current : undefined;
    });
    assert.deepEqual(responses.callbacks.map((callback) => callback.type), [5]);
    assert.ok(responses.ackLatencyMs !== null && responses.ackLatencyMs < 2500);
    assert.equal(responses.original?.content, `got ${red.length} bytes, count 3`);
    assert.equal(responses.original?.ephemeral, true);
    assert.deepEqual(responses.original?.attachments[0]?.bytes, red);
    assert.equal(responses.edits.length, 1);
    assert.equal(responses.followUps[0]?.content, 'page 2');
    const interaction = interactions.find((candidate) => candidate.id === sent.id);
    assert.ok(interaction?.isChatInputCommand());
    assert.equal(interaction.channelId, guild.channelId('general'));
    assert.equal(interaction.locale, 'ja');
    assert.equal(interaction.guildLocale, 'ja');
    assert.equal(interaction.memberPermissions?.bitfield, fake.permissionsIn(guild.channelId('general'), alice.id));
    assert.equal(interaction.appPermissions.bitfield, fake.permissionsIn(guild.channelId('general'), fake.botUser.id));
    assert.equal(fake.messagesIn(guild.channelId('general')).some((message) => message.interactionId === sent.id), false, 'ephemeral answers stay out of the channel');
  });

  test('a follow-up right after a deferral replaces the loading message, like Discord', async () => {
    const original = answerOverride;
    answerOverride = async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      await interaction.deferReply();
      await interaction.followUp({ content: 'done' });
    };
    try {
      const sent = await fake.sendSlashCommand({ channelId: guild.channelId('general'), userId: alice.id, name: 'stats' });
      const responses = await fake.waitFor(() => {
        const current = fake.interactionResponses(sent.id);
        return current.followUps.length > 0 ? current : undefined;
      });
      assert.equal(responses.followUps[0]?.id, responses.original?.id);
      assert.equal(responses.original?.content, 'done');
      assert.equal(responses.original?.ephemeral, false);
      assert.equal(fake.messagesIn(guild.channelId('general')).filter((message) => message.interactionId === sent.id).length, 1);
    } finally {
      answerOverride = original;
    }
  });

  test('message context menu: reply with withResponse, then a public follow-up', async () => {
    const target = await fake.postMessage({ channelId: guild.channelId('general'), authorId: bob.id, attachments: [{ filename: 'red.png', bytes: red }], dispatch: false });
    const sent = await fake.sendMessageContextCommand({ channelId: target.channelId, userId: bob.id, name: 'Find similar images', targetMessageId: target.id });
    const responses = await fake.waitFor(() => {
      const current = fake.interactionResponses(sent.id);
      return current.followUps.length > 0 ? current : undefined;
    });
    assert.equal(responses.callbacks[0]?.type, 4);
    assert.equal(responses.original?.content, `target ${target.id}`);
    assert.equal(responses.followUps[0]?.content, `response ${responses.original?.id}`);
    assert.ok(fake.messagesIn(target.channelId).some((message) => message.id === responses.original?.id), 'a public reply is in the channel');
    assert.ok(fake.requestsTo('/interactions/:interaction/:token/callback').some((request) => request.query.with_response === 'true'));
  });

  test('button click: the update callback edits the message', async () => {
    const channel = client.channels.cache.get(guild.channelId('general')) as TextChannel;
    const row = new ActionRowBuilder<ButtonBuilder>().addComponents(new ButtonBuilder().setCustomId('next:2').setLabel('Next').setStyle(ButtonStyle.Primary));
    const sentMessage = await channel.send({ content: 'page 1', components: [row] });
    const clicked = await fake.sendButton({ messageId: sentMessage.id, userId: alice.id, customId: 'next:2' });
    const updated = await fake.waitFor(() => (fake.message(sentMessage.id)?.content === 'clicked next:2' ? fake.message(sentMessage.id) : undefined));
    assert.deepEqual(updated.components, []);
    assert.deepEqual(fake.interactionResponses(clicked.id).callbacks.map((callback) => callback.type), [7]);
    const twice = new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder().setCustomId('same').setLabel('A').setStyle(ButtonStyle.Primary),
      new ButtonBuilder().setCustomId('same').setLabel('B').setStyle(ButtonStyle.Primary),
    );
    await assert.rejects(channel.send({ content: 'dup', components: [twice] }), { code: 50035 });
    await assert.rejects(channel.send({ embeds: [{ title: 'x', image: { url: 'file:///etc/passwd' } }] }), { code: 50035 });
  });

  test('history: 250 messages paged with before/limit, newest first, no gaps', async () => {
    const channelId = guild.channelId('history');
    const start = Date.now() - 3_600_000;
    for (let index = 0; index < 250; index += 1) {
      await fake.postMessage({ channelId, authorId: alice.id, content: `m${index}`, createdAt: new Date(start + index * 1000), dispatch: false });
    }
    const channel = client.channels.cache.get(channelId) as TextChannel;
    const seen: string[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await channel.messages.fetch({ limit: 100, before, cache: false });
      if (page.size === 0) break;
      seen.push(...page.map((message) => message.content));
      before = page.last()?.id;
    }
    assert.equal(seen.length, 250);
    assert.equal(seen[0], 'm249');
    assert.equal(seen[249], 'm0');
    assert.equal(new Set(seen).size, 250);
    const around = await channel.messages.fetch({ around: fake.messagesIn(channelId)[100]?.id ?? '', limit: 5, cache: false });
    assert.deepEqual(around.map((message) => message.content), ['m102', 'm101', 'm100', 'm99', 'm98']);
  });

  test('an injected 429 and a 500 are retried by discord.js REST', async () => {
    const channel = client.channels.cache.get(guild.channelId('general')) as TextChannel;
    fake.injectFailure({ route: '/channels/:channel/messages', method: 'POST', status: 429, retryAfterMs: 50 });
    fake.injectFailure({ route: '/channels/:channel/messages', method: 'POST', status: 500 });
    const before = fake.requestsTo('/channels/:channel/messages', 'POST').length;
    const sent = await channel.send('after retries');
    const statuses = fake.requestsTo('/channels/:channel/messages', 'POST').slice(before).map((recorded) => recorded.status);
    assert.deepEqual(statuses, [429, 500, 200]);
    assert.equal(fake.message(sent.id)?.content, 'after retries');
  });

  test('REST refuses what the bot may not do, with Discord error codes', async () => {
    await assert.rejects(client.channels.fetch(guild.channelId('secret'), { force: true }), { code: 50001 });
    const general = client.channels.cache.get(guild.channelId('general')) as TextChannel;
    await assert.rejects(general.messages.fetch('1'), { code: 10008 });
    const forum = client.channels.cache.get(guild.channelId('gallery'));
    assert.ok(forum);
    await assert.rejects(client.rest.post(`/channels/${forum.id}/messages`, { body: { content: 'x' } }), { code: 50008 });
    const general2 = await fake.postMessage({ channelId: general.id, authorId: alice.id, content: 'not yours', dispatch: false });
    await assert.rejects(client.rest.patch(`/channels/${general.id}/messages/${general2.id}`, { body: { content: 'mine now' } }), { code: 50005 });
    await assert.rejects(general.send({ content: 'x'.repeat(2001) }), { code: 50035 });
  });

  test('archived threads: lists page by archive time with has_more; private ones need Manage Threads or membership; media channels hold only posts', async () => {
    type ThreadList = { threads: Array<{ id: string; thread_metadata: { archive_timestamp: string } }>; members: Array<{ id: string }>; has_more: boolean };
    const media = fake.addChannel(guild.id, { name: 'art', type: 'media' });
    const base = Date.now() - 10 * 86_400_000;
    const posts = [0, 1, 2].map((n) => fake.addChannel(guild.id, { name: `art-${n}`, type: 'public-thread', parent: media.id, archived: true, archivedAt: new Date(base + n * 3_600_000) }));
    const ids = posts.map((post) => post.id);
    const list = (path: string, query: Record<string, string> = {}): Promise<ThreadList> => client.rest.get(path as `/${string}`, { query: new URLSearchParams(query) }) as Promise<ThreadList>;
    const first = await list(`/channels/${media.id}/threads/archived/public`, { limit: '2' });
    assert.deepEqual(first.threads.map((thread) => thread.id), [ids[2], ids[1]], 'newest archive first');
    assert.equal(first.has_more, true);
    const second = await list(`/channels/${media.id}/threads/archived/public`, { limit: '2', before: first.threads[1]?.thread_metadata.archive_timestamp ?? '' });
    assert.deepEqual(second.threads.map((thread) => thread.id), [ids[0]]);
    assert.equal(second.has_more, false);
    await assert.rejects(client.rest.post(`/channels/${media.id}/messages`, { body: { content: 'x' } }), { code: 50008 });
    assert.equal((await client.channels.fetch(media.id))?.type, ChannelType.GuildMedia);

    const general = guild.channelId('general');
    const joined = fake.addChannel(guild.id, { name: 'joined', type: 'private-thread', parent: general, archived: true, members: [fake.applicationId] });
    const closed = fake.addChannel(guild.id, { name: 'closed', type: 'private-thread', parent: general, archived: true });
    await assert.rejects(list(`/channels/${general}/threads/archived/private`), { code: 50013 }, 'all private threads need Manage Threads');
    const mine = await list(`/channels/${general}/users/@me/threads/archived/private`);
    assert.deepEqual(mine.threads.map((thread) => thread.id), [joined.id]);
    assert.deepEqual(mine.members.map((member) => member.id), [joined.id], 'with the bot’s thread member');
    await assert.rejects(client.rest.get(`/channels/${closed.id}/messages`), { code: 50001 }, 'a private thread the bot is not in');
  });

  test('deletes of uncached messages arrive as partials; bulk deletes too', async () => {
    const old = await fake.postMessage({ channelId: guild.channelId('general'), authorId: alice.id, content: 'old', dispatch: false });
    const deleted = once(client, Events.MessageDelete) as Promise<[Message | PartialMessage]>;
    fake.deleteMessage(old.id);
    const [message] = await deleted;
    assert.equal(message.id, old.id);
    assert.equal(message.partial, true);
    const first = await fake.postMessage({ channelId: guild.channelId('general'), authorId: alice.id, content: 'a', dispatch: false });
    const second = await fake.postMessage({ channelId: guild.channelId('general'), authorId: alice.id, content: 'b', dispatch: false });
    const bulk = once(client, Events.MessageBulkDelete) as Promise<[Map<string, PartialMessage>]>;
    fake.bulkDelete(guild.channelId('general'), [first.id, second.id]);
    const [messages] = await bulk;
    assert.deepEqual([...messages.keys()].sort(), [first.id, second.id].sort());
  });

  test('a late unfurl arrives as MESSAGE_UPDATE with an image embed served by the media proxy', async () => {
    const received = once(client, Events.MessageCreate) as Promise<[Message]>;
    const posted = await fake.postMessage({ channelId: guild.channelId('general'), authorId: alice.id, content: 'https://images.example.com/red.png' });
    await received;
    const updated = once(client, Events.MessageUpdate) as Promise<[Message | PartialMessage, Message]>;
    await fake.editMessage({ messageId: posted.id, embeds: [await fake.imageEmbed({ bytes: red, filename: 'red.png' })], unfurl: true });
    const [, after] = await updated;
    const embed = after.embeds[0];
    assert.ok(embed?.thumbnail?.proxyURL);
    assert.equal(embed.thumbnail.width, 64);
    assert.equal(after.editedTimestamp, null);
    assert.deepEqual((await download(embed.thumbnail.proxyURL)).bytes, red);
  });

  test('thread messages, channel delete and leaving a guild reach the client', async () => {
    const received = once(client, Events.MessageCreate) as Promise<[Message]>;
    await fake.postMessage({ channelId: guild.channelId('post'), authorId: alice.id, attachments: [{ filename: 'red.png', bytes: red }] });
    const [message] = await received;
    assert.ok(message.channel.isThread());
    assert.equal(message.channel.parentId, guild.channelId('gallery'));

    const threadDeleted = once(client, Events.ThreadDelete);
    fake.deleteChannel(guild.channelId('post'));
    await threadDeleted;
    const channelDeleted = once(client, Events.ChannelDelete);
    fake.deleteChannel(guild.channelId('lewd'));
    await channelDeleted;

    const other = fake.addGuild({ name: 'Second', ownerId: alice.id, channels: [{ name: 'chat' }] });
    const [joined] = (await once(client, Events.GuildCreate)) as [{ id: string }];
    assert.equal(joined.id, other.id);
    const left = once(client, Events.GuildDelete);
    fake.removeBotFromGuild(other.id);
    const [gone] = (await left) as [{ id: string }];
    assert.equal(gone.id, other.id);
    assert.equal(client.guilds.cache.has(other.id), false);
  });

  test('deploying commands: global and guild PUT, ids kept on redeploy, invalid names refused', async () => {
    const application = client.application;
    assert.ok(application);
    const definitions = [
      { name: 'similar', description: 'Find similar images', options: [{ name: 'image', description: 'An image', type: ApplicationCommandOptionType.Attachment }] },
      { name: 'Find similar images', type: ApplicationCommandType.Message },
    ] as const;
    const first = await application.commands.set([...definitions]);
    const second = await application.commands.set([...definitions]);
    assert.deepEqual([...second.keys()].sort(), [...first.keys()].sort());
    assert.equal(fake.commands().length, 2);
    await assert.rejects(application.commands.set([{ name: 'Bad Name', description: 'x' }]), { code: 50035 });
    await assert.rejects(application.commands.set([{ name: 'similar', description: 'x', nameLocalizations: { jp: 'ruiji' } as Record<string, string> }]), { code: 50035 });
    const optionalFirst = [
      { name: 'count', description: 'How many', type: ApplicationCommandOptionType.Integer },
      { name: 'image', description: 'An image', type: ApplicationCommandOptionType.Attachment, required: true },
    ] as const;
    await assert.rejects(application.commands.set([{ name: 'similar', description: 'x', options: [...optionalFirst] }]), { code: 50035 });
    await application.commands.set([{ ...definitions[0], options: [...definitions[0].options], nameLocalizations: { ja: '類似画像' }, descriptionLocalizations: { ja: '似た画像を探す' } }], guild.id);
    assert.equal(fake.commands(guild.id).length, 1);
    assert.deepEqual(fake.commands(guild.id)[0]?.name_localizations, { ja: '類似画像' });
    const slash = await fake.sendSlashCommand({ channelId: guild.channelId('general'), userId: alice.id, name: 'similar', options: [{ name: 'image', attachment: { filename: 'q.png', bytes: red } }] });
    assert.equal((slash.payload.data as { id?: string }).id, fake.commands(guild.id)[0]?.id, 'the guild command wins');
    await fake.waitFor(() => fake.interactionResponses(slash.id).followUps.length > 0);
  });

  test('subcommands with channel and user options arrive resolved, typed from the deployed definition', async () => {
    const application = client.application;
    assert.ok(application);
    await application.commands.set(
      [
        {
          name: 'dejavu',
          description: 'Settings',
          options: [
            { name: 'backfill', description: 'Crawl history', type: ApplicationCommandOptionType.Subcommand, options: [{ name: 'channel', description: 'Where', type: ApplicationCommandOptionType.Channel }] },
            { name: 'stats', description: 'Numbers', type: ApplicationCommandOptionType.Subcommand },
            { name: 'who', description: 'Someone', type: ApplicationCommandOptionType.Subcommand, options: [{ name: 'user', description: 'Who', type: ApplicationCommandOptionType.User }] },
          ],
        },
      ],
      guild.id,
    );
    const seen: string[] = [];
    const original = answerOverride;
    answerOverride = async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      const channel = interaction.options.getChannel('channel');
      const user = interaction.options.getUser('user');
      seen.push(`${interaction.options.getSubcommand()} ${channel?.id ?? '-'} ${user?.id ?? '-'}`);
      await interaction.reply({ content: 'ok', flags: MessageFlags.Ephemeral });
    };
    try {
      const history = guild.channelId('history');
      const backfill = await fake.sendSlashCommand({ channelId: guild.channelId('general'), userId: alice.id, name: 'dejavu', options: [{ name: 'backfill', options: [{ name: 'channel', value: history }] }] });
      const stats = await fake.sendSlashCommand({ channelId: guild.channelId('general'), userId: alice.id, name: 'dejavu', options: [{ name: 'stats' }] });
      const who = await fake.sendSlashCommand({ channelId: guild.channelId('general'), userId: alice.id, name: 'dejavu', options: [{ name: 'who', options: [{ name: 'user', value: bob.id }] }] });
      await fake.waitFor(() => [backfill, stats, who].every((sent) => fake.interactionResponses(sent.id).acknowledged));
      assert.deepEqual(seen, [`backfill ${history} -`, 'stats - -', `who - ${bob.id}`]);
      await assert.rejects(fake.sendSlashCommand({ channelId: guild.channelId('general'), userId: alice.id, name: 'dejavu', options: [{ name: 'nope' }] }), /no option nope/);
    } finally {
      answerOverride = original;
    }
  });

  test('expired attachment URLs: refetching the message gives a fresh working URL', async () => {
    const posted = await fake.postMessage({ channelId: guild.channelId('general'), authorId: alice.id, attachments: [{ filename: 'red.png', bytes: red }], dispatch: false });
    fake.invalidateAttachmentUrls();
    assert.equal((await download(posted.attachments[0]?.url ?? '')).status, 404);
    const channel = client.channels.cache.get(guild.channelId('general')) as TextChannel;
    const fresh = await channel.messages.fetch({ message: posted.id, force: true });
    assert.deepEqual((await download(fresh.attachments.first()?.url ?? '')).bytes, red);
  });

  test('onBotMessage reports the bot\'s messages as they happen; mentions are resolved', async () => {
    const seen: string[] = [];
    const unsubscribe = fake.onBotMessage((message, change) => seen.push(`${change}:${message.content}`));
    const channel = client.channels.cache.get(guild.channelId('general')) as TextChannel;
    const sent = await channel.send('first');
    await sent.edit('second');
    await sent.delete();
    unsubscribe();
    assert.deepEqual(seen, ['create:first', 'update:second', 'delete:second']);
    const received = once(client, Events.MessageCreate) as Promise<[Message]>;
    await fake.postMessage({ channelId: guild.channelId('general'), authorId: alice.id, content: `hey <@${fake.botUser.id}>` });
    const [message] = await received;
    assert.ok(client.user && message.mentions.has(client.user));
  });

  test('gateway RECONNECT: discord.js resumes and missed events are replayed', async () => {
    const identifies = fake.identifies.length;
    fake.dropGatewayConnections(4000);
    const received = once(client, Events.MessageCreate) as Promise<[Message]>;
    const posted = await fake.postMessage({ channelId: guild.channelId('general'), authorId: alice.id, content: 'while away' });
    const [message] = await received;
    assert.equal(message.id, posted.id);
    assert.equal(fake.identifies.length, identifies, 'resumed, not re-identified');
    assert.equal(fake.gatewaySessions().find((session) => session.connected)?.resumes, 1);
    fake.reconnectGateway();
    await fake.waitFor(() => fake.gatewaySessions().find((session) => session.connected && session.resumes === 2));
    const again = once(client, Events.MessageCreate) as Promise<[Message]>;
    const second = await fake.postMessage({ channelId: guild.channelId('general'), authorId: alice.id, content: 'after op 7' });
    assert.equal((await again)[0].id, second.id);
    assert.equal(fake.identifies.length, identifies);
  });
});

describe('fake Discord protocol edges', () => {
  test('bad token closes with 4004; intents filter content; guilds go to their shard', async () => {
    const fake = await startFakeDiscord({ shards: 2 });
    try {
      const owner = fake.addUser({ username: 'owner' });
      // Shard = (guild id >> 22) % shards: ids one millisecond apart alternate shards.
      const guilds = Array.from({ length: 4 }, (_, index) =>
        fake.addGuild({ id: String(BigInt(Date.now() - 1_420_070_400_000 + index) << 22n), name: `g${index}`, ownerId: owner.id, channels: [{ name: 'chat' }] }),
      );
      const bad = new WebSocket(`${fake.gatewayUrl}?v=10&encoding=json`);
      await once(bad, 'message');
      bad.send(JSON.stringify({ op: 2, d: { token: 'nope', intents: 1, properties: {} } }));
      const [code] = (await once(bad, 'close')) as [number];
      assert.equal(code, 4004);

      const socket = new WebSocket(`${fake.gatewayUrl}?v=10&encoding=json`);
      const frames: Array<{ op: number; t: string | null; s: number | null; d: { guilds?: Array<{ id: string }>; content?: string; id?: string } }> = [];
      socket.on('message', (data) => frames.push(JSON.parse(data.toString()) as (typeof frames)[number]));
      await once(socket, 'open');
      const intents = GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages;
      socket.send(JSON.stringify({ op: 2, d: { token: fake.token, intents, properties: {}, shard: [1, 2] } }));
      await fake.waitFor(() => frames.some((frame) => frame.t === 'READY'));
      const readyGuilds = frames.find((frame) => frame.t === 'READY')?.d.guilds?.map((entry) => entry.id) ?? [];
      const expected = guilds.filter((entry) => Number((BigInt(entry.id) >> 22n) % 2n) === 1).map((entry) => entry.id);
      assert.deepEqual(readyGuilds.sort(), expected.sort());
      const mine = guilds.find((entry) => expected.includes(entry.id));
      assert.ok(mine, 'some guild on shard 1');
      await fake.postMessage({ channelId: mine.channelId('chat'), authorId: owner.id, content: 'secret words' });
      const created = await fake.waitFor(() => frames.find((frame) => frame.t === 'MESSAGE_CREATE'));
      assert.equal(created.d.content, '', 'no MessageContent intent → empty content');
      const sequences = frames.filter((frame) => frame.op === 0).map((frame) => frame.s);
      assert.deepEqual(sequences, sequences.map((_, index) => index + 1));
      socket.send(JSON.stringify({ op: 1, d: sequences.length }));
      await fake.waitFor(() => frames.some((frame) => frame.op === 11));
      socket.close(1000);
      await once(socket, 'close');

      const compressed = new WebSocket(`${fake.gatewayUrl}?v=10&encoding=json`);
      const binary: Buffer[] = [];
      compressed.on('message', (data, isBinary) => isBinary && binary.push(data as Buffer));
      await once(compressed, 'open');
      compressed.send(JSON.stringify({ op: 2, d: { token: fake.token, intents, properties: {}, compress: true } }));
      const first = await fake.waitFor(() => binary[0]);
      assert.equal((JSON.parse(inflateSync(first).toString()) as { t: string }).t, 'READY');
      compressed.close(1000);
      await once(compressed, 'close');
    } finally {
      await fake.close();
    }
  });

  test('discord.js with shards: auto follows /gateway/bot and gets each guild on its shard', async () => {
    const fake = await startFakeDiscord({ shards: 2 });
    const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiUrl }, shards: 'auto' });
    try {
      const owner = fake.addUser({ username: 'owner' });
      for (let index = 0; index < 4; index += 1) {
        fake.addGuild({ id: String(BigInt(Date.now() - 1_420_070_400_000 + index) << 22n), name: `g${index}`, ownerId: owner.id });
      }
      await login(client, fake.token);
      assert.equal(client.guilds.cache.size, 4);
      assert.deepEqual(fake.gatewaySessions().map((session) => session.shard.join('/')).sort(), ['0/2', '1/2']);
      for (const cached of client.guilds.cache.values()) assert.equal(cached.shardId, Number((BigInt(cached.id) >> 22n) % 2n));
    } finally {
      await client.destroy();
      await fake.close();
    }
  });

  test('CDN failures, slow answers and redirects can be injected', async () => {
    const fake = await startFakeDiscord();
    try {
      const owner = fake.addUser({ username: 'owner' });
      const guild = fake.addGuild({ name: 'g', ownerId: owner.id, channels: [{ name: 'chat' }] });
      const posted = await fake.postMessage({ channelId: guild.channelId('chat'), authorId: owner.id, attachments: [{ filename: 'a.bin', bytes: Buffer.from('payload') }] });
      const url = posted.attachments[0]?.url ?? '';
      fake.injectCdnFailure({ match: posted.attachments[0]?.id, status: 503 });
      assert.equal((await download(url)).status, 503);
      assert.equal((await download(url)).bytes.toString(), 'payload');
      fake.injectCdnFailure({ delayMs: 150 });
      const started = Date.now();
      assert.equal((await download(url)).status, 200);
      assert.ok(Date.now() - started >= 140);
      const redirected = await request(fake.redirectUrl('http://169.254.169.254/latest'), { dispatcher: downloads });
      assert.equal(redirected.statusCode, 302);
      assert.equal(redirected.headers.location, 'http://169.254.169.254/latest');
      await redirected.body.dump();
      assert.deepEqual(fake.cdnRequests.map((entry) => entry.status), [503, 200, 200, 302]);
    } finally {
      await fake.close();
    }
  });

  test('interaction callbacks: late → 10062, twice → 40060; expired CDN URLs → 404', async () => {
    const fake = await startFakeDiscord({ interactionAckTimeoutMs: 30, attachmentUrlTtlMs: 0 });
    try {
      const owner = fake.addUser({ username: 'owner' });
      const guild = fake.addGuild({ name: 'g', ownerId: owner.id, channels: [{ name: 'chat' }] });
      const callback = (id: string, token: string) =>
        request(`${fake.apiUrl}/v10/interactions/${id}/${token}/callback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 4, data: { content: 'hi' } }) });
      const late = await fake.sendSlashCommand({ channelId: guild.channelId('chat'), userId: owner.id, name: 'similar' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const lateResponse = await callback(late.id, late.token);
      assert.equal(lateResponse.statusCode, 404);
      assert.equal(((await lateResponse.body.json()) as { code: number }).code, 10062);
      const twice = await fake.sendSlashCommand({ channelId: guild.channelId('chat'), userId: owner.id, name: 'similar' });
      assert.equal((await callback(twice.id, twice.token)).statusCode, 204);
      const again = await callback(twice.id, twice.token);
      assert.equal(again.statusCode, 400);
      assert.equal(((await again.body.json()) as { code: number }).code, 40060);

      const posted = await fake.postMessage({ channelId: guild.channelId('chat'), authorId: owner.id, attachments: [{ filename: 'a.txt', bytes: Buffer.from('x') }] });
      const expired = await download(posted.attachments[0]?.url ?? '');
      assert.equal(expired.status, 404);
      const unknown = await request(`${fake.apiUrl}/v10/nowhere`, { headers: { authorization: `Bot ${fake.token}` } });
      assert.equal(unknown.statusCode, 404);
      assert.deepEqual(await unknown.body.json(), { message: '404: Not Found', code: 0 });
    } finally {
      await fake.close();
    }
  });
});
