/**
 * `npm start` as a real process against the fake Discord: it connects, indexes and posts a duplicate
 * notice, and on SIGTERM shuts down gracefully (exit 0) with its index flushed to DATA_DIR.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config.ts';
import { createServices } from '../../src/services/context.ts';
import { startFakeDiscord } from '../fake-discord/server.ts';
import { botEnvironment } from './harness.ts';
import { modelSkip } from '../helpers/shared.ts';
import { edited, scene } from '../helpers/pictures.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const skip = modelSkip();

test('npm start runs the bot; SIGTERM exits 0 after flushing the index', { skip }, async () => {
  const fake = await startFakeDiscord();
  const dataDir = await mkdtemp(join(tmpdir(), 'dejavu-main-'));
  try {
    const alice = fake.addUser({ username: 'alice' });
    const bob = fake.addUser({ username: 'bob' });
    const guild = fake.addGuild({ name: 'main', ownerId: alice.id, channels: [{ name: 'general' }], members: [{ userId: alice.id }, { userId: bob.id }] });
    const env = { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...botEnvironment(fake, dataDir) };
    // Spawned directly (not through `sh -c npm start`) so that SIGTERM reaches the bot itself.
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await fake.waitFor(() => fake.gatewaySessions().length > 0, 40_000, 'the bot to connect');

    const original = await fake.postMessage({ channelId: guild.channelId('general'), authorId: alice.id, attachments: [{ filename: 'a.jpg', bytes: await scene(1) }] });
    // Give the first image a head start so it is indexed before its copy arrives.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const copy = await fake.postMessage({ channelId: guild.channelId('general'), authorId: bob.id, attachments: [{ filename: 'b.jpg', bytes: await edited(1, 'smaller') }] });
    const notice = await fake.waitFor(() => fake.botMessages().find((message) => message.referencedMessageId === copy.id), 30_000, 'duplicate notice');
    assert.match(notice.content, new RegExp(original.id));

    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);

    const services = await createServices(parseConfig({ ...env, LOG_LEVEL: 'silent' }));
    try {
      assert.equal((await services.stats(guild.id)).imagesIndexed, 2);
    } finally {
      await services.close();
    }
  } finally {
    await fake.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
