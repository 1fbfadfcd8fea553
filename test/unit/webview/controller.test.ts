/**
 * The extension side of the dashboard without vscode (extension/dashboard/controller.ts), fed by a real
 * daemon (DaemonServer in this process) through the extension's real DaemonConnection: the whole state on
 * `dashboard/ready` from the daemon's run feed, then its deltas; pictures as data: URIs a page at a time after
 * the first paint; untrusted webview input refused and logged; pictures opened by face id; progress of the
 * daemon job writing the shown run; a daemon that goes away (unreachable, then back; token refused, then
 * connected again) said so in the view, with nothing lost once the connection is back.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Type } from '@sinclair/typebox';
import { tf } from '../../../daemon/tfjs/tf';
import { defineJobKind, type JobKind } from '../../../daemon/jobs/defineJobKind';
import { probeJob } from '../../../daemon/jobs/kinds/probe';
import { yieldToEventLoop } from '../../../daemon/jobs/context';
import { SubmitJobRequest } from '../../../daemon/protocol/daemon';
import { StateMessage, TO_WEBVIEW, type DashboardState, type ToWebviewMessage } from '../../../daemon/protocol/webview';
import { DaemonServer } from '../../../daemon/server/server';
import { DaemonConnection, type ConnectionOptions } from '../../../extension/connection';
import { DashboardController, daemonLink, pictureUri, type DashboardHost, type PictureToOpen } from '../../../extension/dashboard/controller';
import { appendMetrics, makeRun, manifest, metricsLines, tempDir, writeJson } from './fixture';
import { waitFor } from '../waitFor';

const TOKEN = 'dashboard-test-token-0123456789';


class FakeHost implements DashboardHost {
  posts: ToWebviewMessage[] = [];
  logs: string[] = [];
  opened: PictureToOpen[] = [];
  reconnects: boolean[] = [];
  post(msg: ToWebviewMessage): void {
    // Everything posted must pass the webview's own guards.
    assert.ok(TO_WEBVIEW.some((t) => t.is(msg)), `posted message fails its guard: ${JSON.stringify(msg).slice(0, 300)}`);
    this.posts.push(msg);
  }
  openImage(p: PictureToOpen): void { this.opened.push(p); }
  reconnect(remote: boolean): void { this.reconnects.push(remote); }
  log(m: string): void { this.logs.push(m); }
  methods(): string[] { return this.posts.map((p) => p.method); }
  states(): DashboardState[] { return this.posts.filter((p) => StateMessage.is(p)).map((p) => p.params as DashboardState); }
  lastState(): DashboardState {
    const s = this.states().at(-1);
    assert.ok(s, 'no dashboard/state posted');
    return s;
  }
  /** Pictures that arrived for `run` so far, by face id. */
  pictures(run: string): Map<string, { imageUri?: string; originalUri?: string }> {
    const out = new Map<string, { imageUri?: string; originalUri?: string }>();
    for (const p of this.posts) {
      if (p.method !== 'dashboard/faceImages' || p.params.run !== run) continue;
      for (const i of p.params.images) out.set(i.id, { ...out.get(i.id), ...i });
    }
    return out;
  }
}

/** A job kind that writes nothing but says which run folder it works on and reports steps until told to stop. */
const writerJob = defineJobKind({
  kind: 'writer',
  summary: 'test: claims a run folder and reports progress',
  params: Type.Object({ runDir: Type.String(), steps: Type.Integer({ minimum: 1 }) }),
  label: (p) => `writer ${path.basename(p.runDir)}`,
  async run(p, ctx) {
    ctx.setRunDir(p.runDir);
    for (let s = 1; s <= p.steps; s++) {
      ctx.progress(s, p.steps, { loss: 1 / s });
      await new Promise((r) => setTimeout(r, 20));
      await yieldToEventLoop();
    }
    return { ok: true };
  },
});

