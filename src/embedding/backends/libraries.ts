/** Shared-library checks for the GPU backends, which fail late and vaguely when CUDA pieces are missing. */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

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
