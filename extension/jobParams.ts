/**
 * Parameters of the jobs the commands submit, in one place: the daemon validates them against each kind's
 * schema (`daemon/listJobKinds` lists the kinds), so a mismatch comes back as an InvalidParams error naming
 * the field. Paths are absolute (the daemon confines them to its workspace and data roots).
 */
import { AuditJob, EvaluateJob, InvertJob, ProbeJob, ProtectJob, RunJob, submission, TrainJob, type JobSubmission, type ParamsOf } from '../daemon/protocol/jobKinds';

export type { JobSubmission };

export const JOB_KIND = { run: RunJob.name, train: TrainJob.name, invert: InvertJob.name, evaluate: EvaluateJob.name, probe: ProbeJob.name, audit: AuditJob.name, protect: ProtectJob.name } as const;

const base = (p: string) => p.split(/[\\/]/).filter(Boolean).at(-1) ?? p;

/**
 * The run a config writes, by the name the dashboard shows it under (its folder is runs/<name>), from the
 * config's text; undefined when the text names none (the daemon's validation says why).
 */
export function runNameOf(configText: string): string | undefined {
  try {
    const name = (JSON.parse(configText) as { name?: unknown }).name;
    return typeof name === 'string' && name.length > 0 ? name : undefined;
  } catch {
    return undefined;
  }
}

/** `runName`: the run's name, so notifications and the dashboard call it the same; else the file's name. */
export function trainJob(configPath: string, runName?: string): JobSubmission {
  return submission(TrainJob, { config: configPath }, `train ${runName ?? base(configPath)}`);
}

/** A run config end to end: the daemon's judge picks the route, trains or inverts, then evaluates. */
export function runJob(configPath: string, runName?: string): JobSubmission {
  return submission(RunJob, { config: configPath }, `run ${runName ?? base(configPath)}`);
}

/**
 * Inverts a file of embeddings of encoder `encoderId`; `generator` (a trained black-box run folder or a TF.js
 * generator) is optional: without it the daemon's judge picks the route.
 */
export function invertJob(embeddingsPath: string, encoderId: string, generator?: string): JobSubmission {
  return submission(InvertJob, { encoder: encoderId, embeddings: embeddingsPath, route: 'auto', ...(generator ? { generator } : {}) }, `invert ${base(embeddingsPath)}`);
}

export function evaluateJob(runDir: string): JobSubmission {
  return submission(EvaluateJob, { runDir }, `evaluate ${base(runDir)}`);
}

/**
 * Audits a template store: either an audit config file, or a store with the encoder that made it (and
 * optionally a reference set). `secrets` are HTTP encoders' auth.secret values from the editor's secret
 * storage, sent with the job only.
 */
export function auditJob(a: ({ config: string } | { templates: string; encoder: string }) & { reference?: string; secrets?: Record<string, string> }): JobSubmission {
  const source = 'config' in a ? { config: a.config } : { templates: a.templates, encoder: a.encoder };
  const params: ParamsOf<typeof AuditJob> = {
    ...source, ...(a.reference ? { reference: a.reference } : {}), ...(a.secrets && Object.keys(a.secrets).length ? { secrets: a.secrets } : {}),
  };
  return submission(AuditJob, params, `audit ${base('config' in a ? a.config : a.templates)}`);
}

/** A protection config → the `protect` job (daemon/jobs/kinds/protect.ts). */
export function protectJob(configPath: string): JobSubmission {
  return submission(ProtectJob, { config: configPath }, `protect ${base(configPath)}`);
}

/** The daemon self-check: N matrix products on the active backend. */
export function probeJob(steps = 20, size = 128): JobSubmission {
  return submission(ProbeJob, { steps, size }, `self-check ×${steps}`);
}
