/**
 * `faceinv` entry point. Subcommands are discovered from `commands/*.js` so that each command lives in its
 * own file and adding one never touches this dispatcher.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliCommand, UsageError } from './command';
import { cliOutput } from './engineFlags';

function isCliCommand(value: unknown): value is CliCommand {
  const c = value as CliCommand | undefined;
  return !!c && typeof c.name === 'string' && typeof c.run === 'function' && typeof c.summary === 'string';
}

/** Loads every command module; one that fails to load is reported when used, never hidden. */
export function loadCommands(): Map<string, CliCommand> {
  const dir = path.join(__dirname, 'commands');
  const commands = new Map<string, CliCommand>();
  for (const file of fs.readdirSync(dir).sort()) {
    if (!file.endsWith('.js')) continue;
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const mod = require(path.join(dir, file)) as { command?: unknown };
      if (isCliCommand(mod.command)) commands.set(mod.command.name, mod.command);
    } catch (err) {
      const name = file.replace(/\.js$/, '');
      const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
      commands.set(name, {
        name,
        summary: `(broken install: ${why})`,
        usage: '',
        run: async () => { throw err; },
      });
    }
  }
  return commands;
}

function help(commands: Map<string, CliCommand>): string {
  const width = Math.max(...[...commands.keys()].map((k) => k.length));
  const lines = [...commands.values()].map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `faceinv — Face Inversion Lab command line\n\nUsage: faceinv <command> [options]\n\nCommands:\n${lines.join('\n')}\n\n` +
    `Run "faceinv help <command>" for a command's options. Any command takes --verbose (the engine probe, debug logs).`;
}

/** Takes the global `--verbose` / `-v` off the command line (before a `--`); returns the rest. */
export function takeVerbose(argv: readonly string[]): { verbose: boolean; rest: string[] } {
  const end = argv.indexOf('--');
  const head = end < 0 ? argv : argv.slice(0, end);
  const rest = head.filter((a) => a !== '--verbose' && a !== '-v');
  return { verbose: rest.length !== head.length, rest: end < 0 ? rest : [...rest, ...argv.slice(end)] };
}

export async function main(argv: string[]): Promise<number> {
  const commands = loadCommands();
  const global = takeVerbose(argv);
  if (global.verbose) cliOutput.verbose = true;
  const [name, ...rest] = global.rest;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    const topic = rest[0] ? commands.get(rest[0]) : undefined;
    if (rest[0] && !topic) {
      // A typo in "faceinv help CMD" must not look like a success (scripts check the exit code).
      console.error(`faceinv help: unknown command "${rest[0]}" (known: ${[...commands.keys()].sort().join(', ')})`);
      return 2;
    }
    console.log(topic ? `${topic.summary}\n\n${topic.usage}` : help(commands));
    return 0;
  }
  const command = commands.get(name);
  if (!command) {
    console.error(`faceinv: unknown command "${name}"\n\n${help(commands)}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`faceinv ${name}: ${err.message}\n\n${command.usage}`);
      return 2;
    }
    throw err;
  }
}
