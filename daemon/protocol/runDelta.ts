/**
 * The rules for applying the daemon's per-run deltas (`daemon/runMetrics`, `daemon/runManifest`,
 * `daemon/runFaces`, `daemon/runEvaluation`, `daemon/runRemoved`) to a run's state, written once. The extension keeps a
 * copy of the shown run (extension/dashboard/controller.ts) and the webview keeps its own (webview/src/dashboardData.ts);
 * both reduce with `applyRunDelta`, so a whole state the extension posts again (the webview reloaded, a
 * refresh) equals what the webview had built from the deltas.
 *
 * - metric lines are appended in file order;
 * - problems are merged without duplicates, the newest `MAX_RUN_PROBLEMS` kept (a run whose metrics.jsonl
 *   keeps growing bad lines must not grow the state without bound);
 * - the manifest, the faces and the evaluation are replaced whole; an evaluation's problem goes with it (an
 *   evaluation without one clears the old one);
 * - a removed run is marked removed, its state otherwise kept (the view still shows what it had).
 *
 * Pure: returns a new object (unchanged fields shared), never mutates `run`. Faces are generic: the daemon's
 * `RunFace` in the extension, the webview's `FaceView` (with picture URIs) in the webview.
 */
import type { EvaluationReport } from './report';
import type { MetricsLine, RunManifest } from './runFolder';

/** Problems kept per run (newest last). */
export const MAX_RUN_PROBLEMS = 20;

/** What of a run the deltas change. */
export interface RunDeltaTarget<F> {
  manifest: RunManifest | null;
  metrics: MetricsLine[];
  faces: F[];
  evaluation: EvaluationReport | null;
  evaluationProblem?: string;
  problems: string[];
  removed: boolean;
}

/** One delta of one run, as the daemon sends it (without the run's name, which the caller has matched). */
export type RunDelta<F> =
  | { kind: 'metrics'; lines: MetricsLine[]; problems?: string[] }
  | { kind: 'manifest'; manifest: RunManifest | null }
  | { kind: 'faces'; faces: F[] }
  | { kind: 'evaluation'; evaluation: EvaluationReport | null; problem?: string }
  | { kind: 'removed' };

/** At most `max` problems kept (newest last), duplicates dropped. */
export function mergeProblems(old: readonly string[], added: readonly string[], max = MAX_RUN_PROBLEMS): string[] {
  const out = old.slice();
  for (const p of added) if (!out.includes(p)) out.push(p);
  return out.slice(Math.max(0, out.length - max));
}

/** The run after one delta. */
export function applyRunDelta<S extends RunDeltaTarget<S['faces'][number]>>(run: S, delta: RunDelta<S['faces'][number]>): S {
  switch (delta.kind) {
    case 'metrics':
      return { ...run, metrics: run.metrics.concat(delta.lines), problems: delta.problems?.length ? mergeProblems(run.problems, delta.problems) : run.problems };
    case 'manifest': return { ...run, manifest: delta.manifest };
    case 'faces': return { ...run, faces: delta.faces };
    case 'evaluation': {
      const { evaluationProblem: _old, ...rest } = run;
      return { ...rest, evaluation: delta.evaluation, ...(delta.problem ? { evaluationProblem: delta.problem } : {}) } as S;
    }
    case 'removed': return { ...run, removed: true };
  }
}
