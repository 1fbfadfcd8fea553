/**
 * The daemon's job queue: one compute job at a time (the engine is single-tenant: two trainings would only
 * halve each other's speed and double memory), the rest wait in order. Jobs can be cancelled queued or
 * running; a job that throws fails alone and the queue moves on.
 */
import { randomUUID } from 'node:crypto';
import { BUDGET_KINDS, formatBudget, type ProgressExtras } from '../protocol/budget';
import type { JobInfo, JobProgress, LogLevel } from '../protocol/daemon';
import { ErrorCode, ProtocolError } from '../protocol/message';
import { formatProblems, validate } from '../protocol/validate';
import { JobCancelledError, JobContext } from './context';
import type { JobKind } from './defineJobKind';

export interface QueueListener {
  state(job: JobInfo): void;
  progress(jobId: string, progress: JobProgress): void;
  log(level: LogLevel, message: string, jobId?: string): void;
}

interface Entry {
  info: JobInfo;
  kind: JobKind;
  params: unknown;
  history: JobProgress[];
  abort: AbortController;
}

/** Progress entries kept per job (older ones are thinned out, keeping every other one). */
const HISTORY_LIMIT = 4000;
/** Finished jobs kept in memory for `listJobs`. */
const FINISHED_LIMIT = 200;

/** The budget fields of a progress report that are well formed (a job's bug must not break the stream's schema). */
export function cleanExtras(extras: ProgressExtras | undefined): ProgressExtras {
  if (!extras) return {};
  const out: ProgressExtras = {};
  const b = extras.budget;
  if (b && (BUDGET_KINDS as readonly string[]).includes(b.kind) && Number.isFinite(b.used) && Number.isFinite(b.limit) && b.limit > 0) {
    out.budget = { kind: b.kind, used: Math.max(0, b.used), limit: b.limit };
  }
  if (extras.etaSeconds !== undefined && Number.isFinite(extras.etaSeconds)) out.etaSeconds = Math.max(0, extras.etaSeconds);
  if (typeof extras.stopReason === 'string' && extras.stopReason) out.stopReason = extras.stopReason;
  const ph = extras.phase;
  if (ph && typeof ph.id === 'string' && ph.id && typeof ph.label === 'string' && Number.isInteger(ph.index) && Number.isInteger(ph.count) && ph.index >= 1 && ph.count >= ph.index) {
    const count = (v: unknown) => (Number.isInteger(v) && (v as number) >= 0 ? { v: v as number } : undefined);
    const done = count(ph.done), total = count(ph.total);
    out.phase = { id: ph.id, label: ph.label, index: ph.index, count: ph.count, ...(done ? { done: done.v } : {}), ...(total ? { total: total.v } : {}) };
  }
  return out;
}

