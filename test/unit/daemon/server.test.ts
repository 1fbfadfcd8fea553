import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { tf } from '../../../daemon/tfjs/tf';
import type { JobKind } from '../../../daemon/jobs/defineJobKind';
import { probeJob } from '../../../daemon/jobs/kinds/probe';
import { DaemonClient, DaemonConnectionError, DaemonRequestError } from '../../../daemon/protocol/client';
import {
  CancelJobRequest, GetJobRequest, JobInfo, JobProgressNotification, JobStateNotification, StatusRequest, SubmitJobRequest, SubscribeRequest,
} from '../../../daemon/protocol/daemon';
import { ErrorCode, RequestType } from '../../../daemon/protocol/message';
import { DaemonServer } from '../../../daemon/server/server';

const TOKEN = 'test-token-123';

function makeServer(port = 0): DaemonServer {
  return new DaemonServer({
    host: '127.0.0.1', port, token: TOKEN, workspaceDir: process.cwd(), kinds: new Map<string, JobKind>([['probe', probeJob as unknown as JobKind]]),
    engine: { backend: tf.getBackend(), reason: 'test', threads: 1, versions: {}, memory: () => tf.memory() },
    allowedOrigins: ['vscode-webview://allowed'],
  });
}

/** Records every job-state notification from the moment it is created, so none is missed. */
class StateLog {
  private readonly seen: JobInfo[] = [];
  private readonly waiters: (() => void)[] = [];
  constructor(client: DaemonClient) {
    client.on(JobStateNotification, ({ job }) => { this.seen.push(job); this.waiters.splice(0).forEach((w) => w()); });
  }
  async waitFor(jobId: string, states: JobInfo['state'][]): Promise<JobInfo> {
    for (;;) {
      const hit = this.seen.find((j) => j.id === jobId && states.includes(j.state));
      if (hit) return hit;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
}

describe('daemon server', () => {
  let server: DaemonServer;
  let previousBackend: string | undefined;
  let url: string;
  before(async () => {
    previousBackend = tf.getBackend();
    await tf.setBackend('cpu');
    server = makeServer();
    url = `ws://127.0.0.1:${await server.listen()}`;
  });
  after(async () => {
    await server.close();
    // Other suites in this process expect the engine's backend (wasm) back.
    if (previousBackend && previousBackend !== 'cpu') await tf.setBackend(previousBackend);
  });

  it('refuses clients without the token or with a wrong one', async () => {
    await assert.rejects(DaemonClient.connect(url, ''), (e: Error) => e instanceof DaemonConnectionError && /401/.test(e.message));
    await assert.rejects(DaemonClient.connect(url, 'nope'), /token refused/);
  });

  it('refuses browser origins that are not allowed, accepts allowed ones', async () => {
    await assert.rejects(DaemonClient.connect(url, TOKEN, { origin: 'https://evil.example' }), /origin refused/);
    const ok = await DaemonClient.connect(url, TOKEN, { origin: 'vscode-webview://allowed' });
    await ok.close();
  });

  it('answers status with backend, threads, versions and jobs', async () => {
    const c = await DaemonClient.connect(url, TOKEN);
    const s = await c.request(StatusRequest, {});
    assert.equal(s.backend, 'cpu');
    assert.equal(s.pid, process.pid);
    assert.ok(Array.isArray(s.jobs));
    await c.close();
  });

  it('runs a job, streams progress in order, and records the result', async () => {
    const c = await DaemonClient.connect(url, TOKEN);
    const log = new StateLog(c);
    await c.request(SubscribeRequest, {});
    const steps: number[] = [];
    c.on(JobProgressNotification, (p) => steps.push(p.progress.step));
    const { job } = await c.request(SubmitJobRequest, { kind: 'probe', params: { steps: 5, size: 8 } });
    const done = await log.waitFor(job.id, ['succeeded', 'failed']);
    assert.equal(done.state, 'succeeded');
    assert.deepEqual(steps, [1, 2, 3, 4, 5]);
    const { history } = await c.request(GetJobRequest, { jobId: job.id });
    assert.equal(history.length, 5);
    await c.close();
  });

  it('runs one job at a time and cancels queued and running jobs', async () => {
    const c = await DaemonClient.connect(url, TOKEN);
    const log = new StateLog(c);
    await c.request(SubscribeRequest, {});
    const a = (await c.request(SubmitJobRequest, { kind: 'probe', params: { steps: 100000, size: 16 } })).job;
    const b = (await c.request(SubmitJobRequest, { kind: 'probe', params: { steps: 3 } })).job;
    await log.waitFor(a.id, ['running']);
    assert.equal((await c.request(GetJobRequest, { jobId: b.id })).job.state, 'queued');
    const cancelledB = await c.request(CancelJobRequest, { jobId: b.id });
    assert.equal(cancelledB.job.state, 'cancelled');
    const aDone = log.waitFor(a.id, ['cancelled', 'succeeded', 'failed']);
    await c.request(CancelJobRequest, { jobId: a.id });
    assert.equal((await aDone).state, 'cancelled');
    await c.close();
  });

  it('fails a throwing job alone; the queue and daemon carry on', async () => {
    const c = await DaemonClient.connect(url, TOKEN);
    const log = new StateLog(c);
    await c.request(SubscribeRequest, {});
    const bad = (await c.request(SubmitJobRequest, { kind: 'probe', params: { steps: 5, failAtStep: 2 } })).job;
    const good = (await c.request(SubmitJobRequest, { kind: 'probe', params: { steps: 2 } })).job;
    const badDone = await log.waitFor(bad.id, ['failed', 'succeeded']);
    assert.equal(badDone.state, 'failed');
    assert.match(badDone.error ?? '', /on purpose at step 2/);
    assert.equal((await log.waitFor(good.id, ['succeeded', 'failed'])).state, 'succeeded');
    await c.close();
  });

  it('answers bad input with structured errors and stays up', async () => {
    const c = await DaemonClient.connect(url, TOKEN);
    const unknown = { kind: 'request', method: 'daemon/nope', params: {}, result: {} } as unknown as RequestType<string, never, never>;
    await assert.rejects(c.request(unknown, {} as never), (e: DaemonRequestError) => e.code === ErrorCode.MethodNotFound);
    await assert.rejects(c.request(SubmitJobRequest, { kind: 'probe', params: { steps: -1 } }), (e: DaemonRequestError) => e.code === ErrorCode.InvalidParams);
    await assert.rejects(c.request(SubmitJobRequest, { kind: 'nope', params: {} }), (e: DaemonRequestError) => e.code === ErrorCode.InvalidParams && /known: /.test(e.message));
    await assert.rejects(c.request(CancelJobRequest, { jobId: 'missing' }), (e: DaemonRequestError) => e.code === ErrorCode.NotFound);
    const raw = new Promise<unknown>((resolve) => { (c as unknown as { socket: { once(ev: string, f: (d: unknown) => void): void } }).socket.once('message', (d) => resolve(JSON.parse(String(d)))); });
    c.sendRaw('{not json');
    assert.equal(((await raw) as { error: { code: number } }).error.code, ErrorCode.ParseError);
    assert.equal((await c.request(StatusRequest, {})).pid, process.pid);
    await c.close();
  });

  it('gives a clear error when the port is taken', async () => {
    const blocker = net.createServer();
    const port = await new Promise<number>((r) => blocker.listen(0, '127.0.0.1', () => r((blocker.address() as net.AddressInfo).port)));
    try {
      await assert.rejects(makeServer(port).listen(), /already in use/);
    } finally {
      blocker.close();
    }
  });
});
