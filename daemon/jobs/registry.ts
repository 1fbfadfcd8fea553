/** Every job kind the daemon and the CLI know, by name. Add new kinds here. */
import type { JobKind } from './defineJobKind';
import { probeJob } from './kinds/probe';
import { trainJob } from './kinds/train';
import { evaluateJob } from './kinds/evaluate';
import { runJob } from './kinds/run';
import { invertJob } from './kinds/invert';
import { auditJob } from './kinds/audit';
import { protectJob } from './kinds/protect';

export const JOB_KINDS: readonly JobKind[] = [probeJob, trainJob, evaluateJob, runJob, invertJob, auditJob, protectJob] as unknown as JobKind[];

export function jobKindMap(kinds: readonly JobKind[] = JOB_KINDS): Map<string, JobKind> {
  return new Map(kinds.map((k) => [k.kind, k]));
}
