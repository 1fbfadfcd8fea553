/**
 * The extension side of the dashboard, without `vscode`: feeds the webview (daemon/protocol/webview.ts) from
 * the daemon's run feed (daemon/protocol/daemon.ts) over the extension's daemon connection, a local daemon or
 * a remote one alike. On connect it subscribes to the run history and the shown run (whole state), keeps a
 * copy current from the daemon's deltas and relays them to the webview as small notifications. Pictures are
 * fetched as bytes a page at a time once the state is posted (a 300-face run does not hold up the first
 * paint) and handed over as `data:` URIs; job progress comes from the connection's job tracker (the job whose
 * runDir is the shown run). When the daemon is lost (unreachable, token refused) the view keeps what it has
 * and says so; once the connection is back it subscribes again and posts the whole state, so nothing is lost.
 * The panel (panel.ts) supplies a `DashboardHost`; tests supply a fake one.
 *
 * Untrusted input: the webview (messages that match no declaration are logged and ignored, runs are chosen
 * by name from the daemon's list, pictures opened only of the shown run's faces) and a remote daemon (its
 * answers and notifications are checked against their schemas, pictures must be PNG or JPEG).
 */
import * as path from 'node:path';
import type { DaemonClient } from '../../daemon/protocol/client';
import {
  compareRuns, pictureType, runPictureFile, RunEvaluationNotification, RunFacesNotification, RunImagesRequest, RunManifestNotification, RunMetricsNotification,
  RunRemovedNotification, RunsChangedNotification, RunStateNotification, SubscribeRunRequest, SubscribeRunsRequest,
  UnsubscribeRunRequest, UnsubscribeRunsRequest, MAX_IMAGES_PER_REQUEST,
  type JobInfo, type RunFace, type RunState, type RunSummary,
} from '../../daemon/protocol/daemon';
import type { NotificationType, ParamsOf } from '../../daemon/protocol/message';
import { applyRunDelta, type RunDelta } from '../../daemon/protocol/runDelta';
import {
  DaemonMessage, EvaluationMessage, FaceImagesMessage, FacesMessage, JobMessage, ManifestMessage, MetricsMessage, OpenImageMessage,
  ReadyMessage, ReconnectMessage, RefreshMessage, RunRemovedMessage, RunsMessage, SelectRunMessage, StateMessage,
  type DaemonLink, type DashboardState, type FaceView, type RunJob, type ToWebviewMessage,
} from '../../daemon/protocol/webview';
import type { TSchema } from '@sinclair/typebox';
import { classifyConnectError, type ConnectionStateName } from '../format';
import type { JobEvent } from '../jobTracker';

/** The daemon client methods the dashboard uses. */
export type FeedClient = Pick<DaemonClient, 'request' | 'on' | 'isOpen'>;

/** What the dashboard needs of the extension's daemon connection (`DaemonConnection` is one). */
export interface DashboardLink {
  /** The connected client, undefined unless connected. */
  readonly client: FeedClient | undefined;
  readonly state: ConnectionStateName;
  readonly endpoint: { url: string; remote: boolean } | undefined;
  readonly lastError: unknown;
  readonly jobs: { all(): JobInfo[]; onEvent(fn: (e: JobEvent) => void): () => void };
  onState(fn: (s: ConnectionStateName) => void): () => void;
  /** A reconnect attempt failed (so the dashboard can say why while it keeps trying). */
  onRetryFailed?(fn: (err: unknown) => void): () => void;
}

/** A picture to open in an editor tab. */
export interface PictureToOpen {
  run: string;
  face: string;
  which: 'image' | 'original';
  type: 'image/png' | 'image/jpeg';
  bytes: Buffer;
  /** The file itself, when the daemon runs on this machine (the extension started it). */
  localPath?: string;
}

export interface DashboardHost {
  /** Posts to the webview (dropped while it is hidden; it asks again with `dashboard/ready`). */
  post(msg: ToWebviewMessage): void;
  openImage(picture: PictureToOpen): void;
  /** The banner's button: Connect to Daemon… for a remote daemon, else Start Daemon. */
  reconnect(remote: boolean): void;
  log(msg: string): void;
}

