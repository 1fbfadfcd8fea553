/**
 * The daemon's run feed (daemon/server/runFeed.ts) over a real WebSocket: the run history whole on
 * `daemon/subscribeRuns`, then rows added/changed/removed; one run whole on `daemon/subscribeRun`, then its
 * deltas (appended metric lines, run.json, faces, report, deletion, a rewrite sent whole again); pictures as
 * bytes by face id; everything confined to the runs root (names that are paths, symlinks out of it, index
 * paths that climb out); watchers released when a client unsubscribes or goes away.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf } from '../../../daemon/tfjs/tf';
import type { JobKind } from '../../../daemon/jobs/defineJobKind';
import { probeJob } from '../../../daemon/jobs/kinds/probe';
import { DaemonClient, DaemonRequestError } from '../../../daemon/protocol/client';
import {
  DAEMON_NOTIFICATIONS, DAEMON_REQUESTS, pictureType, RunEvaluationNotification, RunFacesNotification, RunImagesRequest, RunManifestNotification,
  RunMetricsNotification, RunRemovedNotification, RunsChangedNotification, RunStateNotification, SubscribeRunRequest,
  ListRunsRequest, SubscribeRunsRequest, UnsubscribeRunRequest, UnsubscribeRunsRequest,
} from '../../../daemon/protocol/daemon';
import { ErrorCode, type NotificationType } from '../../../daemon/protocol/message';
import type { TSchema } from '@sinclair/typebox';
import { DaemonServer } from '../../../daemon/server/server';
import { MAX_RUNS_PER_CONNECTION } from '../../../daemon/server/runFeed';
import { appendMetrics, makeRun, manifest, metricsLines, tempDir, writeJson } from '../webview/fixture';
import { waitFor } from '../waitFor';

const TOKEN = 'run-feed-test-token-0123456789';


/** Every notification a client got, by method, in order. */
function record(client: DaemonClient): { method: string; params: Record<string, unknown> }[] {
  const got: { method: string; params: Record<string, unknown> }[] = [];
  for (const type of DAEMON_NOTIFICATIONS as readonly NotificationType<string, TSchema>[]) client.on(type, (p) => got.push({ method: type.method, params: p as Record<string, unknown> }));
  return got;
}

