/**
 * `npm run bench:bot [-- --seconds N] [--full] [--rate R]`: the whole bot (real discord.js client, real model,
 * in-process embedding, local store) against the fake Discord on 127.0.0.1.
 *
 * 1. Seeds the index with the original photo of every Oxford near-duplicate group (posted by `seeder`).
 * 2. Posts edited copies (reposts, by `poster`) at a sustained R images/s (default 5) for N seconds
 *    (default 20; `--full`: 120), plus one `/similar` with an attachment every 2 s.
 * 3. Reports MESSAGE_CREATE → duplicate-notice latency (p50/p99), notices vs reposts, interaction
 *    acknowledgement and answer times, peak RSS of the process (bot + fake server), and dropped images
 *    (posted images neither indexed nor reported as failed by the end).
 *
 * Baseline for ratios: latency of an isolated repost (one at a time, idle bot), measured in the same run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Routes } from 'discord.js';
import { parseConfig } from '../src/config.ts';
import { startBot } from '../src/discord/bot.ts';
import { commandDefinitions } from '../src/discord/commands.ts';
import { startFakeDiscord, type FakeMessage } from '../test/fake-discord/server.ts';
import { SHARED_MODEL_DIR, hasShared, oxfordImage, readOxfordGroups } from '../test/helpers/shared.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    full: { type: 'boolean', default: false },
    rate: { type: 'string', default: '5' },
    groups: { type: 'string', default: '150' },
  },
});
const seconds = values.full ? 120 : Number(values.seconds);
const rate = Number(values.rate);
if (!hasShared()) {
  console.error('bench:bot needs ../shared (model weights and the Oxford near-duplicate set)');
  process.exit(1);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const groups = readOxfordGroups().groups.slice(0, Number(values.groups));
const fake = await startFakeDiscord({ rateLimit: { enforce: true } });
const seeder = fake.addUser({ username: 'seeder' });
const poster = fake.addUser({ username: 'poster' });
const guild = fake.addGuild({
  name: 'bench',
  ownerId: seeder.id,
  channels: [{ name: 'originals' }, { name: 'reposts' }, { name: 'queries' }],
  members: [{ userId: seeder.id }, { userId: poster.id }],
});
const dataDir = await mkdtemp(join(tmpdir(), 'dejavu-bench-bot-'));
const config = parseConfig({
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
  DISCORD_TOKEN: fake.token,
  DISCORD_API_URL: fake.apiUrl,
  CDN_ALLOWED_HOSTS: fake.cdnHost,
  DATA_DIR: dataDir,
  MODEL_DIR: process.env.MODEL_DIR ?? SHARED_MODEL_DIR,
  EMBEDDING_BACKEND: process.env.EMBEDDING_BACKEND ?? 'auto',
  ...(process.env.EMBEDDING_WORKERS ? { EMBEDDING_WORKERS: process.env.EMBEDDING_WORKERS } : {}),
});

let peakRss = 0;
const rssTimer = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 250);

const startedAt = Date.now();
const bot = await startBot(config);
const startSeconds = (Date.now() - startedAt) / 1000;
await bot.client.rest.put(Routes.applicationGuildCommands(fake.applicationId, guild.id), { body: commandDefinitions() });

// 1. Seed: every group's original, as fast as the bot takes them.
const seedStart = Date.now();
const seeded: FakeMessage[] = [];
for (const group of groups) {
  seeded.push(await fake.postMessage({ channelId: guild.channelId('originals'), authorId: seeder.id, attachments: [{ filename: 'original.jpg', bytes: oxfordImage(group[0] ?? '') }] }));
}
for (let waited = 0; waited < 300_000; waited += 100) {
  await bot.settle();
  if ((await bot.services.stats(guild.id)).imagesIndexed >= groups.length) break;
  await sleep(100);
}
const seedSeconds = (Date.now() - seedStart) / 1000;
const seedRate = groups.length / seedSeconds;

const noticeOf = (messageId: string) => fake.botMessages(guild.channelId('reposts')).find((message) => message.referencedMessageId === messageId);

interface Post {
  message: FakeMessage;
  sentAt: number;
}

/** Time from dispatch to the notice's creation (its snowflake time, ms resolution). */
function noticeLatency(post: Post): number | null {
  const notice = noticeOf(post.message.id);
  return notice ? notice.createdAt.getTime() - post.sentAt : null;
}

async function postRepost(index: number): Promise<Post> {
  const group = groups[index % groups.length] ?? [];
  const copy = group[1 + (Math.floor(index / groups.length) % 3)] ?? '';
  const message = await fake.postMessage({ channelId: guild.channelId('reposts'), authorId: poster.id, attachments: [{ filename: `repost-${index}.jpg`, bytes: oxfordImage(copy) }] });
  return { message, sentAt: message.createdAt.getTime() };
}

