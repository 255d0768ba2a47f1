/** `npm run deploy-commands` registers the three commands in the dev guild (or globally) through REST. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startFakeDiscord } from '../fake-discord/server.ts';

const ROOT = join(import.meta.dirname, '..', '..');

function deploy(env: Record<string, string>): Promise<{ status: number | null; output: string }> {
  // Asynchronous: a synchronous spawn would block the fake server living in this process.
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/deploy-commands.ts'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', ...env } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (status) => resolve({ status, output }));
  });
}

test('deploy-commands registers the commands in the dev guild, or globally without one', async () => {
  const fake = await startFakeDiscord();
  try {
    const owner = fake.addUser({ username: 'owner' });
    const guild = fake.addGuild({ name: 'dev', ownerId: owner.id });
    const env = { DISCORD_TOKEN: fake.token, DISCORD_API_URL: fake.apiUrl, DISCORD_APPLICATION_ID: fake.applicationId };
    const inGuild = await deploy({ ...env, DISCORD_DEV_GUILD_ID: guild.id });
    assert.equal(inGuild.status, 0, inGuild.output);
    assert.deepEqual(fake.commands(guild.id).map((command) => command.name).sort(), ['Find similar images', 'dejavu', 'similar']);
    assert.equal(fake.commands().length, 0);
    const global = await deploy(env);
    assert.equal(global.status, 0, global.output);
    assert.equal(fake.commands().length, 3);
  } finally {
    await fake.close();
  }
});
