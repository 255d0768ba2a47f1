#!/usr/bin/env node
// `npx dejavu …`: registers tsx (the project runs TypeScript without a build step), then runs the CLI.
import { register } from 'tsx/esm/api';

// The CLI keeps stderr quiet unless asked: warnings and errors only.
process.env.LOG_LEVEL ??= 'warn';
register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
