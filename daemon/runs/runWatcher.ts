/**
 * Watches a run folder and the runs root for the daemon's run feed (server/runFeed.ts), by polling `stat` (files there are
 * replaced by rename and appended, which `fs.watch` on a file follows badly; polling also works on network
 * and container mounts). Reports only changes: new metric lines (read from the last offset), a changed
 * run.json / reconstructions index / evaluation report, the folder disappearing, the run list changing
 * (as the rows added or changed and the names removed). `poll()` is public so tests drive it without timers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunFace, RunSummary } from '../protocol/daemon';
import { RUN_FILES, type EvaluationReport, type MetricsLine, type RunManifest } from '../protocol/runFolder';
import { listRuns, readEvaluation, readFaces, readManifest, readMetrics, type RunSnapshot } from './runReader';

export interface RunWatcherHandlers {
  metrics?(lines: MetricsLine[], problems: string[]): void;
  manifest?(manifest: RunManifest | null, problem?: string): void;
  faces?(faces: RunFace[], problems: string[]): void;
  evaluation?(report: EvaluationReport | null, problem?: string): void;
  /** The run folder is gone (called once per disappearance). */
  removed?(): void;
  /**
   * The folder is back after `removed`, or metrics.jsonl was rewritten (shorter than what was read): what was
   * pushed is stale; the caller re-reads the run whole (and makes a new watcher from that snapshot).
   */
  reset?(): void;
}

/** `mtimeMs:size:inode` of a file, or '' when it does not exist. */
function signature(file: string): string {
  try {
    const st = fs.statSync(file);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    return '';
  }
}

/**
 * A JSON file that does not parse but was modified this recently is taken as being written by a writer that
 * does not replace files atomically (another tool, an older version): it is read again on the next poll
 * instead of replacing what the view shows with a problem.
 */
export const WRITING_GRACE_MS = 3000;

function beingWritten(file: string, problem: string | undefined): boolean {
  if (!problem || !/not valid JSON/.test(problem)) return false;
  try { return Date.now() - fs.statSync(file).mtimeMs < WRITING_GRACE_MS; } catch { return false; }
}

/** Size in bytes, or 0 when the file does not exist. */
function sizeOf(file: string): number {
  try { return fs.statSync(file).size; } catch { return 0; }
}

export class RunWatcher {
  private metricsOffset: number;
  private metricsLineNumber: number;
  private readonly sigs: Record<'manifest' | 'faces' | 'evaluation', string>;
  private gone = false;
  private timer: NodeJS.Timeout | undefined;

  /** Starts from `snapshot` (what was just read and pushed), so only later changes are reported. */
  constructor(readonly snapshot: RunSnapshot, private readonly on: RunWatcherHandlers, intervalMs = 1000) {
    this.metricsOffset = snapshot.metricsOffset;
    this.metricsLineNumber = snapshot.metricsLineNumber;
    this.sigs = this.currentSigs();
    if (intervalMs > 0) {
      this.timer = setInterval(() => this.poll(), intervalMs);
      this.timer.unref();
    }
  }

  get dir(): string { return this.snapshot.dir; }

  private currentSigs(): Record<'manifest' | 'faces' | 'evaluation', string> {
    const dir = this.snapshot.dir;
    return {
      manifest: signature(path.join(dir, RUN_FILES.manifest)),
      faces: signature(path.join(dir, RUN_FILES.reconstructionIndex)),
      evaluation: signature(path.join(dir, RUN_FILES.evaluationReport)),
    };
  }

  /** One check; reports what changed since the previous one. */
  poll(): void {
    const dir = this.snapshot.dir;
    if (!fs.existsSync(dir)) {
      if (!this.gone) { this.gone = true; this.on.removed?.(); }
      return;
    }
    const metricsSize = sizeOf(path.join(dir, RUN_FILES.metrics));
    if (this.gone || metricsSize < this.metricsOffset) {
      this.gone = false;
      this.on.reset?.();
      return;
    }
    const chunk = metricsSize === this.metricsOffset
      ? { lines: [], offset: this.metricsOffset, lineNumber: this.metricsLineNumber, problems: [] }
      : readMetrics(dir, this.metricsOffset, this.metricsLineNumber);
    this.metricsOffset = chunk.offset;
    this.metricsLineNumber = chunk.lineNumber;
    if (chunk.lines.length > 0 || chunk.problems.length > 0) this.on.metrics?.(chunk.lines, chunk.problems);

    const now = this.currentSigs();
    if (now.manifest !== this.sigs.manifest) {
      const m = readManifest(dir);
      // Half-written (see WRITING_GRACE_MS): keep the signature stale so that the next poll reads it again.
      if (!beingWritten(path.join(dir, RUN_FILES.manifest), m.problem)) {
        this.sigs.manifest = now.manifest;
        this.on.manifest?.(m.value, m.problem);
      }
    }
    if (now.faces !== this.sigs.faces) {
      this.sigs.faces = now.faces;
      const f = readFaces(dir);
      this.on.faces?.(f.value ?? [], f.problems);
    }
    if (now.evaluation !== this.sigs.evaluation) {
      const r = readEvaluation(dir);
      if (!beingWritten(path.join(dir, RUN_FILES.evaluationReport), r.problem)) {
        this.sigs.evaluation = now.evaluation;
        this.on.evaluation?.(r.value, r.problem);
      }
    }
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** What changed between two run lists: rows new or different, and names gone. */
export interface RunsDelta { changed: RunSummary[]; removed: string[] }

export function runsDelta(before: readonly RunSummary[], after: readonly RunSummary[]): RunsDelta {
  const old = new Map(before.map((r) => [r.name, JSON.stringify(r)]));
  const now = new Set(after.map((r) => r.name));
  return {
    changed: after.filter((r) => old.get(r.name) !== JSON.stringify(r)),
    removed: before.filter((r) => !now.has(r.name)).map((r) => r.name),
  };
}

/** Polls the run history under `runsRoot` and reports what changed since the last report. */
export class RunsListWatcher {
  private last: RunSummary[];
  private timer: NodeJS.Timeout | undefined;

  private readonly list: () => RunSummary[];

  /** `runs`: a runs root (its folders listed), or how to list the runs (several roots). */
  constructor(runs: string | (() => RunSummary[]), initial: RunSummary[], private readonly onChange: (delta: RunsDelta, runs: RunSummary[]) => void, intervalMs = 2000) {
    this.list = typeof runs === 'string' ? () => listRuns(runs) : runs;
    this.last = initial;
    if (intervalMs > 0) {
      this.timer = setInterval(() => this.poll(), intervalMs);
      this.timer.unref();
    }
  }

  /** The list as of the last poll. */
  get runs(): RunSummary[] { return this.last; }

  poll(): void {
    let runs: RunSummary[];
    try {
      runs = this.list();
    } catch {
      return; // unreadable root: keep the last list; a new subscription reports the error
    }
    const delta = runsDelta(this.last, runs);
    this.last = runs;
    if (delta.changed.length > 0 || delta.removed.length > 0) this.onChange(delta, runs);
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