export interface DashboardOptions {
  link: DashboardLink;
  /** Pictures per `daemon/runImages` request (image and original count one each). */
  imagePage?: number;
  /** Most bytes of `data:` URIs kept for runs shown (older ones are fetched again when needed). */
  imageCacheBytes?: number;
}

const REQUEST_MS = 30_000;

function jobView(job: JobInfo): RunJob {
  const p = job.progress;
  return {
    jobId: job.id, state: job.state,
    ...(p ? {
      step: p.step, total: p.total, metrics: p.metrics, ...(p.message ? { message: p.message } : {}),
      ...(p.budget ? { budget: p.budget } : {}), ...(p.etaSeconds !== undefined ? { etaSeconds: p.etaSeconds } : {}),
      ...(p.stopReason ? { stopReason: p.stopReason } : {}), ...(p.phase ? { phase: p.phase } : {}),
    } : {}),
    ...(job.error ? { error: job.error } : {}),
  };
}

const sameDir = (a: string | undefined, b: string): boolean => a !== undefined && a.replace(/[\\/]+$/, '') === b.replace(/[\\/]+$/, '');

/** What the dashboard says about its daemon: live, or why not and what happens next. */
export function daemonLink(link: Pick<DashboardLink, 'state' | 'endpoint' | 'lastError'>): DaemonLink {
  const url = link.endpoint?.url;
  const where = { ...(url ? { url } : {}), ...(link.endpoint ? { remote: link.endpoint.remote } : {}) };
  const refused = classifyConnectError(link.lastError) === 'unauthorized';
  const detail = link.lastError instanceof Error ? link.lastError.message : link.lastError ? String(link.lastError) : '';
  const upToDate = 'The view keeps what it has and is brought up to date when the connection is back.';
  switch (link.state) {
    case 'connected': return { connected: true, ...where };
    case 'starting': return { connected: false, ...where, status: 'starting', problem: `Starting the local daemon… ${upToDate}` };
    case 'connecting': return { connected: false, ...where, status: 'connecting', problem: `Connecting to the daemon at ${url ?? '?'}… ${upToDate}` };
    case 'reconnecting':
      return { connected: false, ...where, status: 'reconnecting', problem: refused
        ? `The daemon at ${url} refused the token; retrying. ${upToDate}`
        : `Lost the daemon at ${url}; reconnecting… ${upToDate}` };
    case 'failed':
      return { connected: false, ...where, status: 'failed', problem: refused
        ? `The daemon at ${url} refused the token (restarted with a new one, or a wrong one): connect again with its current token (daemon.json on that machine). ${upToDate}`
        : `Cannot reach the daemon at ${url ?? '?'}${detail ? ` (${detail})` : ''}. ${upToDate}` };
    case 'stopped':
      return { connected: false, ...where, status: 'stopped', problem: 'No daemon is connected: start one (Start Daemon), or connect to one on another machine (Connect to Daemon…), to see its runs.' };
  }
}

/** `data:` URI of a picture, or undefined when its bytes are neither PNG nor JPEG (whatever the daemon said). */
export function pictureUri(bytes: Buffer): { uri: string; type: 'image/png' | 'image/jpeg' } | undefined {
  const type = pictureType(bytes);
  return type ? { uri: `data:${type};base64,${bytes.toString('base64')}`, type } : undefined;
}

/** The run shown: the daemon's state of it, kept current by its deltas (protocol/runDelta.ts), and whether its folder is gone. */
type Shown = RunState & { removed: boolean };
interface Wanted { id: string; which: 'image' | 'original'; version: string }

