/**
 * One fake Discord + one real bot (real model, real store in a temp DATA_DIR) per test file.
 * Three users: the owner, `alice` (member with the Members role) and `bob` (member without it);
 * channels: #general, #memes, #secret (Members only), #lewd (NSFW), #log.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PermissionFlagsBits, Routes } from 'discord.js';
import { parseConfig, type Config } from '../../src/config.ts';
import { startBot, type BotHandle } from '../../src/discord/bot.ts';
import { createEmbedder, embedderOptionsFromConfig } from '../../src/embedding/index.ts';
import { commandDefinitions } from '../../src/discord/commands.ts';
import { startFakeDiscord, type FakeDiscord, type FakeGuild, type FakeMessage, type FakeUser } from '../fake-discord/server.ts';
import { botModelDir, SHARED_MODEL_DIR } from '../helpers/shared.ts';

export interface Harness {
  fake: FakeDiscord;
  bot: BotHandle;
  config: Config;
  guild: FakeGuild;
  owner: FakeUser;
  alice: FakeUser;
  bob: FakeUser;
  dataDir: string;
  /**
   * Stops the bot (flushing its store) and starts a fresh one on the same DATA_DIR; `whileDown` runs in
   * between, with no bot connected (messages posted then reach no gateway).
   */
  restartBot(whileDown?: () => Promise<void>): Promise<BotHandle>;
  /** Posts a message with one image attachment and waits until the bot has handled it. */
  postImage(channel: string, author: FakeUser, filename: string, bytes: Buffer, content?: string): Promise<FakeMessage>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Extra environment for the bot's config. */
  env?: Record<string, string>;
  /** Builds history before the bot connects (e.g. messages stored with `dispatch: false`). */
  beforeStart?: (fake: FakeDiscord, guild: FakeGuild, users: { owner: FakeUser; alice: FakeUser; bob: FakeUser }) => Promise<void>;
}

/** The environment of a bot under test: the fake Discord's API and CDN, a data folder, the installed model. */
export function botEnvironment(fake: FakeDiscord, dataDir: string): Record<string, string> {
  return {
    DISCORD_TOKEN: fake.token,
    DISCORD_API_URL: fake.apiUrl,
    // Host and port of the fake CDN; loopback is allowed only because it is listed exactly.
    CDN_ALLOWED_HOSTS: fake.cdnHost,
    DATA_DIR: dataDir,
    MODEL_DIR: botModelDir() ?? SHARED_MODEL_DIR,
    EMBEDDING_BACKEND: 'wasm',
    EMBEDDING_WORKERS: '1',
  };
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const fake = await startFakeDiscord();
  const owner = fake.addUser({ username: 'owner' });
  const alice = fake.addUser({ username: 'alice' });
  const bob = fake.addUser({ username: 'bob' });
  const guild = fake.addGuild({
    name: 'Dejavu test',
    ownerId: owner.id,
    roles: [{ name: 'Members' }],
    channels: [
      { name: 'general' },
      { name: 'memes' },
      {
        name: 'secret',
        overwrites: [
          { everyone: true, deny: PermissionFlagsBits.ViewChannel },
          { role: 'Members', allow: PermissionFlagsBits.ViewChannel },
        ],
      },
      { name: 'lewd', nsfw: true },
      { name: 'log' },
      { name: 'history' },
    ],
    members: [{ userId: owner.id }, { userId: alice.id, roles: ['Members'] }, { userId: bob.id }],
    // The bot may read #secret (as a real bot with the role would); its answers must still respect each user.
    botRoles: ['Members'],
  });
  await options.beforeStart?.(fake, guild, { owner, alice, bob });
  const dataDir = await mkdtemp(join(tmpdir(), 'dejavu-bot-'));
  const config = parseConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    ...botEnvironment(fake, dataDir),
    ...options.env,
  });
  // One embedder for the file: a restart reopens the store (what is tested) without reloading the model.
  const embedder = await createEmbedder(embedderOptionsFromConfig(config));
  let bot = await startBot(config, { overrides: { embedder } });
  await bot.client.rest.put(Routes.applicationGuildCommands(fake.applicationId, guild.id), { body: commandDefinitions() });

  const harness: Harness = {
    fake,
    get bot() {
      return bot;
    },
    config,
    guild,
    owner,
    alice,
    bob,
    dataDir,
    async restartBot(whileDown) {
      await bot.stop();
      await whileDown?.();
      bot = await startBot(config, { overrides: { embedder } });
      return bot;
    },
    async postImage(channel, author, filename, bytes, content) {
      const posted = await fake.postMessage({ channelId: guild.channelId(channel), authorId: author.id, content: content ?? '', attachments: [{ filename, bytes }] });
      await waitIndexed(harness, posted.id);
      return posted;
    },
    async close() {
      await bot.stop().catch(() => undefined);
      await embedder.close();
      await fake.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** Waits until the bot has received a message and finished every handler it started (incl. indexing). */
export async function waitIndexed(harness: Harness, messageId: string, timeoutMs = 30_000): Promise<void> {
  await harness.fake.waitFor(() => harness.bot.client.channels.cache.some((channel) => channel.isTextBased() && channel.messages.cache.has(messageId)), timeoutMs, `bot received ${messageId}`);
  await harness.bot.settle();
}

/** The message ids linked from a text (jump links), in order. */
export function linkedMessageIds(text: string): string[] {
  return [...text.matchAll(/https:\/\/discord\.com\/channels\/\d+\/\d+\/(\d+)/g)].map((match) => match[1] ?? '');
}

/** Jump links of an answer's embeds (one per match, best first). */
export function answerLinks(message: FakeMessage | null | undefined): string[] {
  return (message?.embeds ?? []).flatMap((embed) => linkedMessageIds(embed.description ?? ''));
}
