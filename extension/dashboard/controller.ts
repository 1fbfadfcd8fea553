/**
 * The extension side of the dashboard, without `vscode`: answers webview messages
 * (daemon/protocol/webview.ts), builds the whole DashboardState from the run folders, then relays changes as
 * small notifications: new metric lines, run.json / reconstructions / report changes and the run list from
 * the watchers, and job progress from the daemon (the job whose `runDir` is the shown run). The panel
 * (panel.ts) supplies a `DashboardHost`; tests supply a fake one.
 *
 * The webview is treated as untrusted input: messages that match no declaration are logged and ignored,
 * run names must be folders of the runs root, and `openImage` only opens files inside the shown run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DaemonClient } from '../../daemon/protocol/client';
import { JobProgressNotification, JobStateNotification, ListJobsRequest, SubscribeRequest, UnsubscribeRequest, type JobInfo, type JobProgress } from '../../daemon/protocol/daemon';
import {
  DaemonMessage, EvaluationMessage, FacesMessage, JobMessage, ManifestMessage, MetricsMessage, OpenImageMessage, ReadyMessage,
  RefreshMessage, RunRemovedMessage, RunsMessage, SelectRunMessage, StateMessage,
  type DashboardState, type FaceView, type RunJob, type RunSummary, type ToWebviewMessage,
} from '../../daemon/protocol/webview';
import { listRuns, readRun, type FaceFiles } from './runReader';
import { RunsListWatcher, RunWatcher } from './runWatcher';

/** The daemon client methods the dashboard uses. */
export type JobSource = Pick<DaemonClient, 'request' | 'on' | 'onClose' | 'isOpen'>;

export interface DashboardHost {
  /** Posts to the webview (dropped while it is hidden; it asks again with `dashboard/ready`). */
  post(msg: ToWebviewMessage): void;
  /** Absolute file path → URI the webview can load (`webview.asWebviewUri`). */
  toUri(absPath: string): string;
  /** Opens a file in an editor tab. */
  openFile(absPath: string): void;
  /** Makes sure the webview may load files under `dir` (a run shown from outside the runs root). */
  allowRoot(dir: string): void;
  log(msg: string): void;
}

export interface DashboardOptions {
  /** `<workspace>/runs`, or null without a workspace. */
  runsRoot: string | null;
  client(): JobSource | undefined;
  /** Poll period of the shown run's files (ms); 0 = no timer (tests call `poll()`). */
  runPollMs?: number;
  /** Poll period of the runs root listing (ms); 0 = no timer. */
  listPollMs?: number;
}

function jobView(job: JobInfo, progress?: JobProgress): RunJob {
  const p = progress ?? job.progress;
  return {
    jobId: job.id, state: job.state,
    ...(p ? {
      step: p.step, total: p.total, metrics: p.metrics, ...(p.message ? { message: p.message } : {}),
      ...(p.budget ? { budget: p.budget } : {}), ...(p.etaSeconds !== undefined ? { etaSeconds: p.etaSeconds } : {}),
      ...(p.stopReason ? { stopReason: p.stopReason } : {}),
    } : {}),
    ...(job.error ? { error: job.error } : {}),
  };
}

export class DashboardController {
  private runDir: string | undefined;
  private runs: RunSummary[] = [];
  private watcher: RunWatcher | undefined;
  private readonly listWatcher: RunsListWatcher | undefined;
  private attached: { client: JobSource; off: (() => void)[] } | undefined;
  private job: { info: JobInfo; view: RunJob } | undefined;
  private subscribedJob: string | undefined;
  private disposed = false;
  /** The webview has asked for the state at least once (before that, pushes would be lost). */
  private readySeen = false;
  /** Incremented by each pushState, so only the newest one posts and watches. */
  private pushGen = 0;
  private readonly clientTimer: NodeJS.Timeout | undefined;

  constructor(private readonly host: DashboardHost, private readonly opts: DashboardOptions, initialRunDir?: string) {
    if (initialRunDir) this.runDir = path.resolve(initialRunDir);
    this.runs = this.safeList();
    if (opts.runsRoot) {
      this.listWatcher = new RunsListWatcher(opts.runsRoot, this.runs, (runs) => {
        this.runs = runs;
        // The first run appearing in an empty history is shown right away (a training just started).
        if (!this.runDir && runs.length > 0 && this.readySeen) void this.pushState();
        else this.host.post(RunsMessage.create({ runs }));
      }, opts.listPollMs ?? 2000);
    }
    const clientPoll = opts.runPollMs ?? 1000;
    if (clientPoll > 0) {
      this.clientTimer = setInterval(() => this.tick(), clientPoll);
      this.clientTimer.unref();
    }
  }