export class JobQueue {
  private readonly entries = new Map<string, Entry>();
  private readonly pending: Entry[] = [];
  private running: Entry | undefined;
  private readonly listeners = new Set<QueueListener>();
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly kinds: ReadonlyMap<string, JobKind>, private readonly workspaceDir: string) {}

  listen(listener: QueueListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  submit(kindName: string, params: unknown, label?: string): JobInfo {
    const kind = this.kinds.get(kindName);
    if (!kind) {
      throw new ProtocolError(ErrorCode.InvalidParams, `unknown job kind "${kindName}" (known: ${[...this.kinds.keys()].join(', ')})`);
    }
    const problems = validate(kind.params, params);
    if (problems.length) {
      throw new ProtocolError(ErrorCode.InvalidParams, `invalid params for job "${kindName}":\n${formatProblems(problems)}`, problems);
    }
    const info: JobInfo = {
      id: randomUUID().slice(0, 8),
      kind: kindName,
      label: label ?? kind.label(params),
      state: 'queued',
      createdAt: new Date().toISOString(),
    };
    const entry: Entry = { info, kind, params, history: [], abort: new AbortController() };
    this.entries.set(info.id, entry);
    this.pending.push(entry);
    this.emitState(entry);
    this.pruneFinished();
    queueMicrotask(() => this.pump());
    return { ...info };
  }

  cancel(jobId: string): JobInfo {
    const entry = this.require(jobId);
    if (entry.info.state === 'queued') {
      this.pending.splice(this.pending.indexOf(entry), 1);
      this.finish(entry, 'cancelled');
    } else if (entry.info.state === 'running') {
      entry.abort.abort();
    }
    return { ...entry.info };
  }

  /** Cancels everything; resolves once the running job has stopped. */
  async cancelAll(): Promise<void> {
    for (const entry of [...this.pending]) this.cancel(entry.info.id);
    if (this.running) this.running.abort.abort();
    await this.idle();
  }

  list(): JobInfo[] {
    return [...this.entries.values()].map((e) => ({ ...e.info }));
  }

  get(jobId: string): { job: JobInfo; history: JobProgress[] } {
    const entry = this.require(jobId);
    return { job: { ...entry.info }, history: [...entry.history] };
  }

  has(jobId: string): boolean {
    return this.entries.has(jobId);
  }

  /** Resolves when nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (!this.running && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private require(jobId: string): Entry {
    const entry = this.entries.get(jobId);
    if (!entry) throw new ProtocolError(ErrorCode.NotFound, `no job with id "${jobId}"`);
    return entry;
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    const entry = this.pending.shift();
    if (!entry) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      waiters.forEach((w) => w());
      return;
    }
    this.running = entry;
    entry.info.state = 'running';
    entry.info.startedAt = new Date().toISOString();
    this.emitState(entry);
    try {
      const result = await entry.kind.run(entry.params, this.contextFor(entry));
      if (entry.abort.signal.aborted) this.finish(entry, 'cancelled');
      else this.finish(entry, 'succeeded', undefined, result);
    } catch (err) {
      if (err instanceof JobCancelledError || entry.abort.signal.aborted) {
        this.finish(entry, 'cancelled');
      } else {
        const message = err instanceof Error ? err.message : String(err);
        // The one log line of a failure (the job id travels as jobId, not in the text).
        this.emitLog('error', `${entry.info.kind} job failed: ${message}`, entry.info.id);
        this.finish(entry, 'failed', message);
      }
    } finally {
      this.running = undefined;
      void this.pump();
    }
  }

  private contextFor(entry: Entry): JobContext {
    // The phase a job last announced is the one its later reports belong to (one progress model per job).
    let phase: ProgressExtras['phase'];
    return {
      jobId: entry.info.id,
      signal: entry.abort.signal,
      workspaceDir: this.workspaceDir,
      progress: (step, total, metrics, message, extras) => {
        const clean: Record<string, number> = {};
        for (const [k, v] of Object.entries(metrics)) if (Number.isFinite(v)) clean[k] = v;
        const clean2 = cleanExtras(extras);
        if (clean2.phase) phase = clean2.phase;
        else if (phase) clean2.phase = phase;
        const progress: JobProgress = { step, total, metrics: clean, ...(message ? { message } : {}), ...clean2 };
        entry.info.progress = progress;
        entry.history.push(progress);
        if (entry.history.length > HISTORY_LIMIT) entry.history = entry.history.filter((_, i) => i % 2 === 1);
        for (const l of this.listeners) l.progress(entry.info.id, progress);
      },
      log: (level, message) => this.emitLog(level, message, entry.info.id),
      setRunDir: (dir) => {
        entry.info.runDir = dir;
        this.emitState(entry);
      },
    };
  }

  private finish(entry: Entry, state: 'succeeded' | 'failed' | 'cancelled', error?: string, result?: unknown): void {
    entry.info.state = state;
    entry.info.endedAt = new Date().toISOString();
    const last = entry.info.progress;
    if (state === 'cancelled' && last && !last.stopReason) {
      // The last report was written while the job ran ("20 targets still searching"): it no longer holds.
      const { message: _live, etaSeconds: _eta, ...rest } = last;
      entry.info.progress = { ...rest, stopReason: `cancelled at ${last.budget ? formatBudget(last.budget) : `step ${last.step} of ${last.total}`}` };
    }
    if (error !== undefined) entry.info.error = error;
    if (result !== undefined) entry.info.result = result;
    this.emitState(entry);
  }

  private pruneFinished(): void {
    const finished = [...this.entries.values()].filter((e) => e.info.endedAt);
    for (const e of finished.slice(0, Math.max(0, finished.length - FINISHED_LIMIT))) this.entries.delete(e.info.id);
  }

  private emitState(entry: Entry): void {
    for (const l of this.listeners) l.state({ ...entry.info });
  }

  private emitLog(level: LogLevel, message: string, jobId?: string): void {
    for (const l of this.listeners) l.log(level, message, jobId);
  }
}
