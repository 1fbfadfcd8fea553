/**
 * The extension's picture of the daemon's jobs: the full state from `daemon/subscribe`, then the
 * `daemon/jobState` / `daemon/jobProgress` deltas. Feeds the status bar, progress notifications and the
 * Cancel Job picker. Plain module (no vscode).
 */
import { progressFraction } from '../daemon/protocol/budget';
import type { JobInfo, JobProgress } from '../daemon/protocol/daemon';

export type JobEvent =
  | { type: 'state'; job: JobInfo; previous?: JobInfo['state'] }
  | { type: 'progress'; job: JobInfo; progress: JobProgress };

const ACTIVE: ReadonlySet<JobInfo['state']> = new Set(['queued', 'running']);

export function isActive(job: JobInfo): boolean {
  return ACTIVE.has(job.state);
}

/**
 * Percent done of a job from its last progress, 0..100, or undefined when it has not reported yet: of its
 * budget when it runs under one (a 5-minute run is half done after 2.5 minutes, whatever its planned steps),
 * else step / total; 100 once it reported why it stopped.
 */
export function percentOf(job: JobInfo): number | undefined {
  const p = job.progress;
  // A phase's stop reason ends that phase, not the job (a run's search is done while its evaluation runs).
  if (p?.stopReason && (!p.phase || p.phase.index === p.phase.count)) return 100;
  if (p?.phase && p.phase.total) return Math.floor((100 * Math.min(p.phase.done ?? 0, p.phase.total)) / p.phase.total);
  if (p?.phase && !p.budget && !(p.total > 0)) return undefined; // a phase without a count: no percent to claim
  const frac = progressFraction(p);
  return frac === null ? undefined : Math.floor(100 * frac);
}

export class JobTracker {
  private readonly jobs = new Map<string, JobInfo>();
  private readonly listeners = new Set<(e: JobEvent) => void>();

  onEvent(fn: (e: JobEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Replaces everything with a full snapshot (after subscribe or reconnect). */
  reset(jobs: readonly JobInfo[]): void {
    const before = new Map(this.jobs);
    this.jobs.clear();
    for (const j of jobs) this.jobs.set(j.id, j);
    for (const j of jobs) {
      const prev = before.get(j.id);
      if (!prev || prev.state !== j.state) this.emit({ type: 'state', job: j, previous: prev?.state });
    }
  }

  applyState(job: JobInfo): void {
    const prev = this.jobs.get(job.id);
    // A state notification may carry no progress; keep the last one we saw.
    const merged: JobInfo = { ...job, progress: job.progress ?? prev?.progress };
    this.jobs.set(job.id, merged);
    this.emit({ type: 'state', job: merged, previous: prev?.state });
  }

  applyProgress(jobId: string, progress: JobProgress): void {
    const prev = this.jobs.get(jobId);
    if (!prev) return; // progress of a job we never heard of: the next snapshot brings it
    // Out of order, unless a new phase began (its steps count from 0 again).
    const samePhase = prev.progress?.phase?.id === progress.phase?.id && prev.progress?.phase?.label === progress.phase?.label;
    if (prev.progress && samePhase && progress.step < prev.progress.step) return;
    const job: JobInfo = { ...prev, progress, state: prev.state === 'queued' ? 'running' : prev.state };
    this.jobs.set(jobId, job);
    this.emit({ type: 'progress', job, progress });
  }

  clear(): void { this.jobs.clear(); }

  get(id: string): JobInfo | undefined { return this.jobs.get(id); }

  all(): JobInfo[] { return [...this.jobs.values()]; }

  active(): JobInfo[] { return this.all().filter(isActive); }

  /** The job the status bar shows: the running one started last, else the oldest queued one. */
  current(): JobInfo | undefined {
    const running = this.all().filter((j) => j.state === 'running');
    if (running.length) return running.sort((a, b) => (a.startedAt ?? '').localeCompare(b.startedAt ?? '')).at(-1);
    return this.all().filter((j) => j.state === 'queued').sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0];
  }

  private emit(e: JobEvent): void {
    for (const l of this.listeners) {
      try { l(e); } catch { /* a listener's bug must not stop the others */ }
    }
  }
}
