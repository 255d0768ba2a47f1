/**
 * Two machines, one shard each (DISCORD_SHARD_COUNT=2, DISCORD_SHARD_LIST=0 and =1): two `src/shard.ts`
 * processes against the fake Discord, sharing PostgreSQL (VECTOR_STORE=postgres, KEYV_URL; a fresh
 * database of TEST_POSTGRES_URL) and Redis (REDIS_URL: locks and the job queue; a fresh key prefix).
 * In a guild of each shard: indexing, a duplicate notice, /similar, a private channel, a deletion. Then a
 * /dejavu backfill of a big channel; the shard process running the job is SIGKILLed mid-way, and the job is
 * finished by another worker (the other machine or the respawned shard) with every image indexed once.
 * Real embeddings in the bots. Skips visibly without ../shared, TEST_POSTGRES_URL or TEST_REDIS_URL.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { ApplicationCommandOptionType, Client, Events, PermissionFlagsBits, REST, Routes } from 'discord.js';
import pg from 'pg';
import { Queue, createNodeRedisClient, type Job } from 'bullmq';
import { parseConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';
import { restHistoryFetcher } from '../../src/discord/backfill.ts';
import { INTENTS, PARTIALS } from '../../src/discord/client.ts';
import { commandDefinitions } from '../../src/discord/commands.ts';
import { QUEUE_NAME } from '../../src/services/jobs/bullmq.ts';
import { newRedisClient } from '../../src/services/locks.ts';
import { openConfiguredStore, type ConfiguredStore } from '../../src/store/open.ts';
import { shardOf } from '../fake-discord/gateway.ts';
import { startFakeDiscord, type FakeDiscord, type FakeGuild, type FakeMessage, type FakeUser } from '../fake-discord/server.ts';
import { modelSkip } from '../helpers/shared.ts';
import { pictureGroups, scene } from '../helpers/pictures.ts';
import { answerLinks, botEnvironment, linkedMessageIds } from './harness.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const POSTGRES_URL = process.env.TEST_POSTGRES_URL;
const REDIS_URL = process.env.TEST_REDIS_URL;
const skip = modelSkip() || (POSTGRES_URL === undefined
    ? 'SKIPPED: TEST_POSTGRES_URL is not set (source .ci/services.sh && start_services)'
    : REDIS_URL === undefined
      ? 'SKIPPED: TEST_REDIS_URL is not set (source .ci/services.sh && start_services)'
      : false);
if (skip) console.warn(skip);

const DISCORD_EPOCH = 1_420_070_400_000n;
const HISTORY_MESSAGES = 450;
/** Every 3rd history message carries an image; four pictures reused (exact copies skip the embedder). */
const IMAGE_EVERY = 3;
const JOB_LOCK_MS = 3000;

interface Machine {
  shard: number;
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

let fake: FakeDiscord;
let owner: FakeUser;
let alice: FakeUser;
let bob: FakeUser;
/** guilds[n] lives on shard n. */
const guilds: FakeGuild[] = [];
const machines: Machine[] = [];
const dataDirs: string[] = [];
let database: string;
let databaseUrl: string;
let redisPrefix: string;
let store: ConfiguredStore;
let groups: Buffer[][] = [];
let distractors: Buffer[] = [];
let historyMessages: FakeMessage[] = [];

async function waitUntil<T>(probe: () => Promise<T | undefined | false | null> | T | undefined | false | null, timeoutMs: number, description: string): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}\n${machines.map((machine) => `--- shard ${machine.shard} stderr:\n${machine.stderr().slice(-3000)}`).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function group(index: number): Buffer[] {
  const found = groups[index];
  assert.ok(found, `picture group ${index}`);
  return found;
}

function pick(picture: Buffer | undefined): Buffer {
  assert.ok(picture, 'a drawn picture');
  return picture;
}

function environment(shard: number, dataDir: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    LOG_LEVEL: 'warn',
    ...botEnvironment(fake, dataDir),
    VECTOR_STORE: 'postgres',
    DATABASE_URL: databaseUrl,
    KEYV_URL: databaseUrl,
    REDIS_URL: REDIS_URL ?? '',
    REDIS_PREFIX: redisPrefix,
    DISCORD_SHARD_COUNT: '2',
    DISCORD_SHARD_LIST: String(shard),
    JOB_LOCK_MS: String(JOB_LOCK_MS),
    JOB_BACKOFF_MS: '500',
  };
}

/** One machine: `src/shard.ts` in its own process group (so the manager and its shard can be stopped together). */
function startMachine(shard: number, dataDir: string): Machine {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/shard.ts'], { cwd: ROOT, env: environment(shard, dataDir), stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { shard, child, stderr: () => stderr, exited };
}