export class DashboardController {
  private attached: { client: FeedClient; off: (() => void)[] } | undefined;
  /** The daemon the runs below came from (another one's runs are not shown meanwhile). */
  private source: string | undefined;
  private runsRoot: string | null = null;
  /** Every folder whose runs the daemon lists (its runs root first, then those its run configs name). */
  private runsRoots: string[] = [];
  private runs: RunSummary[] = [];
  /** The run the user asked for (by name), shown once the daemon has it. */
  private wanted: string | undefined;
  private shown: Shown | undefined;
  private message: string | undefined;
  private disposed = false;
  /** The webview has asked for the state at least once (before that, pushes would be lost). */
  private readySeen = false;
  /** Bumped by every (re)subscription and selection: answers to an older one are dropped. */
  private gen = 0;
  /** Bumped when the shown faces change: an older picture loop stops. */
  private imageGen = 0;
  /** `data:` URIs by run, face, picture and version (insertion order = age). */
  private readonly pictures = new Map<string, string>();
  private pictureBytes = 0;
  private readonly offLink: (() => void)[];
  /** Jobs whose run folder the view already switched to (once each: the user may go back to another run). */
  private readonly followed = new Set<string>();

  constructor(private readonly host: DashboardHost, private readonly opts: DashboardOptions, initialRun?: string) {
    if (initialRun) this.wanted = this.runName(initialRun);
    this.offLink = [
      opts.link.onState(() => this.onLinkState()),
      opts.link.jobs.onEvent((e) => this.onJob(e.job)),
      opts.link.onRetryFailed?.(() => this.post(DaemonMessage.create(daemonLink(this.opts.link)))) ?? (() => undefined),
    ];
    this.onLinkState();
  }

  /** The run shown (its name), if any. */
  get shownRun(): string | undefined { return this.shown?.name; }

  /** A message from the webview. Unknown or malformed ones are logged and ignored. */
  async handle(msg: unknown): Promise<void> {
    if (this.disposed) return;
    if (ReadyMessage.is(msg)) {
      this.readySeen = true;
      // An explicit run (openDashboard(run)) wins over the one the restored webview remembers.
      this.wanted ??= msg.params.run;
      if (this.attached && this.wanted && this.wanted !== this.shown?.name && this.runs.some((r) => r.name === this.wanted)) await this.select(this.wanted);
      else { this.postState(); void this.loadPictures(); }
    } else if (SelectRunMessage.is(msg)) {
      if (!this.runs.some((r) => r.name === msg.params.run)) {
        this.host.log(`dashboard: selectRun "${msg.params.run}" is not a run of the daemon (runs in ${this.runsRoot ?? 'no daemon yet'}); ignored`);
        return;
      }
      this.wanted = msg.params.run;
      await this.select(msg.params.run);
    } else if (OpenImageMessage.is(msg)) {
      await this.openImage(msg.params.run, msg.params.face, msg.params.which);
    } else if (RefreshMessage.is(msg)) {
      await this.resubscribe();
    } else if (ReconnectMessage.is(msg)) {
      this.host.reconnect(this.opts.link.endpoint?.remote ?? false);
    } else {
      const method = typeof msg === 'object' && msg !== null ? String((msg as { method?: unknown }).method) : typeof msg;
      this.host.log(`dashboard: ignored a webview message that matches no declaration (method ${method})`);
    }
  }

  /** Shows a run, by name or by its folder on the daemon's machine (openDashboard on an open panel). */
  async show(run: string): Promise<void> {
    const name = this.runName(run);
    if (!name) return;
    this.wanted = name;
    if (!this.attached) { this.postState(); return; }
    if (!this.runs.some((r) => r.name === name)) {
      this.message = `${run} is not a run of the daemon${this.runsRoot ? ` (its runs are the folders of ${this.runsRoot})` : ''}.`;
      this.postState();
      return;
    }
    await this.select(name);
  }

  /** A run's name from a name or a folder of the daemon's runs root; undefined (logged) for another folder. */
  private runName(run: string): string | undefined {
    if (!/[\\/]/.test(run)) return run;
    const dir = path.resolve(run);
    if (this.runsRoot === null || this.isRunsRoot(path.dirname(dir))) return path.basename(dir);
    this.host.log(`dashboard: ${run} is not a folder of the daemon's runs root ${this.runsRoot}; only those are shown`);
    this.message = `${run} is outside the daemon's runs (${this.runsRoot}): only folders there are shown.`;
    return undefined;
  }

