import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { HUGE_PAGE_TUNABLE, withHugePageMalloc } from '../../src/index/huge-pages.ts';

test('huge pages: the tunable is added beside existing ones and never overrides an operator setting', () => {
  assert.equal(withHugePageMalloc({}).GLIBC_TUNABLES, HUGE_PAGE_TUNABLE);
  assert.equal(withHugePageMalloc({ GLIBC_TUNABLES: '' }).GLIBC_TUNABLES, HUGE_PAGE_TUNABLE);
  assert.equal(withHugePageMalloc({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).GLIBC_TUNABLES, `glibc.malloc.arena_max=2:${HUGE_PAGE_TUNABLE}`);
  assert.equal(withHugePageMalloc({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }).GLIBC_TUNABLES, 'glibc.malloc.hugetlb=0');
  assert.equal(withHugePageMalloc({ PATH: '/bin' }).PATH, '/bin');
});

test('huge pages: a process started with the tunable gets huge pages for a large native allocation (Linux, THP madvise)', (t) => {
  if (process.platform !== 'linux') return t.skip('Linux only');
  const script = `const b = Buffer.allocUnsafeSlow(64 << 20); for (let i = 0; i < b.length; i += 4096) b[i] = 1;
    process.stdout.write(require('fs').readFileSync('/proc/self/smaps_rollup', 'utf8').match(/AnonHugePages:\\s+(\\d+)/)[1]);`;
  const hugeKb = (env: NodeJS.ProcessEnv): number => Number(spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' }).stdout);
  const mode = spawnSync('cat', ['/sys/kernel/mm/transparent_hugepage/enabled'], { encoding: 'utf8' }).stdout;
  if (!/\[(madvise|always)\]/.test(mode)) return t.skip(`transparent huge pages off here (${mode.trim()})`);
  assert.ok(hugeKb(withHugePageMalloc({})) >= 32 * 1024, 'most of the 64 MB buffer in huge pages');
  if (mode.includes('[madvise]')) assert.ok(hugeKb({}) < 32 * 1024, 'without the tunable, malloc does not ask for huge pages');
});
