/**
 * `--backend` / FACEINV_BACKEND handling shared by the commands that compute, and the one line they print
 * about the engine. The probe trail (which engines were tried and why they were skipped) is printed only
 * with `--verbose` (any command; `main.ts` takes it off the command line) or FACEINV_VERBOSE=1.
 */
import { initEngine, parseBackendChoice, EngineInfo } from '../tfjs/backend';
import type { ParsedArgs } from './args';
import { envSwitch, envValue } from '../protocol/env';

/** Output options every command shares. */
export const cliOutput = { verbose: envSwitch('FACEINV_VERBOSE') === true };

/** The line a command prints before its own output (stderr). */
export function engineLine(info: Pick<EngineInfo, 'summary'>, verbose = cliOutput.verbose): string {
  return `engine: ${info.summary}${verbose ? '' : ' — --verbose shows the probe'}`;
}

export async function initEngineFromFlags(a: ParsedArgs, quiet = false): Promise<EngineInfo> {
  const backend = parseBackendChoice(a.flags.get('backend') ?? envValue('FACEINV_BACKEND') ?? 'auto', '--backend');
  const verbose = cliOutput.verbose && !quiet;
  const info = await initEngine({ backend, log: verbose ? (m) => console.error(m) : () => undefined });
  if (!quiet) console.error(engineLine(info));
  return info;
}
