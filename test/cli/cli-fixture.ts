/**
 * Shared setup of the index/query/stats CLI tests: a scratch photo folder (links to ../shared photos, one
 * byte-identical copy under another name, one corrupt file, one non-image) and a runner for bin/dejavu.js.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { COREL_DIR, OXFORD_DIR, readOxfordGroups, SHARED_MODEL_DIR } from '../helpers/shared.ts';

const execFileAsync = promisify(execFile);
const BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'dejavu.js');

export interface PhotoFolder {
  root: string;
  photos: string;
  dataDir: string;
  /** Four photos of one scene (near duplicates of each other). */
  group: string[];
  /** Byte-identical copy of group[0] under another name. */
  copy: string;
}

export function makePhotoFolder(): PhotoFolder {
  const root = mkdtempSync(join(tmpdir(), 'dejavu-cli-index-'));
  const photos = join(root, 'photos');
  mkdirSync(join(photos, 'nested', 'deeper'), { recursive: true });
  const firstGroup = readOxfordGroups().groups[0] ?? [];
  const group = firstGroup.slice(0, 4).map((name, i) => {
    const path = join(photos, i % 2 === 0 ? '' : join('nested', 'deeper'), name);
    symlinkSync(join(OXFORD_DIR, 'images', name), path);
    return path;
  });
  for (const name of ['wang_0000.jpg', 'wang_0002.jpg']) symlinkSync(join(COREL_DIR, 'images', name), join(photos, 'nested', name));
  // Named to sort after the original: `dejavu index` walks in path order, so the original is indexed first.
  const copy = join(photos, 'zz-copy-of-first.jpg');
  copyFileSync(group[0] ?? '', copy);
  writeFileSync(join(photos, 'broken.jpg'), 'not a jpeg at all');
  writeFileSync(join(photos, 'notes.txt'), 'ignored: not an image extension');
  return { root, photos, dataDir: join(root, 'data'), group, copy };
}

export async function dejavu(args: string[], cwd: string, environment: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, MODEL_DIR: SHARED_MODEL_DIR, EMBEDDER_URL: '', KEYV_URL: '', LOG_LEVEL: 'warn', ...environment },
    maxBuffer: 64 * 1024 * 1024,
  });
}
