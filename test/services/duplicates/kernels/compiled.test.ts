/** Each kernel's generated module is what its .wat source compiles to (after editing one: npm run build:kernels). */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileKernel, generatedModule, KERNEL_DIRECTORIES } from '../../../../scripts/kernels.ts';

for (const directory of KERNEL_DIRECTORIES) {
  for (const name of readdirSync(directory).filter((file) => file.endsWith('.wat'))) {
    test(`${name.replace(/\.wat$/, '.wasm.ts')} is the compiled ${name}`, async () => {
      const source = join(directory, name);
      const compiled = generatedModule(name, await compileKernel(source, readFileSync(source, 'utf8')));
      assert.equal(readFileSync(source.replace(/\.wat$/, '.wasm.ts'), 'utf8'), compiled);
    });
  }
}