describe('daemon: run feed (runs, one run, pictures)', function () {
  this.timeout(60_000);
  let ws: string;
  let runsRoot: string;
  let server: DaemonServer;
  let url: string;
  let client: DaemonClient;

  before(async () => { await tf.setBackend('cpu'); });
  beforeEach(async () => {
    ws = tempDir('feed-ws');
    runsRoot = path.join(ws, 'runs');
    fs.mkdirSync(runsRoot);
    server = new DaemonServer({
      host: '127.0.0.1', port: 0, token: TOKEN, workspaceDir: ws,
      kinds: new Map([['probe', probeJob as unknown as JobKind]]),
      engine: { backend: 'cpu', reason: 'test', threads: 1, versions: {}, memory: () => tf.memory() },
      runFeed: { runPollMs: 0, listPollMs: 0 },
    });
    url = `ws://127.0.0.1:${await server.listen()}`;
    client = await DaemonClient.connect(url, TOKEN);
  });
  afterEach(async () => {
    await client.close();
    await server.close();
    fs.rmSync(ws, { recursive: true, force: true });
  });

  it('declares each message once, daemon/…, with guards that refuse malformed payloads', () => {
    const names: string[] = [...DAEMON_REQUESTS, ...DAEMON_NOTIFICATIONS].map((m) => m.method);
    assert.equal(new Set(names).size, names.length);
    for (const n of names) assert.match(n, /^daemon\/[a-zA-Z]+$/);
    for (const n of ['daemon/subscribeRuns', 'daemon/subscribeRun', 'daemon/runImages', 'daemon/runsChanged', 'daemon/runMetrics', 'daemon/runState']) assert.ok(names.includes(n), n);
    assert.ok(SubscribeRunRequest.isParams({ run: 'bb-arcface' }));
    for (const bad of ['', '..', '.', 'a/b', 'a\\b', 'x\u0000y']) assert.equal(SubscribeRunRequest.isParams({ run: bad }), false, JSON.stringify(bad));
    assert.equal(RunMetricsNotification.isParams({ run: 'r', lines: [{ step: 'x' }] }), false);
    assert.equal(RunImagesRequest.isParams({ run: 'r', faces: Array.from({ length: 33 }, () => ({ id: 'a', which: 'image' })) }), false, 'at most 32 pictures per request');
  });

  it('sends the history whole, then rows added, changed and removed', async () => {
    await makeRun(runsRoot, 'old', { faces: 0, evaluation: false, manifest: { createdAt: '2026-11-01T00:00:00.000Z' } });
    const got = record(client);
    const first = await client.request(SubscribeRunsRequest, {});
    assert.equal(first.runsRoot, runsRoot);
    assert.deepEqual(first.runs.map((r) => r.name), ['old']);
    server.runs.poll();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(got.length, 0, 'nothing changed, nothing sent');
    await makeRun(runsRoot, 'new', { faces: 0, evaluation: false, manifest: { state: 'running' } });
    server.runs.poll();
    const added = await waitFor('runsChanged', () => got.find((g) => g.method === RunsChangedNotification.method));
    assert.deepEqual((added.params.changed as { name: string }[]).map((r) => r.name), ['new']);
    fs.rmSync(path.join(runsRoot, 'old'), { recursive: true });
    server.runs.poll();
    await waitFor('the removal', () => got.filter((g) => g.method === RunsChangedNotification.method).length === 2);
    assert.deepEqual(got[1].params.removed, ['old']);
    assert.deepEqual((await client.request(UnsubscribeRunsRequest, {})).ok, true);
    assert.equal(server.runs.watching.list, false, 'the list watcher stops with its last subscriber');
  });

  it('follows the runs folders the workspace\'s run configs name, not only <workspace>/runs (outside the allowed roots: not served)', async () => {
    await makeRun(runsRoot, 'default', { faces: 0, evaluation: false, manifest: { createdAt: '2026-11-01T00:00:00.000Z' } });
    const own = path.join(ws, 'experiments', 'my-runs');
    writeJson(path.join(ws, 'experiments', 'bb.faceinv-run.json'), { name: 'bb', runsDir: 'experiments/my-runs' });
    const outside = tempDir('feed-outside');
    writeJson(path.join(ws, 'far.faceinv-run.json'), { name: 'far', runsDir: outside });
    try {
      await makeRun(own, 'bb', { faces: 1, evaluation: false, manifest: { createdAt: '2026-11-02T00:00:00.000Z' } });
      await makeRun(outside, 'far', { faces: 0, evaluation: false });
      const got = record(client);
      const first = await client.request(SubscribeRunsRequest, {});
      assert.equal(first.runsRoot, runsRoot);
      assert.deepEqual(first.runsRoots, [runsRoot, own]);
      assert.deepEqual(first.runs.map((r) => [r.name, r.dir]), [['bb', path.join(own, 'bb')], ['default', path.join(runsRoot, 'default')]]);
      const one = await client.request(SubscribeRunRequest, { run: 'bb' });
      assert.equal(one.run.dir, path.join(own, 'bb'));
      assert.equal(one.run.faces.length, 1);
      const pics = await client.request(RunImagesRequest, { run: 'bb', faces: [{ id: one.run.faces[0].id, which: 'image' }] });
      assert.ok(pics.images[0].data, 'its pictures are served');
      await assert.rejects(client.request(SubscribeRunRequest, { run: 'far' }), (e: unknown) => e instanceof DaemonRequestError && e.code === ErrorCode.NotFound);
      await makeRun(own, 'bb2', { faces: 0, evaluation: false, manifest: { state: 'running' } });
      server.runs.poll();
      const added = await waitFor('runsChanged', () => got.find((g) => g.method === RunsChangedNotification.method));
      assert.deepEqual((added.params.changed as { name: string }[]).map((r) => r.name), ['bb2']);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('lists the history once for a picker, without following it', async () => {
    await makeRun(runsRoot, 'older', { faces: 0, evaluation: false, manifest: { createdAt: '2026-11-01T00:00:00.000Z' } });
    await makeRun(runsRoot, 'newer', { faces: 0, manifest: { createdAt: '2026-11-02T00:00:00.000Z' } });
    const got = record(client);
    const list = await client.request(ListRunsRequest, {});
    assert.ok(ListRunsRequest.isResult(list));
    assert.equal(list.runsRoot, runsRoot);
    assert.deepEqual(list.runs.map((r) => [r.name, r.hasReport]), [['newer', true], ['older', false]]);
    assert.equal(list.runs[0].dir, path.join(runsRoot, 'newer'), 'the folder a job on the daemon reads');
    assert.equal(server.runs.watching.list, false, 'a list is not a subscription');
    await makeRun(runsRoot, 'later', { faces: 0, evaluation: false });
    server.runs.poll();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(got.length, 0);
    await assert.rejects(client.request(ListRunsRequest, { extra: 1 } as never), DaemonRequestError);
  });

  it('sends one run whole, then its deltas; a rewrite whole again; a deletion once', async () => {
    const dir = await makeRun(runsRoot, 'live', { steps: 10, faces: 0, evaluation: false, manifest: { state: 'running' } });
    const got = record(client);
    const { run } = await client.request(SubscribeRunRequest, { run: 'live' });
    assert.equal(run.name, 'live');
    assert.equal(run.dir, dir);
    assert.equal(run.metrics.length, 11);
    assert.equal(run.manifest?.state, 'running');
    assert.ok(SubscribeRunRequest.isResult({ run }), 'the answer matches its schema');
    appendMetrics(dir, metricsLines(3, 10));
    server.runs.poll();
    const m = await waitFor('runMetrics', () => got.find((g) => g.method === RunMetricsNotification.method));
    assert.deepEqual((m.params.lines as { step: number }[]).map((l) => l.step), [10, 11, 12]);
    const other = await makeRun(path.join(ws, 'elsewhere'), 'o', { faces: 2 });
    fs.cpSync(path.join(other, 'reconstructions'), path.join(dir, 'reconstructions'), { recursive: true });
    fs.cpSync(path.join(other, 'evaluation'), path.join(dir, 'evaluation'), { recursive: true });
    writeJson(path.join(dir, 'run.json'), manifest('live', { state: 'finished', updatedAt: '2026-11-27T12:00:00.000Z' }));
    server.runs.poll();
    await waitFor('manifest, faces and report', () => got.length >= 4);
    assert.deepEqual(got.slice(1).map((g) => g.method), [RunManifestNotification.method, RunFacesNotification.method, RunEvaluationNotification.method]);
    const faces = got[2].params.faces as { id: string; image: string; imageVersion: string; original?: string }[];
    assert.equal(faces.length, 2);
    assert.ok(faces[0].image.endsWith('.png') && faces[0].imageVersion && faces[0].original);
    // A resume truncates metrics.jsonl: the run is sent whole again, and deltas follow on from that.
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), metricsLines(2).map((l) => JSON.stringify(l) + '\n').join(''));
    server.runs.poll();
    const whole = await waitFor('runState', () => got.find((g) => g.method === RunStateNotification.method));
    assert.equal((whole.params.run as { metrics: unknown[] }).metrics.length, 2);
    appendMetrics(dir, metricsLines(1, 2));
    server.runs.poll();
    await waitFor('the next delta', () => got.filter((g) => g.method === RunMetricsNotification.method).length === 2);
    fs.rmSync(dir, { recursive: true });
    server.runs.poll();
    server.runs.poll();
    await waitFor('runRemoved', () => got.find((g) => g.method === RunRemovedNotification.method));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(got.filter((g) => g.method === RunRemovedNotification.method).length, 1);
    assert.equal((await client.request(UnsubscribeRunRequest, { run: 'live' })).ok, true);
    assert.equal(server.runs.watching.runs, 0);
  });

  it('sends the pictures of a run by face id as PNG bytes, with problems for what it cannot serve', async () => {
    const dir = await makeRun(runsRoot, 'faces', { faces: 3, evaluation: false });
    const { run } = await client.request(SubscribeRunRequest, { run: 'faces' });
    const [a, b] = run.faces;
    const r = await client.request(RunImagesRequest, { run: 'faces', faces: [{ id: a.id, which: 'image' }, { id: a.id, which: 'original' }, { id: 'nobody', which: 'image' }] });
    assert.equal(r.images.length, 3);
    const bytes = Buffer.from(r.images[0].data ?? '', 'base64');
    assert.deepEqual(bytes, fs.readFileSync(path.join(dir, 'reconstructions', a.image)), 'the file\'s bytes');
    assert.equal(r.images[0].type, 'image/png');
    assert.equal(r.images[0].version, a.imageVersion);
    assert.equal(pictureType(Buffer.from(r.images[1].data ?? '', 'base64')), 'image/png');
    assert.match(r.images[2].problem ?? '', /no reconstruction "nobody"/);
    // Not a picture, or a link out of the runs root: refused, named.
    fs.writeFileSync(path.join(dir, 'reconstructions', b.image), 'not a png');
    fs.writeFileSync(path.join(ws, 'secret.png'), fs.readFileSync(path.join(dir, 'reconstructions', a.image)));
    fs.rmSync(path.join(dir, 'reconstructions', run.faces[2].image));
    fs.symlinkSync(path.join(ws, 'secret.png'), path.join(dir, 'reconstructions', run.faces[2].image));
    const bad = await client.request(RunImagesRequest, { run: 'faces', faces: [{ id: b.id, which: 'image' }, { id: run.faces[2].id, which: 'image' }] });
    assert.match(bad.images[0].problem ?? '', /neither a PNG nor a JPEG/);
    assert.equal(bad.images[1].data, undefined);
    assert.match(bad.images[1].problem ?? '', /outside the allowed roots/);
  });

  it('serves only folders of the runs root: paths, unknown names and symlinks out are refused; the daemon carries on', async () => {
    const outside = await makeRun(path.join(ws, 'elsewhere'), 'x', { faces: 1, evaluation: false });
    fs.symlinkSync(outside, path.join(runsRoot, 'linked'));
    const code = async (p: Promise<unknown>) => { try { await p; return 'ok'; } catch (e) { return (e as DaemonRequestError).code; } };
    assert.equal(await code(client.request(SubscribeRunRequest, { run: '../elsewhere/x' })), ErrorCode.InvalidParams);
    assert.equal(await code(client.request(SubscribeRunRequest, { run: '..' })), ErrorCode.InvalidParams);
    assert.equal(await code(client.request(SubscribeRunRequest, { run: 'nope' })), ErrorCode.NotFound);
    assert.equal(await code(client.request(SubscribeRunRequest, { run: 'linked' })), ErrorCode.PathNotAllowed);
    assert.equal(await code(client.request(RunImagesRequest, { run: 'linked', faces: [{ id: 'a', which: 'image' }] })), ErrorCode.PathNotAllowed);
    fs.writeFileSync(path.join(runsRoot, 'file.txt'), 'x');
    assert.equal(await code(client.request(SubscribeRunRequest, { run: 'file.txt' })), ErrorCode.NotFound);
    for (let i = 0; i < MAX_RUNS_PER_CONNECTION + 1; i++) await makeRun(runsRoot, `r${i}`, { faces: 0, evaluation: false, steps: 1 });
    for (let i = 0; i < MAX_RUNS_PER_CONNECTION; i++) await client.request(SubscribeRunRequest, { run: `r${i}` });
    assert.equal(await code(client.request(SubscribeRunRequest, { run: `r${MAX_RUNS_PER_CONNECTION}` })), ErrorCode.Conflict);
    assert.equal(server.runs.watching.runs, MAX_RUNS_PER_CONNECTION);
    await client.close();
    await waitFor('the watchers of a closed connection to go', () => server.runs.watching.runs === 0);
    client = await DaemonClient.connect(url, TOKEN);
    const names = (await client.request(SubscribeRunsRequest, {})).runs.map((r) => r.name);
    assert.equal(names.length, MAX_RUNS_PER_CONNECTION + 1, 'still serving; a symlinked folder is not listed');
    assert.ok(!names.includes('linked'));
  });
});