  // ---------------------------------------------------------------------------------------------------
  // The daemon connection

  private onLinkState(): void {
    if (this.disposed) return;
    const c = this.opts.link.client;
    const live = c && c.isOpen ? c : undefined;
    if (live && live === this.attached?.client) return;
    this.detach();
    this.post(DaemonMessage.create(daemonLink(this.opts.link)));
    if (live) this.attach(live);
  }

  private attach(c: FeedClient): void {
    const url = this.opts.link.endpoint?.url;
    if (url !== this.source) {
      // Another daemon (or the local one restarted on another port): what the last one sent is not its
      // state; the run shown is asked for again by name.
      this.wanted ??= this.shown?.name;
      this.source = url;
      this.runsRoot = null;
      this.runsRoots = [];
      this.runs = [];
      this.shown = undefined;
      this.message = undefined;
    }
    const on = <P extends TSchema>(type: NotificationType<string, P>, fn: (p: ParamsOf<NotificationType<string, P>>) => void) => c.on(type, (p) => {
      if (this.disposed || this.attached?.client !== c) return;
      if (!type.isParams(p)) { this.host.log(`dashboard: dropped a ${type.method} from the daemon that does not match its schema`); return; }
      fn(p);
    });
    this.attached = {
      client: c,
      off: [
        on(RunsChangedNotification, (p) => this.onRunsChanged(p.changed, p.removed)),
        on(RunMetricsNotification, (p) => {
          if (!this.reduce(p.run, { kind: 'metrics', lines: p.lines, ...(p.problems ? { problems: p.problems } : {}) })) return;
          this.post(MetricsMessage.create({ run: p.run, lines: p.lines, ...(p.problems ? { problems: p.problems } : {}) }));
        }),
        on(RunManifestNotification, (p) => {
          if (!this.reduce(p.run, { kind: 'manifest', manifest: p.manifest })) return;
          if (p.problem) this.host.log(`dashboard: ${p.problem}`);
          this.post(ManifestMessage.create({ run: p.run, manifest: p.manifest }));
        }),
        on(RunFacesNotification, (p) => {
          const s = this.reduce(p.run, { kind: 'faces', faces: p.faces });
          if (!s) return;
          for (const x of p.problems ?? []) this.host.log(`dashboard: ${x}`);
          this.post(FacesMessage.create({ run: p.run, faces: this.faceViews(s) }));
          void this.loadPictures();
        }),
        on(RunEvaluationNotification, (p) => {
          if (!this.reduce(p.run, { kind: 'evaluation', evaluation: p.evaluation, ...(p.problem ? { problem: p.problem } : {}) })) return;
          if (p.problem) this.host.log(`dashboard: ${p.problem}`);
          this.post(EvaluationMessage.create({ run: p.run, evaluation: p.evaluation, ...(p.problem ? { problem: p.problem } : {}) }));
        }),
        on(RunRemovedNotification, (p) => {
          const s = this.reduce(p.run, { kind: 'removed' });
          if (!s) return;
          this.message = `Run folder ${s.dir} was deleted.`;
          this.post(RunRemovedMessage.create({ run: p.run, message: this.message }));
        }),
        on(RunStateNotification, (p) => {
          if (!this.shownAs(p.run.name)) return;
          this.shown = { ...p.run, removed: false };
          this.message = undefined;
          this.postState();
          void this.loadPictures();
        }),
      ],
    };
    void this.resubscribe();
  }

  /** Whether `dir` is a folder whose runs the daemon lists. */
  private isRunsRoot(dir: string): boolean {
    return this.runsRoots.some((r) => sameDir(dir, r));
  }

  private detach(): void {
    for (const f of this.attached?.off ?? []) f();
    this.attached = undefined;
    this.gen++;
    this.imageGen++;
  }

  private shownAs(run: string): Shown | undefined {
    return this.shown?.name === run ? this.shown : undefined;
  }