  get shownRunDir(): string | undefined { return this.runDir; }

  private safeList(): RunSummary[] {
    if (!this.opts.runsRoot) return [];
    try {
      return listRuns(this.opts.runsRoot);
    } catch (e) {
      this.host.log((e as Error).message);
      return [];
    }
  }

  /** A message from the webview. Unknown or malformed ones are logged and ignored. */
  async handle(msg: unknown): Promise<void> {
    if (this.disposed) return;
    if (ReadyMessage.is(msg)) {
      this.readySeen = true;
      // An explicit run (openDashboard(runDir)) wins over the one the restored webview remembers.
      if (!this.runDir && msg.params.run) this.runDir = this.runByName(msg.params.run);
      await this.pushState();
    } else if (SelectRunMessage.is(msg)) {
      const dir = this.runByName(msg.params.run);
      if (!dir) { this.host.log(`dashboard: selectRun "${msg.params.run}" is not a run folder under ${this.opts.runsRoot ?? '(no workspace)'}; ignored`); return; }
      this.runDir = dir;
      await this.pushState();
    } else if (OpenImageMessage.is(msg)) {
      const file = path.resolve(msg.params.path);
      if (!this.runDir || !file.startsWith(this.runDir + path.sep)) { this.host.log(`dashboard: openImage of ${file} refused: not inside the shown run`); return; }
      this.host.openFile(file);
    } else if (RefreshMessage.is(msg)) {
      this.runs = this.safeList();
      await this.pushState();
    } else {
      const method = typeof msg === 'object' && msg !== null ? String((msg as { method?: unknown }).method) : typeof msg;
      this.host.log(`dashboard: ignored a webview message that matches no declaration (method ${method})`);
    }
  }

  /** Shows `runDir` (from openDashboard on an open panel). */
  async show(runDir: string): Promise<void> {
    this.runDir = path.resolve(runDir);
    await this.pushState();
  }

  private runByName(name: string): string | undefined {
    if (!this.opts.runsRoot || name.includes('/') || name.includes('\\') || name === '.' || name === '..') return undefined;
    return this.runs.some((r) => r.name === name) ? path.join(path.resolve(this.opts.runsRoot), name) : undefined;
  }

  private faceViews(faces: FaceFiles[]): FaceView[] {
    return faces.map((f) => ({
      id: f.id,
      ...(f.identity !== undefined ? { identity: f.identity } : {}),
      ...(f.cosine !== undefined ? { cosine: f.cosine } : {}),
      imageUri: this.host.toUri(f.imagePath),
      imagePath: f.imagePath,
      ...(f.originalPath ? { originalUri: this.host.toUri(f.originalPath), originalPath: f.originalPath } : {}),
    }));
  }

  /** Re-reads the shown run and posts the whole state; restarts its watcher and job relay. */
  async pushState(): Promise<void> {
    if (this.disposed) return;
    const gen = ++this.pushGen;
    this.watcher?.dispose();
    this.watcher = undefined;
    if (!this.runDir && this.runs.length > 0) this.runDir = this.runs[0].dir;
    const state: DashboardState = { runsRoot: this.opts.runsRoot, runs: this.runs, selected: null, daemonConnected: this.client() !== undefined };
    if (this.runDir) {
      const root = this.opts.runsRoot ? path.resolve(this.opts.runsRoot) : undefined;
      if (!root || path.dirname(this.runDir) !== root) this.host.allowRoot(this.runDir);
      const snap = readRun(this.runDir);
      const removed = !this.exists(this.runDir);
      await this.findJob();
      // A later pushState (another selectRun, a reset) started while the daemon answered: it wins.
      if (gen !== this.pushGen || this.disposed) return;
      state.selected = {
        name: snap.name, dir: snap.dir, manifest: snap.manifest, metrics: snap.metrics, faces: this.faceViews(snap.faces),
        evaluation: snap.evaluation, ...(snap.evaluationProblem ? { evaluationProblem: snap.evaluationProblem } : {}),
        job: this.job?.view ?? null, problems: snap.problems, removed,
      };
      if (removed) state.message = `Run folder ${snap.dir} no longer exists.`;
      else this.watch(snap);
    } else if (!this.opts.runsRoot) {
      state.message = 'No workspace folder is open: runs are read from <workspace>/runs/.';
    }
    this.host.post(StateMessage.create(state));
  }

  private exists(dir: string): boolean {
    try { return fs.statSync(dir).isDirectory(); } catch { return false; }
  }

