/**
 * Parameters of the jobs the commands submit, in one place: the daemon validates them against each kind's
 * schema (`daemon/listJobKinds` lists the kinds), so a mismatch comes back as an InvalidParams error naming
 * the field. Paths are absolute (the daemon confines them to its workspace and data roots).
 */
export const JOB_KIND = { run: 'run', train: 'train', invert: 'invert', evaluate: 'evaluate', probe: 'probe', audit: 'audit', protect: 'protect' } as const;

export interface JobSubmission {
  kind: string;
  params: Record<string, unknown>;
  label: string;
}

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
  return { kind: JOB_KIND.train, params: { config: configPath }, label: `train ${runName ?? base(configPath)}` };
}

/** A run config end to end: the daemon's judge picks the route, trains or inverts, then evaluates. */
export function runJob(configPath: string, runName?: string): JobSubmission {
  return { kind: JOB_KIND.run, params: { config: configPath }, label: `run ${runName ?? base(configPath)}` };
}

/**
 * Inverts a file of embeddings of encoder `encoderId`; `generator` (a trained black-box run folder or a TF.js
 * generator) is optional: without it the daemon's judge picks the route.
 */
export function invertJob(embeddingsPath: string, encoderId: string, generator?: string): JobSubmission {
  return {
    kind: JOB_KIND.invert,
    params: { encoder: encoderId, embeddings: embeddingsPath, route: 'auto', ...(generator ? { generator } : {}) },
    label: `invert ${base(embeddingsPath)}`,
  };
}

export function evaluateJob(runDir: string): JobSubmission {
  return { kind: JOB_KIND.evaluate, params: { runDir }, label: `evaluate ${base(runDir)}` };
}

/**
 * Audits a template store: either an audit config file, or a store with the encoder that made it (and
 * optionally a reference set). `secrets` are HTTP encoders' auth.secret values from the editor's secret
 * storage, sent with the job only.
 */
export function auditJob(a: { config?: string; templates?: string; encoder?: string; reference?: string; secrets?: Record<string, string> }): JobSubmission {
  const params: Record<string, unknown> = {};
  for (const k of ['config', 'templates', 'encoder', 'reference'] as const) if (a[k]) params[k] = a[k];
  if (a.secrets && Object.keys(a.secrets).length) params.secrets = a.secrets;
  return { kind: JOB_KIND.audit, params, label: `audit ${base(a.config ?? a.templates ?? 'templates')}` };
}

/** The daemon self-check: N matrix products on the active backend. */
/** A protection config → the `protect` job (daemon/jobs/kinds/protect.ts). */
export function protectJob(configPath: string): JobSubmission {
  return { kind: JOB_KIND.protect, params: { config: configPath }, label: `protect ${base(configPath)}` };
}

export function probeJob(steps = 20, size = 128): JobSubmission {
  return { kind: JOB_KIND.probe, params: { steps, size }, label: `self-check ×${steps}` };
}
