/**
 * The CLI's door to an operation: the same job kind the daemon would queue (jobs/registry.ts), with its params
 * checked against the same schema, run in this process with the console's context. So `faceinv run CONFIG`
 * and the editor's "Run Config" cannot drift apart; params and result are typed by the kind's declaration.
 */
import { ownResult, type JobKindSpec, type ParamsOf, type ResultOf } from '../protocol/jobKinds';
import { formatProblems, validate } from '../protocol/validate';
import type { JobContext } from './context';
import { jobKindMap } from './registry';

export async function runJobKind<K extends JobKindSpec>(spec: K, params: ParamsOf<K>, ctx: JobContext): Promise<ResultOf<K>> {
  const k = jobKindMap().get(spec.name);
  if (!k) throw new Error(`no job kind "${spec.name}" (known: ${[...jobKindMap().keys()].join(', ')})`);
  // Optional params left undefined by a caller are left out, as JSON would.
  const clean = Object.fromEntries(Object.entries(params as object).filter(([, v]) => v !== undefined));
  const problems = validate(k.params, clean);
  if (problems.length) throw new Error(`invalid params for "${spec.name}":\n${formatProblems(problems)}`);
  return ownResult(spec, await k.run(clean, ctx));
}
