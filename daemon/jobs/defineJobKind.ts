/**
 * A job kind as the daemon runs it: its declaration in the shared layer (daemon/protocol/jobKinds.ts: name,
 * params and result schemas) and the function that runs it, whose result type is the declared one. Kinds are
 * listed in `registry.ts`; the daemon queue and the CLI (runInProcess.ts) both look them up there.
 */
import type { Static, TSchema, TUnknown } from '@sinclair/typebox';
import type { JobKindSpec } from '../protocol/jobKinds';
import type { JobContext } from './context';

export interface JobKind<P extends TSchema = TSchema, R extends TSchema = TSchema> {
  readonly kind: string;
  readonly summary: string;
  readonly params: P;
  /** A label for lists, from the params (e.g. the config file name). */
  label(params: Static<P>): string;
  run(params: Static<P>, ctx: JobContext): Promise<Static<R>>;
}

interface Runner<P extends TSchema, R extends TSchema> {
  summary: string;
  label(params: Static<P>): string;
  run(params: Static<P>, ctx: JobContext): Promise<Static<R>>;
}

/** A declared kind (protocol/jobKinds.ts) with its runner; or, for tests and probes, an undeclared kind with its params schema. */
export function defineJobKind<P extends TSchema, R extends TSchema>(spec: JobKindSpec<P, R>, k: Runner<P, R>): JobKind<P, R>;
export function defineJobKind<P extends TSchema>(k: Runner<P, TUnknown> & { kind: string; params: P }): JobKind<P, TUnknown>;
export function defineJobKind<P extends TSchema, R extends TSchema>(a: JobKindSpec<P, R> | (Runner<P, TUnknown> & { kind: string; params: P }), b?: Runner<P, R>): JobKind<P, R> | JobKind<P, TUnknown> {
  if ('kind' in a) return a;
  return { kind: a.name, params: a.params, ...(b as Runner<P, R>) };
}