// 2a. Baseline: isolated reposts, one at a time on an idle bot.
const baseline: number[] = [];
for (let index = 0; index < 5; index += 1) {
  const post = await postRepost(groups.length * 3 - 1 - index);
  await fake.waitFor(() => noticeOf(post.message.id), 15_000).catch(() => undefined);
  const latency = noticeLatency(post);
  if (latency !== null) baseline.push(latency);
}

// 2b. Sustained load.
const posts: Post[] = [];
const interactions: Array<{ id: string }> = [];
const loadStart = Date.now();
const total = Math.round(seconds * rate);
let nextQuery = loadStart;
for (let index = 0; index < total; index += 1) {
  const due = loadStart + (index * 1000) / rate;
  const wait = due - Date.now();
  if (wait > 0) await sleep(wait);
  posts.push(await postRepost(index));
  if (Date.now() >= nextQuery) {
    nextQuery += 2000;
    const group = groups[(index * 7) % groups.length] ?? [];
    interactions.push(
      await fake.sendSlashCommand({
        channelId: guild.channelId('queries'),
        userId: seeder.id,
        name: 'similar',
        options: [{ name: 'image', attachment: { filename: 'q.jpg', bytes: oxfordImage(group[2] ?? '') } }],
      }),
    );
  }
}
const postSeconds = (Date.now() - loadStart) / 1000;
// Let the backlog finish (bounded), then collect.
const drainStart = Date.now();
await Promise.race([bot.settle(), sleep(60_000)]);
const drainSeconds = (Date.now() - drainStart) / 1000;

const latencies = posts.map(noticeLatency).filter((latency): latency is number => latency !== null);
let indexed = 0;
let failed = 0;
for (const post of posts) {
  const attachment = post.message.attachments[0];
  if (attachment && (await bot.services.getRecord(guild.id, attachment.id))) indexed += 1;
}
const queue = bot.services.stats(guild.id);
failed = (await queue).queue.failed;
const dropped = posts.length - indexed - failed;
const acks: number[] = [];
const answers: number[] = [];
for (const interaction of interactions) {
  const responses = fake.interactionResponses(interaction.id);
  if (responses.ackLatencyMs !== null) acks.push(responses.ackLatencyMs);
  const lastEdit = responses.edits.at(-1);
  const created = Number((BigInt(interaction.id) >> 22n) + 1420070400000n);
  if (lastEdit) answers.push(lastEdit.at.getTime() - created);
}
const unacknowledged = interactions.length - acks.length;
clearInterval(rssTimer);
await bot.stop();
await fake.close();
await rm(dataDir, { recursive: true, force: true });

const ms = (value: number) => (Number.isFinite(value) ? `${Math.round(value)} ms` : 'n/a');
const baselineP50 = percentile(baseline, 50);
const rows: Array<[string, string, string, string]> = [
  ['metric', 'value', 'target', 'ratio to isolated'],
  ['isolated repost → notice p50 (baseline)', ms(baselineP50), '', '1.00'],
  [`notice latency p50 @ ${rate}/s`, ms(percentile(latencies, 50)), '≤ 1000 ms', (percentile(latencies, 50) / baselineP50).toFixed(2)],
  [`notice latency p99 @ ${rate}/s`, ms(percentile(latencies, 99)), '≤ 3000 ms', (percentile(latencies, 99) / baselineP50).toFixed(2)],
  ['notices / reposts', `${latencies.length} / ${posts.length}`, '', ''],
  ['interaction ack p50 / max', `${ms(percentile(acks, 50))} / ${ms(Math.max(...acks))}`, '≤ 2500 ms', ''],
  ['interaction answer p50 / max', `${ms(percentile(answers, 50))} / ${ms(Math.max(...answers))}`, '', ''],
  ['interactions unacknowledged', String(unacknowledged), '0', ''],
  ['images indexed / failed / dropped', `${indexed} / ${failed} / ${dropped}`, 'dropped 0', ''],
  ['peak RSS (bot + fake server)', `${Math.round(peakRss / 1048576)} MB`, '≤ 1536 MB', ''],
  ['seed throughput', `${seedRate.toFixed(1)} img/s (${groups.length} in ${seedSeconds.toFixed(1)} s)`, '', ''],
  ['posting / drain time', `${postSeconds.toFixed(1)} s / ${drainSeconds.toFixed(1)} s`, '', ''],
  ['bot start (model load, login, READY)', `${startSeconds.toFixed(1)} s`, '', ''],
];
const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
console.log(`bench:bot  ${seconds} s at ${rate} images/s, backend ${bot.services.embedder.backend}, ${availableParallelism()} cores, load ${loadavg()[0]?.toFixed(1)}`);
for (const [index, row] of rows.entries()) {
  console.log(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  '));
  if (index === 0) console.log(widths.map((width) => '-'.repeat(width)).join('  '));
}
process.exit(0);
