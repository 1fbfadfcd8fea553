/**
 * The extension side of the dashboard without vscode (extension/dashboard/controller.ts): whole state on
 * `dashboard/ready`, then deltas from the watchers; untrusted webview input refused and logged; daemon job
 * progress relayed for the job whose runDir is the shown run (fake DaemonClient).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DashboardController, type DashboardHost, type JobSource } from '../../../extension/dashboard/controller';
import { JobProgressNotification, JobStateNotification, ListJobsRequest, SubscribeRequest, type JobInfo } from '../../../daemon/protocol/daemon';
import { StateMessage, TO_WEBVIEW, type ToWebviewMessage } from '../../../daemon/protocol/webview';
import { appendMetrics, makeRun, metricsLines, tempDir } from './fixture';

class FakeHost implements DashboardHost {
  posts: ToWebviewMessage[] = [];
  logs: string[] = [];
  opened: string[] = [];
  roots: string[] = [];
  post(msg: ToWebviewMessage): void {
    // Everything posted must pass the webview's own guards.
    assert.ok(TO_WEBVIEW.some((t) => t.is(msg)), `posted message fails its guard: ${JSON.stringify(msg).slice(0, 300)}`);
    this.posts.push(msg);
  }
  toUri(p: string): string { return `https://webview.test${p}`; }
  openFile(p: string): void { this.opened.push(p); }
  allowRoot(d: string): void { this.roots.push(d); }
  log(m: string): void { this.logs.push(m); }
  methods(): string[] { return this.posts.map((p) => p.method); }
  lastState() {
    const s = [...this.posts].reverse().find((p) => StateMessage.is(p));
    assert.ok(s && s.method === 'dashboard/state', 'no dashboard/state posted');
    return s.params;
  }
}

/** A DaemonClient stand-in: answers listJobs/subscribe, lets the test fire notifications. */
class FakeClient {
  isOpen = true;
  readonly handlers = new Map<string, ((p: unknown) => void)[]>();
  readonly requests: string[] = [];
  constructor(public jobs: JobInfo[]) {}
  async request(type: { method: string }, params: unknown): Promise<unknown> {
    this.requests.push(`${type.method} ${JSON.stringify(params)}`);
    if (type.method === ListJobsRequest.method) return { jobs: this.jobs };
    if (type.method === SubscribeRequest.method) {
      const id = (params as { jobId: string }).jobId;
      return { jobs: this.jobs.filter((j) => j.id === id), history: { [id]: [{ step: 7, total: 200, metrics: { loss: 0.5 } }] } };
    }
    return { ok: true };
  }
  on(type: { method: string }, fn: (p: unknown) => void): () => void {
    const list = this.handlers.get(type.method) ?? [];
    list.push(fn);
    this.handlers.set(type.method, list);
    return () => list.splice(list.indexOf(fn), 1);
  }
  onClose(): () => void { return () => undefined; }
  fire(method: string, params: unknown): void { for (const f of this.handlers.get(method) ?? []) f(params); }
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('dashboard controller', function () {
  this.timeout(60_000);
  let ws: string;
  let runsRoot: string;
  beforeEach(() => { ws = tempDir('ws'); runsRoot = path.join(ws, 'runs'); fs.mkdirSync(runsRoot); });
  afterEach(() => fs.rmSync(ws, { recursive: true, force: true }));

  it('pushes the whole state of the newest run on ready, then deltas; reports the folder deletion', async () => {
    await makeRun(runsRoot, 'old', { faces: 0, manifest: { createdAt: '2026-11-01T00:00:00.000Z' } });
    const dir = await makeRun(runsRoot, 'new', { faces: 2, steps: 20, manifest: { state: 'running' } });
    const host = new FakeHost();
    const c = new DashboardController(host, { runsRoot, client: () => undefined, runPollMs: 0, listPollMs: 0 });
    await c.handle({ method: 'dashboard/ready', params: {} });
    const s = host.lastState();
    assert.deepEqual(s.runs.map((r) => r.name), ['new', 'old']);
    assert.equal(s.selected?.name, 'new');
    assert.equal(s.selected?.metrics.length, 22);
    assert.equal(s.selected?.faces[0].imageUri, `https://webview.test${path.join(dir, 'reconstructions', s.selected?.faces[0].id + '.png')}`);
    assert.equal(s.daemonConnected, false);
    assert.deepEqual(host.roots, [], 'a run under the runs root needs no extra resource root');

    host.posts = [];
    appendMetrics(dir, metricsLines(4, 20));
    c.poll();
    assert.deepEqual(host.methods(), ['dashboard/metrics']);
    const m = host.posts[0];
    assert.ok(m.method === 'dashboard/metrics' && m.params.lines.length === 4 && m.params.run === 'new');

    host.posts = [];
    fs.rmSync(dir, { recursive: true });
    c.poll();
    assert.deepEqual(host.methods().sort(), ['dashboard/runRemoved', 'dashboard/runs']);
    c.dispose();
  });

  it('selects runs by name only, refuses paths and unknown names, ignores unknown messages (logged)', async () => {
    await makeRun(runsRoot, 'a', { faces: 0 });
    await makeRun(runsRoot, 'b', { faces: 0, manifest: { createdAt: '2026-11-28T00:00:00.000Z' } });
    const host = new FakeHost();
    const c = new DashboardController(host, { runsRoot, client: () => undefined, runPollMs: 0, listPollMs: 0 });
    await c.handle({ method: 'dashboard/ready', params: { run: 'a' } });
    assert.equal(host.lastState().selected?.name, 'a', 'the run the restored webview remembers');
    await c.handle({ method: 'dashboard/selectRun', params: { run: 'b' } });
    assert.equal(host.lastState().selected?.name, 'b');
    const n = host.posts.length;
    await c.handle({ method: 'dashboard/selectRun', params: { run: '../../etc' } });
    await c.handle({ method: 'dashboard/selectRun', params: { run: 'zzz' } });
    await c.handle({ method: 'dashboard/explode', params: {} });
    await c.handle({ method: 'dashboard/selectRun', params: { run: 42 } });
    await c.handle('hello');
    assert.equal(host.posts.length, n, 'nothing posted for refused or unknown messages');
    assert.equal(host.logs.length, 5, host.logs.join('\n'));
    assert.match(host.logs[2], /matches no declaration \(method dashboard\/explode\)/);
    c.dispose();
  });

  it('opens images only inside the shown run', async () => {
    const dir = await makeRun(runsRoot, 'a', { faces: 1 });
    const host = new FakeHost();
    const c = new DashboardController(host, { runsRoot, client: () => undefined, runPollMs: 0, listPollMs: 0 });
    await c.handle({ method: 'dashboard/ready', params: {} });
    const img = host.lastState().selected?.faces[0].imagePath ?? '';
    await c.handle({ method: 'dashboard/openImage', params: { path: img } });
    await c.handle({ method: 'dashboard/openImage', params: { path: path.join(dir, '..', '..', 'secret.txt') } });
    assert.deepEqual(host.opened, [img]);
    assert.match(host.logs[0], /refused/);
    c.dispose();
  });

  it('shows a run folder outside the runs root and allows its folder as a resource root', async () => {
    const elsewhere = await makeRun(path.join(ws, 'elsewhere'), 'x', { faces: 1 });
    const host = new FakeHost();
    const c = new DashboardController(host, { runsRoot, client: () => undefined, runPollMs: 0, listPollMs: 0 }, elsewhere);
    await c.handle({ method: 'dashboard/ready', params: { run: 'ignored' } });
    assert.equal(host.lastState().selected?.dir, elsewhere);
    assert.deepEqual(host.roots, [elsewhere]);
    c.dispose();
  });

  it('relays progress of the daemon job writing the shown run, and only that job', async () => {
    const dir = await makeRun(runsRoot, 'live', { faces: 0, manifest: { state: 'running' } });
    const job = (id: string, runDir: string): JobInfo => ({ id, kind: 'train', label: id, state: 'running', createdAt: 't', runDir });
    const client = new FakeClient([job('j-other', path.join(runsRoot, 'other')), job('j1', dir)]);
    const host = new FakeHost();
    const c = new DashboardController(host, { runsRoot, client: () => client as unknown as JobSource, runPollMs: 0, listPollMs: 0 });
    await c.handle({ method: 'dashboard/ready', params: {} });
    await settle();
    const s = host.lastState();
    assert.equal(s.daemonConnected, true);
    assert.ok(client.requests.includes('daemon/subscribe {"jobId":"j1"}'), client.requests.join('\n'));
    const jobMsgs = () => host.posts.filter((p) => p.method === 'dashboard/job');
    const lastJob = () => { const j = jobMsgs().pop(); return j && j.method === 'dashboard/job' ? j.params.job : undefined; };
    const seen = s.selected?.job ?? lastJob();
    assert.equal(seen?.jobId, 'j1');
    assert.equal(seen?.step, 7, 'history from the subscribe answer');
    const before = jobMsgs().length;
    client.fire(JobProgressNotification.method, { jobId: 'j-other', progress: { step: 1, total: 2, metrics: {} } });
    assert.equal(jobMsgs().length, before, 'another job\'s progress is not relayed');
    client.fire(JobProgressNotification.method, { jobId: 'j1', progress: { step: 8, total: 200, metrics: { loss: 0.4 } } });
    assert.equal(lastJob()?.step, 8);
    client.fire(JobStateNotification.method, { job: { ...job('j1', dir), state: 'succeeded' } });
    assert.equal(lastJob()?.state, 'succeeded');
    client.isOpen = false;
    c.tick();
    const last = host.posts[host.posts.length - 1];
    assert.ok(last.method === 'dashboard/daemon' && last.params.connected === false);
    c.dispose();
  });

  it('when selections overlap, only the newest posts its state and watches its folder', async () => {
    const a = await makeRun(runsRoot, 'a', { faces: 0, evaluation: false });
    const b = await makeRun(runsRoot, 'b', { faces: 0, evaluation: false, manifest: { createdAt: '2026-11-28T00:00:00.000Z' } });
    const client = new FakeClient([]);
    const host = new FakeHost();
    const c = new DashboardController(host, { runsRoot, client: () => client as unknown as JobSource, runPollMs: 0, listPollMs: 0 });
    c.tick();
    await settle();
    await Promise.all([
      c.handle({ method: 'dashboard/selectRun', params: { run: 'a' } }),
      c.handle({ method: 'dashboard/selectRun', params: { run: 'b' } }),
    ]);
    const states = host.posts.filter((p) => p.method === 'dashboard/state');
    assert.equal(states.length, 1, 'the overtaken selection posts nothing');
    assert.equal(host.lastState().selected?.name, 'b');
    host.posts = [];
    appendMetrics(a, metricsLines(2, 500));
    appendMetrics(b, metricsLines(3, 500));
    c.poll();
    const metrics = host.posts.filter((p) => p.method === 'dashboard/metrics');
    assert.equal(metrics.length, 1, 'one watcher, on the shown run');
    assert.ok(metrics[0].method === 'dashboard/metrics' && metrics[0].params.run === 'b');
    c.dispose();
  });

  it('shows the first run that appears in an empty history', async () => {
    const host = new FakeHost();
    const c = new DashboardController(host, { runsRoot, client: () => undefined, runPollMs: 0, listPollMs: 0 });
    await c.handle({ method: 'dashboard/ready', params: {} });
    assert.equal(host.lastState().selected, null);
    await makeRun(runsRoot, 'first', { faces: 0, evaluation: false, manifest: { state: 'running' } });
    c.poll();
    await settle();
    assert.equal(host.lastState().selected?.name, 'first');
    c.dispose();
  });

  it('without a workspace it says so', async () => {
    const host = new FakeHost();
    const c = new DashboardController(host, { runsRoot: null, client: () => undefined, runPollMs: 0, listPollMs: 0 });
    await c.handle({ method: 'dashboard/ready', params: {} });
    assert.match(host.lastState().message ?? '', /No workspace folder/);
    c.dispose();
  });
});
