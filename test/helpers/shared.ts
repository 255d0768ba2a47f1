/**
 * Access to ../shared (real model weights and evaluation photos). CI always has it; a fresh clone may not,
 * so tests that need it call `requireShared(t)` and skip with a visible reason when it is absent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { PROJECT_MODEL_DIR } from '../../src/embedding/options.ts';

export const SHARED_DIR = resolve(process.env.DEJAVU_SHARED_DIR ?? join(import.meta.dirname, '..', '..', '..', 'shared'));
export const SHARED_MODEL_DIR = join(SHARED_DIR, 'models', 'efficientnet-b0-imagenet-tfjs', 'notop-avgpool-graph-model');
export const OXFORD_DIR = join(SHARED_DIR, 'datasets', 'oxford-neardup-dev');
export const COREL_DIR = join(SHARED_DIR, 'datasets', 'corel-wang-dev');

export function hasShared(): boolean {
  return existsSync(join(SHARED_DIR, 'datasets')) && existsSync(SHARED_MODEL_DIR);
}

/** Skips the test (visibly) when ../shared is absent. Returns true when the test may go on. */
export function requireShared(t: TestContext): boolean {
  if (hasShared()) return true;
  const reason = `SKIPPED: needs ../shared (model weights and datasets) at ${SHARED_DIR}`;
  console.warn(reason);
  t.skip(reason);
  return false;
}

export interface OxfordGroups {
  groups: string[][];
  distractors: string[];
}

export function readOxfordGroups(): OxfordGroups {
  return JSON.parse(readFileSync(join(OXFORD_DIR, 'groups.json'), 'utf8')) as OxfordGroups;
}

export function oxfordImage(name: string): Buffer {
  return readFileSync(join(OXFORD_DIR, 'images', name));
}

/**
 * The model the bot end-to-end tests load: the copy `npm ci` installed into data/models (what a fresh
 * clone has), else the one in ../shared. Undefined when neither is there.
 */
export function botModelDir(): string | undefined {
  return [PROJECT_MODEL_DIR, SHARED_MODEL_DIR].find((folder) => existsSync(join(folder, 'model.json')));
}

/** `skip` for a test that needs the model (not the photos): false when it may run, else a visible reason. */
export function modelSkip(): false | string {
  if (botModelDir() !== undefined) return false;
  const reason = `SKIPPED: needs the model (run \`npm run model:fetch\`) in ${PROJECT_MODEL_DIR} or ${SHARED_MODEL_DIR}`;
  console.warn(reason);
  return reason;
}