  /** Applies a delta of run `run` when it is the one shown (the webview applies the same one): the run after it, else undefined. */
  private reduce(run: string, delta: RunDelta<RunFace>): Shown | undefined {
    const s = this.shownAs(run);
    if (!s) return undefined;
    this.shown = applyRunDelta(s, delta);
    return this.shown;
  }

  /** Subscribes to the history and the shown run again and posts the whole state (connect, reconnect, Refresh). */
  private async resubscribe(): Promise<void> {
    const c = this.attached?.client;
    if (!c) { this.postState(); return; }
    const gen = ++this.gen;
    try {
      const list = await c.request(SubscribeRunsRequest, {}, REQUEST_MS);
      if (gen !== this.gen) return;
      if (!SubscribeRunsRequest.isResult(list)) throw new Error('the daemon answered daemon/subscribeRuns with something that does not match its schema');
      this.runsRoot = list.runsRoot;
      this.runsRoots = list.runsRoots ?? [list.runsRoot];
      this.runs = list.runs;
      if (this.message && !this.shown?.removed) this.message = undefined;
      const name = [this.wanted, this.shown?.name].find((n) => n !== undefined && this.runs.some((r) => r.name === n)) ?? this.runs[0]?.name;
      if (!name) {
        this.shown = undefined;
        this.postState();
        return;
      }
      await this.subscribeRun(c, name, gen);
    } catch (e) {
      if (gen === this.gen) this.host.log(`dashboard: cannot read the daemon's runs: ${(e as Error).message}`);
    }
  }

  /** Shows another run: the daemon's whole state of it, then its deltas. */
  private async select(name: string): Promise<void> {
    const c = this.attached?.client;
    if (!c) { this.postState(); return; }
    const gen = ++this.gen;
    await this.subscribeRun(c, name, gen).catch((e: Error) => { if (gen === this.gen) this.host.log(`dashboard: cannot show run "${name}": ${e.message}`); });
  }

  private async subscribeRun(c: FeedClient, name: string, gen: number): Promise<void> {
    const previous = this.shown?.name;
    if (previous !== undefined && previous !== name) void c.request(UnsubscribeRunRequest, { run: previous }, REQUEST_MS).catch(() => undefined);
    const r = await c.request(SubscribeRunRequest, { run: name }, REQUEST_MS);
    if (gen !== this.gen) return;
    if (!SubscribeRunRequest.isResult(r)) throw new Error('the daemon answered daemon/subscribeRun with something that does not match its schema');
    this.shown = { ...r.run, removed: false };
    this.message = undefined;
    this.postState();
    void this.loadPictures();
  }

  private onRunsChanged(changed: RunSummary[], removed: string[]): void {
    const gone = new Set([...removed, ...changed.map((r) => r.name)]);
    this.runs = [...this.runs.filter((r) => !gone.has(r.name)), ...changed].sort(compareRuns);
    // The first run appearing in an empty history is shown right away (a training just started).
    if (!this.shown && this.runs.length > 0 && this.readySeen) void this.select(this.wanted && this.runs.some((r) => r.name === this.wanted) ? this.wanted : this.runs[0].name);
    else this.post(RunsMessage.create({ runs: this.runs }));
  }

  private onJob(job: JobInfo): void {
    // A job that has just announced its run folder: show that run at once, in its setup, rather than the run
    // shown before (the history lists it at its next poll; the run's own feed starts now).
    if (job.runDir && job.state === 'running' && !this.followed.has(job.id) && this.isRunsRoot(path.dirname(job.runDir))) {
      this.followed.add(job.id);
      const name = path.basename(job.runDir);
      if (this.shown?.name !== name && this.attached) {
        this.wanted = name;
        void this.select(name);
        return;
      }
    }
    const s = this.shown;
    if (s && sameDir(job.runDir, s.dir) && this.jobFor(s.dir)?.id === job.id) this.post(JobMessage.create({ run: s.name, job: jobView(job) }));
  }

