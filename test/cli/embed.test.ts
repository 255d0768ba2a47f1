import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { createEmbedder, defaultEmbedderOptions } from '../../src/embedding/index.ts';
import { OXFORD_DIR, requireShared, SHARED_MODEL_DIR } from '../helpers/shared.ts';

const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'dejavu.js');

test('dejavu embed --json prints only a JSON array: vectors for images, CODE: message for failures, exit 0', async (t) => {
  if (!requireShared(t)) return;
  const scratch = mkdtempSync(join(tmpdir(), 'dejavu-cli-'));
  try {
    const image = join(OXFORD_DIR, 'images', 'img_0001.jpg');
    const notImage = join(scratch, 'holiday.jpg');
    writeFileSync(notImage, 'definitely not a JPEG');
    const empty = join(scratch, 'empty.png');
    writeFileSync(empty, '');
    const missing = join(scratch, 'missing.webp');
    const { stdout, stderr } = await run(process.execPath, [BIN, 'embed', image, notImage, empty, missing, '--json'], {
      // Run from another folder, as `npx dejavu` would; info logs on, to prove they stay off stdout.
      cwd: scratch,
      env: { ...process.env, MODEL_DIR: SHARED_MODEL_DIR, LOG_LEVEL: 'info', EMBEDDER_URL: '' },
      maxBuffer: 64 * 1024 * 1024,
    });
    const entries = JSON.parse(stdout) as Array<{ file: string; vector?: number[]; error?: string }>;
    assert.deepEqual(entries.map((entry) => entry.file), [image, notImage, empty, missing]);
    assert.equal(entries[0]!.vector!.length, 1280);
    assert.match(entries[1]!.error!, /^IMAGE_UNSUPPORTED: /);
    assert.match(entries[2]!.error!, /^IMAGE_EMPTY: /);
    assert.match(entries[3]!.error!, /^NOT_FOUND: /);
    assert.match(stderr, /embedding backend/);

    const embedder = await createEmbedder(defaultEmbedderOptions({ modelDir: SHARED_MODEL_DIR, workers: 0 }));
    try {
      // The CLI runs the default backend (ONNX Runtime); the reference here is in-thread wasm. The two agree
      // to float rounding, not bit for bit.
      const expected = (await embedder.embed(await readFile(image))).vector;
      const printed = entries[0]!.vector!;
      assert.equal(printed.length, expected.length);
      const cosine = printed.reduce((sum, value, index) => sum + value * (expected[index] ?? 0), 0);
      assert.ok(cosine > 0.99999, `cosine ${cosine}`);
    } finally {
      await embedder.close();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

test('dejavu with an unknown command exits 2 with usage on stderr', async () => {
  await assert.rejects(run(process.execPath, [BIN, 'no-such-command']), (error: { code?: number; stderr?: string; stdout?: string }) => {
    assert.equal(error.code, 2);
    assert.match(error.stderr ?? '', /unknown command "no-such-command"; commands: .*\bembed\b/);
    assert.equal(error.stdout, '');
    return true;
  });
});
