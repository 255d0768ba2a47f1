/**
 * `npm run build:kernels`: compiles each WebAssembly text kernel (the .wat files of each kernels folder) into a TypeScript
 * module beside it that holds the binary as base64, so that the product loads it without a build step or a
 * runtime assembler. test/services/duplicates/kernels.test.ts fails when a generated module is out of date.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileKernel, generatedModule, KERNEL_DIRECTORIES } from './kernels.ts';

for (const directory of KERNEL_DIRECTORIES) {
  for (const name of readdirSync(directory).filter((file) => file.endsWith('.wat'))) {
    const source = join(directory, name);
    const target = source.replace(/\.wat$/, '.wasm.ts');
    writeFileSync(target, generatedModule(name, await compileKernel(source, readFileSync(source, 'utf8'))));
    console.log(`${source} → ${target}`);
  }
}
