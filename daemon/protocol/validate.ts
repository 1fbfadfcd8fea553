/**
 * Runtime validation of payloads against the TypeBox schemas of the protocol and config modules (ajv),
 * compiled once per schema. Returns human-readable problems instead of throwing, so callers decide whether
 * a problem is an error response, a diagnostic or an exception.
 */
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { isPlainObject } from './json';

const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
const cache = new WeakMap<object, ValidateFunction>();

export interface Problem {
  /** What is wrong, in words. */
  readonly reason: string;
  /** JSON pointer (or file + pointer) of the offending value. */
  readonly where: string;
  /** What would be accepted. */
  readonly expected: string;
}

function validatorFor(schema: TSchema | object): ValidateFunction {
  let fn = cache.get(schema);
  if (!fn) {
    fn = ajv.compile(schema as object);
    cache.set(schema, fn);
  }
  return fn;
}

function describe(err: ErrorObject): Problem {
  const where = err.instancePath || '/';
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'additionalProperties':
      return { reason: `unknown property "${String(p.additionalProperty)}"`, where, expected: 'only the properties the schema defines' };
    case 'required':
      return { reason: `missing property "${String(p.missingProperty)}"`, where, expected: `property "${String(p.missingProperty)}"` };
    case 'enum':
      return { reason: err.message ?? 'not an allowed value', where, expected: `one of ${JSON.stringify(p.allowedValues)}` };
    case 'const':
      return { reason: err.message ?? 'not the allowed value', where, expected: JSON.stringify(p.allowedValue) };
    default:
      return { reason: err.message ?? err.keyword, where, expected: `${err.keyword} ${JSON.stringify(p)}` };
  }
}

export function validate(schema: TSchema | object, value: unknown): Problem[] {
  const fn = validatorFor(schema);
  if (fn(value)) return [];
  // Unions report one error per branch; the first few are enough to act on.
  return (fn.errors ?? []).slice(0, 8).map(describe);
}

export function formatProblems(problems: readonly Problem[], prefix = ''): string {
  return problems.map((p) => `${prefix}${p.where}: ${p.reason} (expected ${p.expected})`).join('\n');
}

/**
 * A config object with its schema's `default` keywords filled in (the one source of defaults; the caller's
 * object is not touched), or why not: not an object, or the schema's problems. Problems are located at
 * `<where>#<pointer>` (`at` makes such locations for the caller's own checks of meaning).
 */
export function withDefaults<T>(schema: TSchema, value: unknown, where: string, what: { name: string; expected: string }):
  { config?: T; problems: Problem[]; at: (pointer: string) => string } {
  const at = (p: string) => `${where}#${p || '/'}`;
  if (!isPlainObject(value)) return { problems: [{ reason: `${what.name} must be a JSON object`, where: at(''), expected: what.expected }], at };
  const filled = Value.Default(schema, Value.Clone(value));
  const problems = validate(schema, filled).map((p) => ({ ...p, where: at(p.where === '/' ? '' : p.where) }));
  return problems.length ? { problems, at } : { config: filled as T, problems, at };
}

/** The config when it has no problems; else an Error listing every one (`what`: "run config", …). */
export function assertConfig<T>(result: { config?: T; problems: readonly Problem[] }, what: string, where: string): T {
  if (!result.config || result.problems.length) throw new Error(`invalid ${what} ${where}:\n${formatProblems(result.problems, '  ')}`);
  return result.config;
}