  /** The newest daemon job writing `dir`, from the connection's job tracker (every job, full state then deltas). */
  private jobFor(dir: string): JobInfo | undefined {
    return this.opts.link.jobs.all().filter((j) => sameDir(j.runDir, dir)).sort((a, b) => a.createdAt.localeCompare(b.createdAt)).at(-1);
  }

  // ---------------------------------------------------------------------------------------------------
  // Posting

  private post(msg: ToWebviewMessage): void {
    if (!this.disposed) this.host.post(msg);
  }

  private wholeState(): DashboardState {
    const s = this.shown;
    const job = s ? this.jobFor(s.dir) : undefined;
    return {
      runsRoot: this.runsRoot,
      runs: this.runs,
      selected: s ? {
        name: s.name, dir: s.dir, manifest: s.manifest, metrics: s.metrics, faces: this.faceViews(s),
        evaluation: s.evaluation, ...(s.evaluationProblem ? { evaluationProblem: s.evaluationProblem } : {}),
        job: job ? jobView(job) : null, problems: s.problems, removed: s.removed,
      } : null,
      daemon: daemonLink(this.opts.link),
      ...(this.message ? { message: this.message } : {}),
    };
  }

  private postState(): void {
    if (this.readySeen) this.post(StateMessage.create(this.wholeState()));
  }

  /** The state the webview was last sent, rebuilt (the extension API hands it to the host tests). */
  snapshot(): DashboardState {
    return this.wholeState();
  }

  // ---------------------------------------------------------------------------------------------------
  // Pictures

  private key(run: string, w: Wanted): string {
    return `${this.source ?? ''}\0${run}\0${w.id}\0${w.which}\0${w.version}`;
  }

  private wantedPictures(state: RunState): Wanted[] {
    return state.faces.flatMap((f: RunFace): Wanted[] => [
      { id: f.id, which: 'image', version: f.imageVersion },
      ...(f.original !== undefined ? [{ id: f.id, which: 'original' as const, version: f.originalVersion ?? '' }] : []),
    ]);
  }

  private faceViews(state: RunState): FaceView[] {
    return state.faces.map((f) => {
      const image = this.pictures.get(this.key(state.name, { id: f.id, which: 'image', version: f.imageVersion }));
      const original = f.original !== undefined ? this.pictures.get(this.key(state.name, { id: f.id, which: 'original', version: f.originalVersion ?? '' })) : undefined;
      return {
        id: f.id,
        ...(f.identity !== undefined ? { identity: f.identity } : {}),
        ...(f.cosine !== undefined ? { cosine: f.cosine } : {}),
        hasOriginal: f.original !== undefined,
        ...(image ? { imageUri: image } : {}),
        ...(original ? { originalUri: original } : {}),
      };
    });
  }

  private remember(key: string, uri: string): void {
    const max = this.opts.imageCacheBytes ?? 64 * 1024 * 1024;
    this.pictures.delete(key);
    this.pictures.set(key, uri);
    this.pictureBytes += uri.length;
    for (const [k, v] of this.pictures) {
      if (this.pictureBytes <= max || k === key) break;
      this.pictures.delete(k);
      this.pictureBytes -= v.length;
    }
  }

