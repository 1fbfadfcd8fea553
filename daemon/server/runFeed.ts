/**
 * The daemon's run-folder feed, the dashboard's source (messages in protocol/daemon.ts): per connection, a
 * subscription to the run history under the runs roots (`<workspace>/runs` and the other runs folders the
 * workspace's run configs name, runs/runsFolders.ts; one list watcher shared by all subscribers, its deltas
 * fanned out) and to single runs (one watcher per connection and run, started from the snapshot that
 * connection was sent, so each gets exactly the metric lines after what it has), and face pictures as bytes.
 *
 * Confinement: a run is named by one path segment (the schema refuses `/`, `..`), must be a folder of a runs
 * root (the first root holding that name wins, in the list and when served alike; a runs folder outside the
 * daemon's allowed roots is not served), and its real path and that of every picture served (after symlinks)
 * must lie inside that runs root's real path (security/paths.ts `confinePath`); index.json paths that leave the reconstructions folder are
 * skipped when read (runs/runReader.ts). Bad files become problems in the answer, never an exception.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  compareRuns, pictureType, RunEvaluationNotification, RunFacesNotification, RunManifestNotification, RunMetricsNotification, RunRemovedNotification,
  RunsChangedNotification, RunStateNotification,
  type RunImagesRequest, type RunState, type RunSummary,
} from '../protocol/daemon';
import { ErrorCode, ProtocolError, type NotificationType, type ParamsOf, type ResultOf } from '../protocol/message';
import { RUN_FILES } from '../protocol/runFolder';
import { listRuns, readFaces, readRun, runState } from '../runs/runReader';
import { RunsListWatcher, RunWatcher } from '../runs/runWatcher';
import { confinePath } from '../security/paths';
import type { TSchema } from '@sinclair/typebox';

/** Sends one notification to one connection. */
export type Notify = <P extends TSchema>(type: NotificationType<string, P>, params: ParamsOf<NotificationType<string, P>>) => void;

export interface RunFeedOptions {
  /** `<workspace>/runs`: whose runs are served first. */
  runsRoot: string;
  /** The other runs folders (those the workspace's run configs name), asked again at each listing. */
  moreRoots?: () => readonly string[];
  /** Runs folders are served only inside these (the daemon's allowed roots); all of them when absent. */
  allowedRoots?: readonly string[];
  /** Poll period of a subscribed run's files, ms (0: no timer, tests call `poll()`). */
  runPollMs?: number;
  /** Poll period of the runs root listing, ms (0: no timer). */
  listPollMs?: number;
}

/** Runs one connection may follow at once (a dashboard follows one). */
export const MAX_RUNS_PER_CONNECTION = 8;
/** Largest picture served. */
export const MAX_IMAGE_BYTES = 8 * 1024 * 1024;
/** Pictures are left out of a `daemon/runImages` answer once it holds this many bytes (the client asks again). */
export const MAX_IMAGES_ANSWER_BYTES = 16 * 1024 * 1024;

type ImagesParams = ParamsOf<typeof RunImagesRequest>;
type ImagesResult = ResultOf<typeof RunImagesRequest>;

interface RunSub { watcher: RunWatcher }

export class RunFeed {
  readonly runsRoot: string;
  private readonly listeners = new Map<object, Notify>();
  private listWatcher: RunsListWatcher | undefined;
  private readonly runs = new Map<object, Map<string, RunSub>>();

  constructor(private readonly opts: RunFeedOptions) {
    this.runsRoot = path.resolve(opts.runsRoot);
  }

  /** The folders whose runs are served: the runs root, then the other runs folders inside the allowed roots. */
  roots(): string[] {
    const allowed = this.opts.allowedRoots;
    const more = (this.opts.moreRoots?.() ?? []).map((r) => path.resolve(r)).filter((r) => {
      if (!allowed) return true;
      try { confinePath(r, allowed, 'runs folder'); return true; } catch { return false; }
    });
    return [...new Set([this.runsRoot, ...more])];
  }

  /** Every served run, newest first; a name held by two roots is the first root's. */
  private allRuns(): RunSummary[] {
    const seen = new Set<string>();
    const runs: RunSummary[] = [];
    for (const root of this.roots()) {
      for (const r of listRuns(root)) if (!seen.has(r.name)) { seen.add(r.name); runs.push(r); }
    }
    return runs.sort(compareRuns);
  }

  /** Whole history now, not followed. */
  listRuns(): { runsRoot: string; runsRoots: string[]; runs: RunSummary[] } {
    try {
      return { runsRoot: this.runsRoot, runsRoots: this.roots(), runs: this.allRuns() };
    } catch (e) {
      throw new ProtocolError(ErrorCode.InternalError, (e as Error).message);
    }
  }

  /** Whole history now; `daemon/runsChanged` to `notify` from then on. */
  subscribeRuns(conn: object, notify: Notify): { runsRoot: string; runsRoots: string[]; runs: RunSummary[] } {
    const list = this.listRuns();
    this.listeners.set(conn, notify);
    if (!this.listWatcher) {
      this.listWatcher = new RunsListWatcher(() => this.allRuns(), list.runs, (delta) => {
        for (const n of this.listeners.values()) n(RunsChangedNotification, delta);
      }, this.opts.listPollMs ?? 2000);
    }
    return list;
  }

  unsubscribeRuns(conn: object): boolean {
    const had = this.listeners.delete(conn);
    if (this.listeners.size === 0) { this.listWatcher?.dispose(); this.listWatcher = undefined; }
    return had;
  }

