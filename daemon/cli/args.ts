/**
 * Minimal flag parser shared by every subcommand: `--name value`, `--name=value`, boolean `--flag`, and
 * positionals. Unknown flags are errors, so typos never pass silently.
 */
import { UsageError } from './command';

export interface FlagSpec {
  /** Flags taking a value. */
  readonly values?: readonly string[];
  /** Flags that are booleans. */
  readonly booleans?: readonly string[];
}

export interface ParsedArgs {
  readonly flags: Map<string, string>;
  readonly booleans: Set<string>;
  readonly positionals: string[];
}

export function parseArgs(args: readonly string[], spec: FlagSpec): ParsedArgs {
  const values = new Set(spec.values ?? []);
  const bools = new Set(spec.booleans ?? []);
  const flags = new Map<string, string>();
  const booleans = new Set<string>();
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') { positionals.push(...args.slice(i + 1)); break; }
    if (!arg.startsWith('--')) { positionals.push(arg); continue; }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (bools.has(name)) {
      if (eq >= 0) throw new UsageError(`flag --${name} takes no value`);
      booleans.add(name);
    } else if (values.has(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined) throw new UsageError(`flag --${name} needs a value`);
      flags.set(name, value);
    } else {
      const known = [...values, ...bools].map((f) => `--${f}`).join(', ') || 'none';
      throw new UsageError(`unknown flag --${name} (known: ${known})`);
    }
  }
  return { flags, booleans, positionals };
}

export function intFlag(parsed: ParsedArgs, name: string, fallback: number, min = 1): number {
  const raw = parsed.flags.get(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${raw}"`);
  return n;
}

export function numberFlag(parsed: ParsedArgs, name: string, fallback: number): number {
  const raw = parsed.flags.get(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${raw}"`);
  return n;
}