async function stopMachine(machine: Machine): Promise<void> {
  if (machine.child.exitCode !== null || machine.child.pid === undefined) return;
  const group = -machine.child.pid;
  process.kill(group, 'SIGTERM');
  const timer = setTimeout(() => {
    try {
      process.kill(group, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 30_000);
  await machine.exited;
  clearTimeout(timer);
}

function connected(shard: number): boolean {
  return fake.gatewaySessions().some((session) => session.connected && session.shard[0] === shard && session.shard[1] === 2);
}

async function indexed(guild: FakeGuild, message: FakeMessage): Promise<void> {
  const sourceKey = message.attachments[0]?.id ?? '';
  await waitUntil(() => store.getBySource(guild.id, sourceKey), 60_000, `image of ${message.id} indexed`);
}

async function post(guild: FakeGuild, channel: string, author: FakeUser, photo: Buffer): Promise<FakeMessage> {
  const message = await fake.postMessage({ channelId: guild.channelId(channel), authorId: author.id, attachments: [{ filename: 'photo.jpg', bytes: photo }] });
  await indexed(guild, message);
  return message;
}

async function similar(guild: FakeGuild, userId: string, photo: Buffer): Promise<string[]> {
  const interaction = await fake.sendSlashCommand({
    channelId: guild.channelId('general'),
    userId,
    name: 'similar',
    options: [{ name: 'image', attachment: { filename: 'query.jpg', bytes: photo } }, { name: 'count', value: 5 }],
  });
  const answer = await waitUntil(() => {
    const responses = fake.interactionResponses(interaction.id);
    return responses.edits.length > 0 ? responses.original : undefined;
  }, 30_000, `answer to /similar in ${guild.name}`);
  return answerLinks(answer);
}

before(async () => {
  if (skip) return;
  ({ groups, distractors } = await pictureGroups(4, 4));
  database = `dejavu_shards_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const url = new URL(POSTGRES_URL ?? '');
  url.pathname = `/${database}`;
  databaseUrl = url.toString();
  redisPrefix = `test-shards-${process.pid}-${Date.now()}`;

  fake = await startFakeDiscord({ shards: 2 });
  owner = fake.addUser({ username: 'owner' });
  alice = fake.addUser({ username: 'alice' });
  bob = fake.addUser({ username: 'bob' });
  // Shard = (guild id >> 22) % 2: guild ids one millisecond apart land on different shards.
  const base = BigInt(Date.now()) - DISCORD_EPOCH;
  for (let offset = 0n; guilds.length < 2; offset += 1n) {
    const id = String((base + offset) << 22n);
    if (shardOf(id, 2) !== guilds.length) continue;
    guilds.push(
      fake.addGuild({
        id,
        name: `shard-${guilds.length}`,
        ownerId: owner.id,
        roles: [{ name: 'Members' }],
        channels: [
          { name: 'general' },
          { name: 'memes' },
          { name: 'secret', overwrites: [{ everyone: true, deny: PermissionFlagsBits.ViewChannel }, { role: 'Members', allow: PermissionFlagsBits.ViewChannel }] },
          { name: 'history' },
        ],
        members: [{ userId: owner.id }, { userId: alice.id, roles: ['Members'] }, { userId: bob.id }],
        botRoles: ['Members'],
      }),
    );
  }
  const rest = new REST({ api: fake.apiUrl }).setToken(fake.token);
  for (const guild of guilds) await rest.put(Routes.applicationGuildCommands(fake.applicationId, guild.id), { body: commandDefinitions() });

  // History of shard 0's guild that no bot has seen: the backfill's work.
  const start = Date.now() - 2 * 24 * 3600 * 1000;
  for (let index = 0; index < HISTORY_MESSAGES; index += 1) {
    const withImage = index % IMAGE_EVERY === 0;
    historyMessages.push(
      await fake.postMessage({
        channelId: guilds[0]!.channelId('history'),
        authorId: alice.id,
        content: `message ${index}`,
        createdAt: new Date(start + index * 60_000),
        dispatch: false,
        ...(withImage ? { attachments: [{ filename: `history-${index}.jpg`, bytes: pick(distractors[(index / IMAGE_EVERY) % 4]) }] } : {}),
      }),
    );
  }
  historyMessages = historyMessages.filter((message) => message.attachments.length > 0);

  for (const shard of [0, 1]) {
    const dataDir = await mkdtemp(join(tmpdir(), `dejavu-shard${shard}-`));
    dataDirs.push(dataDir);
    machines.push(startMachine(shard, dataDir));
  }
  store = await openConfiguredStore(parseConfig({ ...environment(0, dataDirs[0]!), LOG_LEVEL: 'silent' }), undefined);
  await waitUntil(() => connected(0) && connected(1), 120_000, 'both shards to connect');
});

after(async () => {
  if (skip) return;
  await Promise.all(machines.map((machine) => stopMachine(machine)));
  await store?.close();
  await fake?.close();
  const redis = newRedisClient(REDIS_URL ?? '');
  await redis.connect();
  for await (const keys of redis.scanIterator({ MATCH: `${redisPrefix}:*`, COUNT: 1000 })) if (keys.length > 0) await redis.del(keys);
  await redis.close();
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
  for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
});

test('each machine runs only its own shard; each guild reaches exactly one of them', { skip }, () => {
  const sessions = fake.gatewaySessions().filter((session) => session.connected);
  assert.deepEqual(sessions.map((session) => session.shard.join('/')).sort(), ['0/2', '1/2']);
  assert.deepEqual(guilds.map((guild) => shardOf(guild.id, 2)), [0, 1]);
});

for (const shard of [0, 1]) {
  test(`shard ${shard}: indexing, a duplicate notice, /similar, a private channel and a deletion`, { skip }, async () => {
    const guild = guilds[shard]!;
    const photos = group(shard);
    const original = await post(guild, 'general', alice, pick(photos[0]));
    const repost = await post(guild, 'memes', bob, pick(photos[1]));
    const notice = await waitUntil(() => fake.botMessages().find((message) => message.referencedMessageId === repost.id), 30_000, 'duplicate notice');
    assert.deepEqual(linkedMessageIds(notice.content), [original.id]);

    const links = await similar(guild, alice.id, pick(photos[2]));
    assert.deepEqual(links.slice(0, 2).sort(), [original.id, repost.id].sort());

    const secretPhotos = group(shard + 2);
    const secret = await post(guild, 'secret', alice, pick(secretPhotos[0]));
    assert.ok((await similar(guild, alice.id, pick(secretPhotos[1]))).includes(secret.id), 'alice (Members) sees #secret');
    assert.ok(!(await similar(guild, bob.id, pick(secretPhotos[1]))).includes(secret.id), 'bob does not');

    fake.deleteMessage(repost.id);
    await waitUntil(async () => (await store.getBySource(guild.id, repost.attachments[0]?.id ?? '')) === undefined, 30_000, 'the deleted image removed');
    const after = await similar(guild, alice.id, pick(photos[3]));
    assert.ok(!after.includes(repost.id), 'a deleted message is never shown');
    assert.equal(after[0], original.id);
  });
}

test('a backfill job survives SIGKILL of the shard running it: another worker finishes it, every image indexed once', { skip }, async (t) => {
  const guild = guilds[0]!;
  const imagesBefore = (await store.stats()).find((entry) => entry.id === guild.id)?.images ?? 0;
  const interaction = await fake.sendSlashCommand({
    channelId: guild.channelId('general'),
    userId: owner.id,
    name: 'dejavu',
    options: [{ name: 'backfill', options: [{ name: 'channel', type: ApplicationCommandOptionType.Channel, value: guild.channelId('history') }] }],
  });

  const redis = newRedisClient(REDIS_URL ?? '');
  const queue = new Queue(QUEUE_NAME, { connection: createNodeRedisClient(redis), prefix: redisPrefix });
  try {
    // The job, once a worker has finished its first page (and not the last).
    const running = await waitUntil(async () => {
      const [job] = (await queue.getActive()).filter((candidate: Job) => candidate.data?.channelId === guild.channelId('history'));
      const progress = job?.progress as { scanned?: number; done?: boolean } | undefined;
      return job && job.processedBy && (progress?.scanned ?? 0) >= 100 && progress?.done !== true ? job : undefined;
    }, 60_000, 'the backfill job to be running');
    const killedWorker = running.processedBy ?? '';
    const pid = Number(/pid (\d+)/.exec(killedWorker)?.[1]);
    assert.ok(pid > 0, `worker name carries its pid: ${killedWorker}`);
    process.kill(pid, 'SIGKILL');

    const finished = await waitUntil(async () => {
      const job = await queue.getJob(running.id ?? '');
      return job && (await job.getState()) === 'completed' ? job : undefined;
    }, 90_000, 'the job to complete after the kill');
    assert.notEqual(finished.processedBy, killedWorker, `finished by another worker (${finished.processedBy})`);
    t.diagnostic(`killed "${killedWorker}" after ${(running.progress as { scanned: number }).scanned} messages; finished by "${finished.processedBy}" in ${(finished.finishedOn ?? 0) - (finished.processedOn ?? 0)} ms of its last run`);
    assert.equal((finished.returnvalue as { done?: boolean }).done, true);

    for (const message of historyMessages) {
      assert.ok(await store.getBySource(guild.id, message.attachments[0]?.id ?? ''), `history image of ${message.id} indexed`);
    }
    const imagesAfter = (await store.stats()).find((entry) => entry.id === guild.id)?.images ?? 0;
    assert.equal(imagesAfter - imagesBefore, historyMessages.length, 'every history image exactly once');
    assert.equal(historyMessages.length, HISTORY_MESSAGES / IMAGE_EVERY);
    assert.equal((await queue.getJobCounts('failed')).failed, 0, 'no dead letter');

    // The killed shard is respawned by its machine's ShardingManager.
    await waitUntil(() => connected(0) && connected(1), 90_000, 'the killed shard to be back');
    assert.ok(interaction.id);
  } finally {
    await queue.close();
    await redis.close();
  }
});

test('shard ranges: DISCORD_SHARD_LIST needs a numeric total, ids below it, each once', () => {
  const config = parseConfig({ DISCORD_SHARD_COUNT: '4', DISCORD_SHARD_LIST: '2, 3' });
  assert.deepEqual(config.DISCORD_SHARD_LIST, [2, 3]);
  assert.equal(parseConfig({}).DISCORD_SHARD_LIST, undefined, 'unset: every shard');
  assert.throws(() => parseConfig({ DISCORD_SHARD_LIST: '0,1' }), (error) => error instanceof ConfigError && /numeric DISCORD_SHARD_COUNT/.test(error.message));
  assert.throws(() => parseConfig({ DISCORD_SHARD_COUNT: '2', DISCORD_SHARD_LIST: '1,2' }), /shard 2 is not below DISCORD_SHARD_COUNT=2/);
  assert.throws(() => parseConfig({ DISCORD_SHARD_COUNT: '2', DISCORD_SHARD_LIST: '1,1' }), /listed twice/);
  assert.throws(() => parseConfig({ DISCORD_SHARD_COUNT: '2', DISCORD_SHARD_LIST: '0,x' }), /DISCORD_SHARD_LIST/);
});

test('a shard reads the history of a guild it does not hold over REST, with the NSFW flag of the channel or thread parent', async () => {
  const server = await startFakeDiscord({ shards: 2 });
  const client = new Client({ intents: [...INTENTS], partials: [...PARTIALS], rest: { api: server.apiUrl }, shards: [1], shardCount: 2 });
  try {
    const user = server.addUser({ username: 'poster' });
    const base = BigInt(Date.now()) - DISCORD_EPOCH;
    let id = String(base << 22n);
    for (let offset = 1n; shardOf(id, 2) !== 0; offset += 1n) id = String((base + offset) << 22n);
    const guild = server.addGuild({ id, name: 'elsewhere', ownerId: user.id, channels: [{ name: 'plain' }, { name: 'lewd', nsfw: true }, { name: 'lewd-thread', type: 'public-thread', parent: 'lewd' }], members: [{ userId: user.id }] });
    const bytes = await scene(1);
    const posted = [];
    for (const channel of ['plain', 'lewd-thread']) {
      posted.push(await server.postMessage({ channelId: guild.channelId(channel), authorId: user.id, dispatch: false, attachments: [{ filename: 'a.jpg', bytes }] }));
    }
    const ready = once(client, Events.ClientReady);
    await client.login(server.token);
    await ready;
    assert.equal(client.guilds.cache.has(guild.id), false, 'the guild is on shard 0, not here');

    const fetchPage = restHistoryFetcher(client as Client<true>, guild.id);
    const plain = await fetchPage(guild.channelId('plain'), { limit: 100 });
    assert.equal(plain.messages.length, 1);
    const [image] = plain.messages[0]?.images ?? [];
    assert.deepEqual(
      { guildId: image?.source.guildId, channelId: image?.source.channelId, messageId: image?.source.messageId, sourceKey: image?.source.sourceKey, nsfw: image?.source.nsfw },
      { guildId: guild.id, channelId: guild.channelId('plain'), messageId: posted[0]?.id, sourceKey: posted[0]?.attachments[0]?.id, nsfw: false },
    );
    const thread = await fetchPage(guild.channelId('lewd-thread'), { limit: 100 });
    assert.equal(thread.messages[0]?.images[0]?.source.nsfw, true, 'a thread takes its parent channel’s NSFW flag');
    assert.deepEqual(await restHistoryFetcher(client as Client<true>, '42')(guild.channelId('plain'), { limit: 100 }), { messages: [] }, 'a channel of another guild reads as empty');
  } finally {
    await client.destroy();
    await server.close();
  }
});
