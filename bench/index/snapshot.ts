/** A saved index on disk: its size, and dropping it from the page cache so a load reads from disk. */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Bytes of a file, or of every file under a folder (a snapshot may be either). */
export function pathBytes(path: string): number {
  const info = statSync(path);
  return info.isDirectory() ? readdirSync(path).reduce((sum, name) => sum + pathBytes(join(path, name)), 0) : info.size;
}

/** Drops the snapshot's pages from the page cache (python's os.posix_fadvise; node has no fadvise). */
export function evictFromPageCache(path: string): boolean {
  const files = statSync(path).isDirectory() ? readdirSync(path).map((name) => join(path, name)) : [path];
  const script = 'import os,sys\nfor p in sys.argv[1:]:\n fd=os.open(p,os.O_RDONLY); os.fsync(fd); os.posix_fadvise(fd,0,0,os.POSIX_FADV_DONTNEED); os.close(fd)';
  return spawnSync('python3', ['-c', script, ...files], { stdio: 'inherit' }).status === 0;
}
