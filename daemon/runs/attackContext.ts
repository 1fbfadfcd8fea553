/**
 * What an attack (training, search, evaluation) sees of whoever runs it: cancellation, progress and log
 * sinks, the workspace, and where to announce its run folder. The daemon's job queue and the headless CLI
 * each provide one (daemon/jobs), so attack code is the same in both and depends on nothing above it.
 */
import type { ProgressExtras } from '../protocol/budget';
import type { LogLevel } from '../protocol/daemon';

export interface AttackContext {
  readonly jobId: string;
  /** Aborted on cancel or daemon shutdown; long loops check it at every step. */
  readonly signal: AbortSignal;
  /** Workspace root: relative paths in params and configs resolve against it. */
  readonly workspaceDir: string;
  /**
   * Report one step; metrics must be finite numbers. A job under a budget adds it (`extras.budget`, with
   * `etaSeconds`), and its last report says why it stopped (`extras.stopReason`): see protocol/budget.ts.
   */
  progress(step: number, total: number, metrics: Record<string, number>, message?: string, extras?: ProgressExtras): void;
  log(level: LogLevel, message: string): void;
  /** Tell clients which run folder this job writes (dashboard follows it). */
  setRunDir(dir: string): void;
  /** Where the face-pipeline caches live (default: <repo or cwd>/.cache/embeddings) and how many workers fill them. */
  readonly cacheDir?: string;
  readonly workers?: number;
  /**
   * True when the caller is the machine's own user running the CLI: paths named in params and configs are
   * then not confined to the daemon's allowed roots (the daemon's network-facing jobs always are).
   */
  readonly trusted?: boolean;
}

/** Thrown (or rethrown) when a job notices its signal was aborted. */
export class JobCancelledError extends Error {
  constructor() { super('job cancelled'); }
}

export function throwIfCancelled(ctx: Pick<AttackContext, 'signal'>): void {
  if (ctx.signal.aborted) throw new JobCancelledError();
}

/** Lets the event loop breathe between compute steps so cancel requests and pings get through. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
