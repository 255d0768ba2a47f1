/** What every `dejavu <name>` subcommand module exports (src/cli/commands/<name>.ts). */
export interface CliCommand {
  name: string;
  /** One line for `dejavu --help`. */
  summary: string;
  /** `argv`: the arguments after the subcommand name. Resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}
