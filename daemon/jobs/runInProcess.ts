/**
 * The CLI's door to an operation: the same job kind the daemon would queue (jobs/kinds.ts), with its params
 * checked against the same schema, run in this process with the console's context. So `faceinv run CONFIG`
 * and the editor's "Run Config" cannot drift apart.
 */
import { formatProblems, validate } from '../protocol/validate';
import type { JobContext } from './context';
import { jobKindMap } from './registry';

export async function runJobKind(kind: string, params: Record<string, unknown>, ctx: JobContext): Promise<unknown> {
  const k = jobKindMap().get(kind);
  if (!k) throw new Error(`no job kind "${kind}" (known: ${[...jobKindMap().keys()].join(', ')})`);
  // Optional params left undefined by a caller are left out, as JSON would.
  const clean = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
  const problems = validate(k.params, clean);
  if (problems.length) throw new Error(`invalid params for "${kind}":\n${formatProblems(problems)}`);
  return k.run(clean as never, ctx);
}
