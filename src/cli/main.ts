/**
 * `dejavu <command> …`: dispatches to one module per subcommand. The registry is explicit (and lazy, so a
 * command's dependencies load only when it runs): adding a command is one line below.
 * Machine-readable output goes to stdout only; logs and progress go to stderr.
 */
import { describeError } from '../errors.ts';
import type { CliCommand } from './types.ts';

type CommandLoader = () => Promise<{ command: CliCommand }>;

const COMMANDS: Record<string, CommandLoader> = {
  dupes: () => import('./commands/dupes.ts'),
  embed: () => import('./commands/embed.ts'),
  eval: () => import('./commands/eval.ts'),
  index: () => import('./commands/index-folder.ts'),
  jobs: () => import('./commands/jobs.ts'),
  migrate: () => import('./commands/migrate.ts'),
  query: () => import('./commands/query.ts'),
  stats: () => import('./commands/stats.ts'),
};

async function usage(): Promise<string> {
  const lines = ['usage: dejavu <command> [options]', '', 'commands:'];
  for (const [name, load] of Object.entries(COMMANDS)) {
    const summary = await load().then(
      ({ command }) => command.summary,
      (error: unknown) => `(failed to load: ${describeError(error)})`,
    );
    lines.push(`  ${name.padEnd(8)} ${summary}`);
  }
  lines.push('', 'Run `dejavu <command> --help` for its options. Settings come from the environment (see .env.example).');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  // Anything a library prints with console.log must not corrupt the JSON on stdout.
  console.log = console.error;
  // `dejavu … | head`: the reader went away; stop quietly like other Unix tools.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.error(await usage());
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (load === undefined) {
    console.error(`dejavu: unknown command "${name}"; commands: ${Object.keys(COMMANDS).join(', ')} (dejavu --help describes them)`);
    return 2;
  }
  try {
    const { command } = await load();
    return await command.run(rest);
  } catch (error) {
    console.error(`dejavu ${name}: ${describeError(error)}`);
    return 1;
  }
}

// Run directly (`node --import tsx src/cli/main.ts …`); bin/dejavu.js imports and calls main() itself.
if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
