/**
 * A job kind: the parameter schema the daemon validates before queueing, and the function that runs it.
 * Kinds are listed in `registry.ts`; the daemon queue and the CLI (runInProcess.ts) both look them up there.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import type { JobContext } from './context';

export interface JobKind<P extends TSchema = TSchema> {
  readonly kind: string;
  readonly summary: string;
  readonly params: P;
  /** A label for lists, from the params (e.g. the config file name). */
  label(params: Static<P>): string;
  run(params: Static<P>, ctx: JobContext): Promise<unknown>;
}

export function defineJobKind<P extends TSchema>(kind: JobKind<P>): JobKind<P> {
  return kind;
}