  /** Fetches the shown run's pictures that are not cached, a page at a time, posting each page as it arrives. */
  private async loadPictures(): Promise<void> {
    const s = this.shown;
    const c = this.attached?.client;
    if (!s || !c || !this.readySeen) return;
    const gen = ++this.imageGen;
    const run = s.name;
    const queue = this.wantedPictures(s).filter((w) => !this.pictures.has(this.key(run, w)));
    const page = Math.max(1, Math.min(this.opts.imagePage ?? MAX_IMAGES_PER_REQUEST, MAX_IMAGES_PER_REQUEST));
    while (queue.length > 0) {
      const ask = queue.splice(0, page);
      let answer;
      try {
        answer = await c.request(RunImagesRequest, { run, faces: ask.map(({ id, which }) => ({ id, which })) }, REQUEST_MS);
      } catch (e) {
        if (gen === this.imageGen) this.host.log(`dashboard: cannot fetch pictures of run "${run}": ${(e as Error).message}`);
        return;
      }
      if (gen !== this.imageGen || this.shown?.name !== run) return;
      if (!RunImagesRequest.isResult(answer)) { this.host.log('dashboard: the daemon answered daemon/runImages with something that does not match its schema'); return; }
      const got = new Map<string, { id: string; imageUri?: string; originalUri?: string }>();
      const answered = new Set<string>();
      for (const item of answer.images) {
        const w = ask.find((x) => x.id === item.id && x.which === item.which);
        if (!w) continue;
        answered.add(`${w.id}\0${w.which}`);
        if (item.problem || item.data === undefined) { this.host.log(`dashboard: picture ${item.which} of "${item.id}" in run "${run}": ${item.problem ?? 'no data'}`); continue; }
        const pic = pictureUri(Buffer.from(item.data, 'base64'));
        if (!pic) { this.host.log(`dashboard: picture ${item.which} of "${item.id}" in run "${run}" is neither a PNG nor a JPEG; not shown`); continue; }
        this.remember(this.key(run, w), pic.uri);
        const entry = got.get(w.id) ?? { id: w.id };
        entry[w.which === 'image' ? 'imageUri' : 'originalUri'] = pic.uri;
        got.set(w.id, entry);
      }
      // Left out of the answer (its size limit): asked for again, unless nothing at all came back.
      const left = ask.filter((w) => !answered.has(`${w.id}\0${w.which}`));
      if (left.length === ask.length) { this.host.log(`dashboard: the daemon answered none of ${ask.length} pictures of run "${run}"`); return; }
      queue.unshift(...left);
      if (got.size > 0) this.post(FaceImagesMessage.create({ run, images: [...got.values()] }));
    }
  }

  private async openImage(run: string, face: string, which: 'image' | 'original'): Promise<void> {
    const s = this.shownAs(run);
    const f = s?.faces.find((x) => x.id === face);
    const rel = which === 'image' ? f?.image : f?.original;
    const c = this.attached?.client;
    if (!s || !f || rel === undefined) { this.host.log(`dashboard: openImage of ${which} "${face}" in run "${run}" refused: not a picture of the shown run`); return; }
    const w: Wanted = { id: face, which, version: which === 'image' ? f.imageVersion : f.originalVersion ?? '' };
    let uri = this.pictures.get(this.key(run, w));
    if (!uri && c) {
      try {
        const r = await c.request(RunImagesRequest, { run, faces: [{ id: face, which }] }, REQUEST_MS);
        const item = RunImagesRequest.isResult(r) ? r.images[0] : undefined;
        if (item?.data) uri = pictureUri(Buffer.from(item.data, 'base64'))?.uri;
        else if (item?.problem) this.host.log(`dashboard: ${item.problem}`);
      } catch (e) {
        this.host.log(`dashboard: cannot fetch ${which} "${face}": ${(e as Error).message}`);
      }
    }
    if (!uri) { this.host.log(`dashboard: ${which} "${face}" of run "${run}" cannot be opened${c ? '' : ' (no daemon connected)'}`); return; }
    const comma = uri.indexOf(',');
    const type = uri.startsWith('data:image/png') ? 'image/png' : 'image/jpeg';
    const local = this.opts.link.endpoint && !this.opts.link.endpoint.remote ? path.normalize(runPictureFile(s.dir, rel)) : undefined;
    this.host.openImage({ run, face, which, type, bytes: Buffer.from(uri.slice(comma + 1), 'base64'), ...(local ? { localPath: local } : {}) });
  }

  dispose(): void {
    const c = this.attached?.client;
    if (c) {
      if (this.shown) void c.request(UnsubscribeRunRequest, { run: this.shown.name }, REQUEST_MS).catch(() => undefined);
      void c.request(UnsubscribeRunsRequest, {}, REQUEST_MS).catch(() => undefined);
    }
    this.detach();
    this.disposed = true;
    for (const f of this.offLink) f();
  }
}