/** `n` reconstructions sharing one PNG (copies), so a many-face run is quick to make. */
async function manyFaces(runsRoot: string, name: string, n: number): Promise<string> {
  const dir = await makeRun(runsRoot, name, { faces: 1, evaluation: false, steps: 5 });
  const rdir = path.join(dir, 'reconstructions');
  const index = JSON.parse(fs.readFileSync(path.join(rdir, 'index.json'), 'utf8'));
  const [first] = index.items;
  index.items = [];
  for (let i = 0; i < n; i++) {
    fs.copyFileSync(path.join(rdir, first.image), path.join(rdir, `f${i}.png`));
    fs.copyFileSync(path.join(rdir, first.original), path.join(rdir, `f${i}.orig.png`));
    index.items.push({ id: `f${i}`, identity: `Person ${i}`, image: `f${i}.png`, original: `f${i}.orig.png` });
  }
  writeJson(path.join(rdir, 'index.json'), index);
  return dir;
}

describe('dashboard controller (fed by a real daemon through DaemonConnection)', function () {
  this.timeout(60_000);
  let ws: string;
  let runsRoot: string;
  let server: DaemonServer;
  let port: number;
  let url: string;
  let conn: DaemonConnection;
  let c: DashboardController | undefined;

  const startServer = async (token = TOKEN, fixedPort = 0) => {
    server = new DaemonServer({
      host: '127.0.0.1', port: fixedPort, token, workspaceDir: ws,
      kinds: new Map([['probe', probeJob as unknown as JobKind], ['writer', writerJob as unknown as JobKind]]),
      engine: { backend: 'cpu', reason: 'test', threads: 1, versions: {}, memory: () => tf.memory() },
      runFeed: { runPollMs: 0, listPollMs: 0 },
    });
    port = await server.listen();
    url = `ws://127.0.0.1:${port}`;
  };
  const connect = async (opts: ConnectionOptions = {}) => {
    conn = new DaemonConnection({ backoff: { initialMs: 20, maxMs: 100, factor: 2, maxAttempts: 200 }, ...opts });
    await conn.connect({ url, token: TOKEN, remote: false });
  };
  const ready = async (host: FakeHost, run?: string) => {
    c = new DashboardController(host, { link: conn, imagePage: 8 });
    await c.handle({ method: 'dashboard/ready', params: run ? { run } : {} });
    return waitFor('a whole state with a run', () => host.states().find((s) => s.selected !== null) ?? false);
  };

  before(async () => { await tf.setBackend('cpu'); });
  beforeEach(async () => {
    ws = tempDir('dash-ws');
    runsRoot = path.join(ws, 'runs');
    fs.mkdirSync(runsRoot);
    await startServer();
  });
  afterEach(async () => {
    c?.dispose();
    c = undefined;
    await conn?.disconnect();
    await server.close();
    fs.rmSync(ws, { recursive: true, force: true });
  });

  it('posts the daemon\'s whole state of the newest run on ready, its pictures after it in pages, then deltas', async () => {
    await makeRun(runsRoot, 'old', { faces: 0, manifest: { createdAt: '2026-11-01T00:00:00.000Z' } });
    const dir = await manyFaces(runsRoot, 'new', 300);
    fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(manifest('new', { state: 'running' })));
    await connect();
    const host = new FakeHost();
    const s = await ready(host);
    assert.deepEqual(s.runs.map((r) => r.name), ['new', 'old']);
    assert.equal(s.runsRoot, runsRoot);
    assert.equal(s.selected?.name, 'new');
    assert.equal(s.selected?.metrics.length, 5);
    assert.equal(s.selected?.faces.length, 300);
    assert.ok(s.selected?.faces.every((f) => f.imageUri === undefined && f.hasOriginal), 'the first paint does not wait for 600 pictures');
    assert.deepEqual(s.daemon, { connected: true, url, remote: false });
    const pics = await waitFor('all 300 faces\' pictures', () => { const p = host.pictures('new'); return p.size === 300 && [...p.values()].every((x) => x.imageUri && x.originalUri) && p; });
    const pages = host.posts.filter((p) => p.method === 'dashboard/faceImages');
    assert.ok(pages.length >= 75, `pictures arrive a page at a time (${pages.length} pages)`);
    assert.ok(pages.every((p) => p.method === 'dashboard/faceImages' && p.params.images.length <= 8));
    assert.ok(host.posts.findIndex((p) => p.method === 'dashboard/faceImages') > host.posts.findIndex((p) => p.method === 'dashboard/state'));
    const png = fs.readFileSync(path.join(dir, 'reconstructions', 'f0.png'));
    assert.equal(pics.get('f0')?.imageUri, `data:image/png;base64,${png.toString('base64')}`);

    host.posts = [];
    appendMetrics(dir, metricsLines(4, 20));
    server.runs.poll();
    const m = await waitFor('dashboard/metrics', () => host.posts.find((p) => p.method === 'dashboard/metrics'));
    assert.ok(m.method === 'dashboard/metrics' && m.params.lines.length === 4 && m.params.run === 'new');
    writeJson(path.join(dir, 'run.json'), manifest('new', { state: 'finished' }));
    server.runs.poll();
    await waitFor('dashboard/manifest', () => host.posts.find((p) => p.method === 'dashboard/manifest' && p.params.manifest?.state === 'finished'));
    // A webview shown again asks with ready: the whole state comes from the copy, current, pictures included.
    await c!.handle({ method: 'dashboard/ready', params: {} });
    const again = host.lastState();
    assert.equal(again.selected?.metrics.length, 9);
    assert.equal(again.selected?.manifest?.state, 'finished');
    assert.equal(again.selected?.faces.filter((f) => f.imageUri && f.originalUri).length, 300, 'pictures are not fetched twice');

    host.posts = [];
    fs.rmSync(dir, { recursive: true });
    server.runs.poll();
    await waitFor('runRemoved and runs', () => host.methods().includes('dashboard/runRemoved') && host.methods().includes('dashboard/runs'));
    const runs = host.posts.find((p) => p.method === 'dashboard/runs');
    assert.ok(runs?.method === 'dashboard/runs' && runs.params.runs.map((r) => r.name).join() === 'old');
  });

  it('selects runs by name only, refuses paths and unknown names, ignores unknown messages (logged)', async () => {
    await makeRun(runsRoot, 'a', { faces: 0 });
    await makeRun(runsRoot, 'b', { faces: 0, manifest: { createdAt: '2026-11-28T00:00:00.000Z' } });
    await connect();
    const host = new FakeHost();
    const s = await ready(host, 'a');
    assert.equal(s.selected?.name, 'a', 'the run the restored webview remembers');
    await c!.handle({ method: 'dashboard/selectRun', params: { run: 'b' } });
    assert.equal(host.lastState().selected?.name, 'b');
    const n = host.posts.length;
    const logs = host.logs.length;
    await c!.handle({ method: 'dashboard/selectRun', params: { run: '../../etc' } });
    await c!.handle({ method: 'dashboard/selectRun', params: { run: 'zzz' } });
    await c!.handle({ method: 'dashboard/explode', params: {} });
    await c!.handle({ method: 'dashboard/selectRun', params: { run: 42 } });
    await c!.handle('hello');
    assert.equal(host.posts.length, n, 'nothing posted for refused or unknown messages');
    assert.equal(host.logs.length - logs, 5, host.logs.join('\n'));
    assert.match(host.logs[logs + 2], /matches no declaration \(method dashboard\/explode\)/);
    assert.equal(server.runs.watching.runs, 1, 'the run shown before is unsubscribed');
    await c!.handle({ method: 'dashboard/reconnect', params: {} });
    assert.deepEqual(host.reconnects, [false], 'the banner\'s button for a local daemon');
  });

  it('opens pictures by face id of the shown run only, with their bytes (and the file, for a local daemon)', async () => {
    const dir = await makeRun(runsRoot, 'a', { faces: 2 });
    await connect();
    const host = new FakeHost();
    const s = await ready(host);
    const face = s.selected!.faces[1];
    await c!.handle({ method: 'dashboard/openImage', params: { run: 'a', face: face.id, which: 'original' } });
    await c!.handle({ method: 'dashboard/openImage', params: { run: 'a', face: 'not-a-face', which: 'image' } });
    await c!.handle({ method: 'dashboard/openImage', params: { run: 'other', face: face.id, which: 'image' } });
    await c!.handle({ method: 'dashboard/openImage', params: { path: path.join(dir, '..', '..', 'secret.txt') } });
    assert.equal(host.opened.length, 1);
    const file = path.join(dir, 'reconstructions', `${face.id}.orig.png`);
    assert.deepEqual(host.opened[0].bytes, fs.readFileSync(file));
    assert.equal(host.opened[0].localPath, file);
    assert.equal(host.opened[0].type, 'image/png');
    assert.equal(host.logs.filter((l) => /refused/.test(l)).length, 2);
  });

  it('relays progress of the daemon job writing the shown run, and only that job', async () => {
    const dir = await makeRun(runsRoot, 'live', { faces: 0, manifest: { state: 'running' } });
    await connect();
    const host = new FakeHost();
    await ready(host);
    const client = conn.client!;
    await client.request(SubmitJobRequest, { kind: 'probe', params: { steps: 30 } });
    const { job } = await client.request(SubmitJobRequest, { kind: 'writer', params: { runDir: dir, steps: 12 } });
    const jobs = () => host.posts.flatMap((p) => (p.method === 'dashboard/job' && p.params.job ? [p.params.job] : []));
    await waitFor('the writer to finish on the dashboard', () => jobs().some((j) => j.state === 'succeeded'), 30_000);
    assert.ok(jobs().every((j) => j.jobId === job.id), 'only the job writing the shown run');
    assert.ok(jobs().some((j) => j.state === 'running' && (j.step ?? 0) > 1), 'steps while it ran');
    await c!.handle({ method: 'dashboard/ready', params: {} });
    assert.equal(host.lastState().selected?.job?.jobId, job.id, 'the whole state carries it too');
  });

  it('says so when the daemon is lost, and once it is back posts the whole state again with what it missed', async () => {
    const dir = await makeRun(runsRoot, 'r', { faces: 1, steps: 10 });
    await connect();
    const host = new FakeHost();
    await ready(host);
    await waitFor('pictures', () => host.pictures('r').size === 1);
    await server.close();
    const lost = await waitFor('dashboard/daemon down', () => host.posts.find((p) => p.method === 'dashboard/daemon' && !p.params.connected));
    assert.ok(lost.method === 'dashboard/daemon');
    assert.match(lost.params.problem ?? '', /Lost the daemon at ws:\/\/127\.0\.0\.1:\d+; reconnecting/);
    appendMetrics(dir, metricsLines(7, 10)); // written while the view is not live
    const states = host.states().length;
    await startServer(TOKEN, port);
    const back = await waitFor('a whole state after the reconnect', () => host.states().length > states && host.lastState());
    assert.equal(back.daemon.connected, true);
    assert.equal(back.daemon.problem, undefined);
    assert.equal(back.selected?.metrics.length, 11 + 7, 'nothing lost');
    assert.ok(back.selected?.faces[0].imageUri, 'pictures already fetched are kept');
    appendMetrics(dir, metricsLines(1, 17));
    server.runs.poll();
    await waitFor('deltas from the new connection', () => host.posts.slice(-3).some((p) => p.method === 'dashboard/metrics'));
  });

  it('says so when a daemon refuses the token mid-session, and takes everything again once connected with the right one', async () => {
    const dir = await makeRun(runsRoot, 'r', { faces: 0, steps: 10 });
    // As the extension's own connection: it keeps trying (the endpoint may be re-read), then gives up.
    await connect({ refreshEndpoint: () => undefined, backoff: { initialMs: 20, maxMs: 40, factor: 2, maxAttempts: 4 } });
    const host = new FakeHost();
    await ready(host);
    await server.close();
    await startServer('a-new-token-after-a-restart-0123', port);
    const refused = await waitFor('the refusal on the dashboard', () => host.posts.find((p) => p.method === 'dashboard/daemon' && /refused the token/.test(p.params.problem ?? '')));
    assert.ok(refused.method === 'dashboard/daemon' && refused.params.url === url);
    await waitFor('the connection to give up', () => conn.state === 'failed');
    assert.ok(host.posts.some((p) => p.method === 'dashboard/daemon' && /refused the token; retrying/.test(p.params.problem ?? '')), 'said while it still retries');
    const failed = daemonLink(conn);
    assert.match(failed.problem ?? '', /refused the token .*connect again with its current token/);
    appendMetrics(dir, metricsLines(2, 10));
    const states = host.states().length;
    await conn.connect({ url, token: 'a-new-token-after-a-restart-0123', remote: true });
    const back = await waitFor('the whole state again', () => host.states().length > states && host.lastState());
    assert.deepEqual(back.daemon, { connected: true, url, remote: true });
    assert.equal(back.selected?.metrics.length, 13);
  });

  it('switching to another daemon (Connect to Daemon… to a GPU box) shows that daemon\'s runs only, and back', async () => {
    await makeRun(runsRoot, 'local-run', { faces: 1, steps: 3, evaluation: false });
    const other = tempDir('dash-remote-ws');
    await makeRun(path.join(other, 'runs'), 'gpu-run', { faces: 1, steps: 7, evaluation: false });
    const remote = new DaemonServer({
      host: '127.0.0.1', port: 0, token: 'remote-token-0123456789abcdef', workspaceDir: other,
      kinds: new Map([['probe', probeJob as unknown as JobKind]]),
      engine: { backend: 'cpu', reason: 'test', threads: 1, versions: {}, memory: () => tf.memory() },
      runFeed: { runPollMs: 0, listPollMs: 0 },
    });
    const remoteUrl = `ws://127.0.0.1:${await remote.listen()}`;
    try {
      await connect();
      const host = new FakeHost();
      await ready(host);
      await waitFor('local pictures', () => host.pictures('local-run').size === 1);
      await conn.connect({ url: remoteUrl, token: 'remote-token-0123456789abcdef', remote: true });
      const s = await waitFor('the remote daemon\'s state', () => host.lastState().selected?.name === 'gpu-run' && host.lastState());
      assert.deepEqual(s.runs.map((r) => r.name), ['gpu-run'], 'no run of the other daemon');
      assert.equal(s.runsRoot, path.join(other, 'runs'));
      assert.equal(s.selected?.metrics.length, 7);
      assert.ok(!host.states().some((x) => x.daemon.url === remoteUrl && x.runs.some((r) => r.name === 'local-run')), 'never the local runs under the remote daemon');
      await waitFor('remote pictures', () => host.pictures('gpu-run').size === 1);
      await conn.connect({ url, token: TOKEN, remote: false });
      await waitFor('the local daemon\'s state again', () => host.lastState().selected?.name === 'local-run' && host.lastState().runs.length === 1);
    } finally {
      await remote.close();
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  it('shows the first run that appears in an empty history, and says when no daemon is connected', async () => {
    const host = new FakeHost();
    conn = new DaemonConnection();
    c = new DashboardController(host, { link: conn });
    await c.handle({ method: 'dashboard/ready', params: {} });
    assert.match(host.lastState().daemon.problem ?? '', /No daemon is connected/);
    assert.equal(host.lastState().runsRoot, null);
    await conn.connect({ url, token: TOKEN, remote: false });
    await waitFor('the daemon\'s (empty) history', () => host.lastState().runsRoot === runsRoot);
    assert.equal(host.lastState().selected, null);
    await makeRun(runsRoot, 'first', { faces: 0, evaluation: false, manifest: { state: 'running' } });
    server.runs.poll();
    await waitFor('the first run shown', () => host.lastState().selected?.name === 'first');
  });

  it('a picture is handed over only when its bytes are PNG or JPEG', () => {
    assert.equal(pictureUri(Buffer.from('<svg onload="alert(1)"/>')), undefined);
    assert.equal(pictureUri(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))?.type, 'image/jpeg');
    assert.match(pictureUri(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]))?.uri ?? '', /^data:image\/png;base64,/);
  });
});