  /** The folder of run `name`, checked to be a folder of a runs root (the first holding it) whose real path stays inside it. */
  runDir(name: string): string {
    if (name.length === 0 || name.includes('/') || name.includes('\\') || name.includes('\0') || name === '.' || name === '..') {
      throw new ProtocolError(ErrorCode.InvalidParams, `run "${name.slice(0, 100)}" is not a folder name`);
    }
    const roots = this.roots();
    const root = roots.find((r) => { try { return fs.statSync(path.join(r, name)).isDirectory(); } catch { return false; } });
    if (!root) throw new ProtocolError(ErrorCode.NotFound, `no run "${name}" in ${roots.join(', ')}`);
    const dir = path.join(root, name);
    confinePath(dir, [root], `run "${name}"`);
    return dir;
  }

  /** Run `name` whole now; its deltas to `notify` from then on (until unsubscribed or dropped). */
  subscribeRun(conn: object, notify: Notify, name: string): { run: RunState } {
    const dir = this.runDir(name);
    const mine = this.runs.get(conn) ?? new Map<string, RunSub>();
    if (!mine.has(name) && mine.size >= MAX_RUNS_PER_CONNECTION) {
      throw new ProtocolError(ErrorCode.Conflict, `this connection already follows ${MAX_RUNS_PER_CONNECTION} runs; unsubscribe one first`);
    }
    mine.get(name)?.watcher.dispose();
    const snap = readRun(dir);
    mine.set(name, { watcher: this.watch(snap, notify, mine) });
    this.runs.set(conn, mine);
    return { run: runState(snap) };
  }

  private watch(snap: ReturnType<typeof readRun>, notify: Notify, mine: Map<string, RunSub>): RunWatcher {
    const run = snap.name;
    return new RunWatcher(snap, {
      metrics: (lines, problems) => notify(RunMetricsNotification, { run, lines, ...(problems.length ? { problems } : {}) }),
      manifest: (manifest, problem) => notify(RunManifestNotification, { run, manifest, ...(problem ? { problem } : {}) }),
      faces: (faces, problems) => notify(RunFacesNotification, { run, faces, ...(problems.length ? { problems } : {}) }),
      evaluation: (evaluation, problem) => notify(RunEvaluationNotification, { run, evaluation, ...(problem ? { problem } : {}) }),
      removed: () => notify(RunRemovedNotification, { run }),
      reset: () => {
        // Read whole again (metrics.jsonl rewritten, folder back) and follow on from that snapshot.
        const sub = mine.get(run);
        if (!sub) return;
        sub.watcher.dispose();
        let dir: string;
        try {
          dir = this.runDir(run);
        } catch {
          return; // gone again, or now a link out of the root: nothing is served
        }
        const fresh = readRun(dir);
        sub.watcher = this.watch(fresh, notify, mine);
        notify(RunStateNotification, { run: runState(fresh) });
      },
    }, this.opts.runPollMs ?? 1000);
  }

  unsubscribeRun(conn: object, name: string): boolean {
    const mine = this.runs.get(conn);
    const sub = mine?.get(name);
    if (!mine || !sub) return false;
    sub.watcher.dispose();
    mine.delete(name);
    if (mine.size === 0) this.runs.delete(conn);
    return true;
  }

  /** Pictures of run `p.run` by reconstruction id, as base64, each with its version or a problem. */
  images(p: ImagesParams): ImagesResult {
    const dir = this.runDir(p.run);
    const faces = readFaces(dir);
    const byId = new Map((faces.value ?? []).map((f) => [f.id, f]));
    const base = path.join(dir, RUN_FILES.reconstructions);
    const images: ImagesResult['images'] = [];
    let bytes = 0;
    for (const want of p.faces) {
      const face = byId.get(want.id);
      const rel = want.which === 'image' ? face?.image : face?.original;
      if (!face || rel === undefined) {
        images.push({ ...want, problem: !face ? `no reconstruction "${want.id}" in ${path.join(base, 'index.json')}${faces.problem ? ` (${faces.problem})` : ''}` : `reconstruction "${want.id}" has no original` });
        continue;
      }
      const file = path.join(base, rel);
      let data: Buffer;
      try {
        confinePath(file, [path.dirname(dir)], `picture of "${want.id}"`);
        const st = fs.statSync(file);
        if (!st.isFile()) throw new Error(`${file} is not a file`);
        if (st.size > MAX_IMAGE_BYTES) throw new Error(`${file} is ${st.size} bytes (limit ${MAX_IMAGE_BYTES})`);
        data = fs.readFileSync(file);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        images.push({ ...want, problem: code === 'ENOENT' ? `${file} does not exist` : (e as Error).message });
        continue;
      }
      const type = pictureType(data);
      if (!type) { images.push({ ...want, problem: `${file} is neither a PNG nor a JPEG` }); continue; }
      if (images.some((i) => i.data) && bytes + data.length > MAX_IMAGES_ANSWER_BYTES) break; // asked for again
      bytes += data.length;
      images.push({ ...want, version: want.which === 'image' ? face.imageVersion : face.originalVersion ?? '', type, data: data.toString('base64') });
    }
    return { images };
  }

  /** Forgets a connection (closed). */
  drop(conn: object): void {
    this.unsubscribeRuns(conn);
    for (const name of [...(this.runs.get(conn)?.keys() ?? [])]) this.unsubscribeRun(conn, name);
  }

  /** One check of every watcher now (tests; the timers do it otherwise). */
  poll(): void {
    this.listWatcher?.poll();
    for (const mine of this.runs.values()) for (const sub of mine.values()) sub.watcher.poll();
  }

  /** What is being watched (tests: nothing is left after the clients go). */
  get watching(): { list: boolean; runs: number } {
    let runs = 0;
    for (const mine of this.runs.values()) runs += mine.size;
    return { list: this.listWatcher !== undefined, runs };
  }

  dispose(): void {
    for (const conn of [...this.listeners.keys(), ...this.runs.keys()]) this.drop(conn);
  }
}
