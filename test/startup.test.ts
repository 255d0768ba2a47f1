/**
 * A newcomer's first `npm start`: without a token (or with a malformed setting) the bot stops with one plain
 * line saying what to do, no stack trace, and a non-zero exit code. Logs are JSON lines when stderr is not a
 * terminal and human-readable in a terminal.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { logFormatFor } from '../src/logger.ts';

const ROOT = join(import.meta.dirname, '..');
const execFileAsync = promisify(execFile);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `npm start`'s command, without `.env` (a developer's own token must not change the result). */
async function start(environment: Record<string, string>): Promise<Run> {
  const dataDir = await mkdtemp(join(tmpdir(), 'dejavu-startup-'));
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, ...environment },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as Run;
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

function assertOneClearLine(run: Run, names: RegExp): void {
  assert.notEqual(run.code, 0);
  assert.equal(run.stdout, '');
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${run.stderr}`);
  assert.match(lines[0]!, names);
  assert.match(lines[0]!, /\.env/, 'it says where to put the setting');
  assert.doesNotMatch(run.stderr, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(run.stderr, /^\{/, 'a sentence, not a JSON log object');
}

test('npm start without DISCORD_TOKEN: one clear line on stderr, non-zero exit', async () => {
  assertOneClearLine(await start({}), /DISCORD_TOKEN is not set/);
});

test('npm start with a malformed setting: one line naming the variable and the problem', async () => {
  assertOneClearLine(await start({ DISCORD_TOKEN: 'x', CDN_ALLOWED_HOSTS: 'https://cdn.example.com' }), /CDN_ALLOWED_HOSTS: "https:\/\/cdn\.example\.com" is a URL/);
});

test('logs are JSON lines off a terminal and pretty lines in one', (t) => {
  assert.equal(logFormatFor({ isTTY: true }), 'pretty');
  assert.equal(logFormatFor({}), 'json');
  const program = "import('./src/logger.ts').then(({ logger }) => logger.info({ guildId: '42' }, 'hello'))";
  const piped = spawnSync(process.execPath, ['--import', 'tsx', '-e', program], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info' }, encoding: 'utf8' });
  const line = JSON.parse(piped.stderr.trim()) as { msg: string; guildId: string; level: number };
  assert.deepEqual({ msg: line.msg, guildId: line.guildId, level: line.level }, { msg: 'hello', guildId: '42', level: 30 });
  // util-linux `script` gives the child a pseudo-terminal.
  if (spawnSync('script', ['--version']).status !== 0) {
    t.diagnostic('SKIPPED: the terminal case needs util-linux `script`');
    return;
  }
  const command = `'${process.execPath}' --import tsx -e "${program}"`;
  const terminal = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info' }, encoding: 'utf8' });
  const text = terminal.stdout.replaceAll(String.fromCharCode(27), '').replace(/\[[0-9;]*m/g, '');
  assert.match(text, /INFO.*hello/);
  assert.match(text, /guildId: "42"/);
  assert.doesNotMatch(text, /"level":30/);
});