  private watch(snap: ReturnType<typeof readRun>): void {
    const run = snap.name;
    this.watcher = new RunWatcher(snap, {
      metrics: (lines, problems) => this.host.post(MetricsMessage.create({ run, lines, ...(problems.length ? { problems } : {}) })),
      manifest: (manifest, problem) => {
        if (problem) this.host.log(`dashboard: ${problem}`);
        this.host.post(ManifestMessage.create({ run, manifest }));
        // A job may have started for this run (or finished): look again.
        void this.findJob().then(() => this.host.post(JobMessage.create({ run, job: this.job?.view ?? null })));
      },
      faces: (faces, problems) => {
        for (const p of problems) this.host.log(`dashboard: ${p}`);
        this.host.post(FacesMessage.create({ run, faces: this.faceViews(faces) }));
      },
      evaluation: (evaluation, problem) => {
        if (problem) this.host.log(`dashboard: ${problem}`);
        this.host.post(EvaluationMessage.create({ run, evaluation, ...(problem ? { problem } : {}) }));
      },
      removed: () => this.host.post(RunRemovedMessage.create({ run, message: `Run folder ${snap.dir} was deleted.` })),
      reset: () => { void this.pushState(); },
    }, this.opts.runPollMs ?? 1000);
  }

  /** Checks the watchers once now (tests; the timers do this on their own). */
  poll(): void {
    this.tick();
    this.listWatcher?.poll();
    this.watcher?.poll();
  }

  // ---------------------------------------------------------------------------------------------------
  // Daemon job relay

  private client(): JobSource | undefined {
    const c = this.opts.client();
    return c && c.isOpen ? c : undefined;
  }

  /** Re-attaches when the extension's daemon client appeared, changed or closed. */
  tick(): void {
    const c = this.client();
    if (c === this.attached?.client) return;
    this.detach();
    this.host.post(DaemonMessage.create({ connected: c !== undefined }));
    if (!c) return;
    const off = [
      c.on(JobProgressNotification, (p) => {
        if (this.job && p.jobId === this.job.info.id) this.setJob(this.job.info, p.progress);
      }),
      c.on(JobStateNotification, (p) => {
        if (this.runDir && p.job.runDir && path.resolve(p.job.runDir) === this.runDir) this.setJob(p.job);
      }),
      c.onClose(() => { this.detach(); this.host.post(DaemonMessage.create({ connected: false })); }),
    ];
    this.attached = { client: c, off };
    void this.findJob().then(() => { if (this.job && this.runDir) this.host.post(JobMessage.create({ run: path.basename(this.runDir), job: this.job.view })); });
  }

  private setJob(info: JobInfo, progress?: JobProgress): void {
    this.job = { info, view: jobView(info, progress) };
    if (this.runDir) this.host.post(JobMessage.create({ run: path.basename(this.runDir), job: this.job.view }));
  }

  private detach(): void {
    for (const f of this.attached?.off ?? []) f();
    this.attached = undefined;
    this.subscribedJob = undefined;
  }

  /** The newest daemon job writing the shown run; subscribes to its notifications. */
  private async findJob(): Promise<void> {
    this.job = undefined;
    const c = this.client();
    if (!c || !this.runDir) return;
    if (this.attached?.client !== c) { this.tick(); return; }
    const runDir = this.runDir;
    try {
      const { jobs } = await c.request(ListJobsRequest, {}, 5000);
      const mine = jobs.filter((j) => j.runDir !== undefined && path.resolve(j.runDir) === runDir);
      const job = mine[mine.length - 1];
      if (!job || this.runDir !== runDir) return;
      if (this.subscribedJob !== job.id) {
        if (this.subscribedJob) await c.request(UnsubscribeRequest, { jobId: this.subscribedJob }, 5000).catch(() => undefined);
        const sub = await c.request(SubscribeRequest, { jobId: job.id }, 5000);
        this.subscribedJob = job.id;
        const hist = sub.history[job.id] ?? [];
        this.job = { info: job, view: jobView(job, hist[hist.length - 1]) };
      } else {
        this.job = { info: job, view: jobView(job) };
      }
    } catch (e) {
      this.host.log(`dashboard: cannot read daemon jobs for ${runDir}: ${(e as Error).message}`);
    }
  }

  dispose(): void {
    this.disposed = true;
    if (this.clientTimer) clearInterval(this.clientTimer);
    this.watcher?.dispose();
    this.listWatcher?.dispose();
    const c = this.attached?.client;
    if (c && this.subscribedJob) void c.request(UnsubscribeRequest, { jobId: this.subscribedJob }, 5000).catch(() => undefined);
    this.detach();
  }
}
