/** One `faceinv` subcommand. Files in `daemon/cli/commands/` each export `command: CliCommand`. */
export interface CliCommand {
  /** Word typed after `faceinv`, e.g. `bench`. */
  readonly name: string;
  /** One line for `faceinv help`. */
  readonly summary: string;
  /** Usage text shown by `faceinv help NAME` and on argument errors. */
  readonly usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(args: string[]): Promise<number>;
}

/** A user-facing error: printed without a stack trace, exit code 2. */
export class UsageError extends Error {}
