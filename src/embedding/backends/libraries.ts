/**
 * What this host has for the optional backends: the native TF.js packages, and the shared libraries the GPU
 * backends need (they fail late and vaguely when CUDA pieces are missing).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** The optional npm package of each native TF.js backend. */
export const NATIVE_TENSORFLOW_PACKAGE = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
} as const;

/**
 * Whether the package of a native TF.js backend is installed. Checked before trying the backend because
 * trying means loading TF.js itself (a quarter of a second at every start of a host that has neither).
 */
export function nativeTensorflowInstalled(kind: keyof typeof NATIVE_TENSORFLOW_PACKAGE): boolean {
  const name = NATIVE_TENSORFLOW_PACKAGE[kind];
  const folders = createRequire(import.meta.url).resolve.paths(name) ?? [];
  return folders.some((folder) => existsSync(join(folder, name, 'package.json')));
}

/** Names of shared libraries that neither ldconfig nor LD_LIBRARY_PATH knows. */
export function missingLibraries(wanted: string[]): string[] {
  let known = '';
  try {
    known = execFileSync('ldconfig', ['-p'], { encoding: 'utf8', timeout: 5000 });
  } catch {
    // ldconfig missing (e.g. musl): rely on LD_LIBRARY_PATH only.
  }
  const searchPath = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  const onPath = (name: string): boolean =>
    searchPath.some((folder) => {
      try {
        return readdirSync(folder).includes(name);
      } catch {
        return false;
      }
    });
  return wanted.filter((name) => !known.includes(name) && !onPath(name));
}
