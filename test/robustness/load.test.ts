/**
 * Load: 20 concurrent clients subscribed to one job each receive its whole progress, in order, exactly
 * once; 100 requests fired at once (without waiting) are all answered; 100 queued jobs all run to the end;
 * the tensor count returns to its baseline afterwards.
 */
import * as assert from 'node:assert/strict';
import { tf } from '../../daemon/tfjs/tf';
import type { DaemonServer } from '../../daemon/server/server';
import { RawClient, startTestServer } from './harness';

describe('robustness: load', function () {
  this.timeout(120_000);
  let server: DaemonServer;
  let url: string;
  before(async () => {
    await tf.setBackend('cpu');
    ({ server, url } = await startTestServer());
  });
  after(async () => server.close());

  it('20 concurrent subscribers all receive one job\'s progress in order', async () => {
    const steps = 40;
    const owner = await RawClient.connect(url);
    // A long blocker keeps the target queued until every client has subscribed, so no step is missed.
    const blocker = await owner.request(1, 'daemon/submitJob', { kind: 'probe', params: { steps: 100000, size: 8 } });
    const target = await owner.request(2, 'daemon/submitJob', { kind: 'probe', params: { steps, size: 16 } });
    const blockerId = (blocker.result as { job: { id: string } }).job.id;
    const jobId = (target.result as { job: { id: string } }).job.id;
    const clients = await Promise.all(Array.from({ length: 20 }, () => RawClient.connect(url)));
    const subs = await Promise.all(clients.map((c) => c.request(1, 'daemon/subscribe', { jobId })));
    for (const s of subs) assert.deepEqual((s.result as { history: Record<string, unknown[]> }).history[jobId], [], 'subscribed while queued');
    assert.equal((await owner.request(3, 'daemon/cancelJob', { jobId: blockerId })).error, undefined);
    const done = (c: RawClient) => c.notifications('daemon/jobState').some((n) => {
      const job = (n.params as { job: { id: string; state: string } }).job;
      return job.id === jobId && ['succeeded', 'failed', 'cancelled'].includes(job.state);
    });
    await Promise.all(clients.map((c) => c.waitFor(() => done(c), 60_000, 'job end')));
    const expected = Array.from({ length: steps }, (_, i) => i + 1);
    for (const [i, c] of clients.entries()) {
      const got = c.notifications('daemon/jobProgress')
        .filter((n) => (n.params as { jobId: string }).jobId === jobId)
        .map((n) => (n.params as { progress: { step: number } }).progress.step);
      assert.deepEqual(got, expected, `client ${i}`);
      const states = c.notifications('daemon/jobState').map((n) => (n.params as { job: { state: string } }).job.state);
      assert.deepEqual(states, ['running', 'succeeded'], `client ${i} states`);
      assert.equal(c.notifications('daemon/jobProgress').filter((n) => (n.params as { jobId: string }).jobId === blockerId).length, 0, 'no notifications of jobs not subscribed to');
    }
    await Promise.all([owner, ...clients].map((c) => c.close()));
  });

  it('answers 100 requests sent at once and runs 100 queued jobs to the end', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const clients = await Promise.all(Array.from({ length: 5 }, () => RawClient.connect(url)));
    const methods = ['daemon/status', 'daemon/listJobs', 'daemon/listJobKinds', 'daemon/subscribe'];
    for (const [k, c] of clients.entries()) {
      for (let i = 1; i <= 20; i++) {
        c.send(JSON.stringify({ type: 'request', id: i, method: methods[(i + k) % methods.length], params: {} }));
      }
    }
    await Promise.all(clients.map((c) => c.waitFor(() => c.responses().length === 20, 30_000, '20 answers')));
    for (const c of clients) {
      assert.deepEqual(c.responses().map((r) => r.id).sort((a, b) => a! - b!), Array.from({ length: 20 }, (_, i) => i + 1));
      // The 5th subscribe of a client re-subscribes: allowed; nothing else errs.
      assert.ok(c.responses().every((r) => r.error === undefined), JSON.stringify(c.responses().find((r) => r.error)));
    }
    for (const [k, c] of clients.entries()) {
      for (let i = 0; i < 20; i++) {
        c.send(JSON.stringify({ type: 'request', id: 100 + i, method: 'daemon/submitJob', params: { kind: 'probe', params: { steps: 2, size: 4 }, label: `load ${k}.${i}` } }));
      }
    }
    await Promise.all(clients.map((c) => c.waitFor(() => c.responses().length === 40, 30_000, '20 submit answers')));
    const ids = clients.flatMap((c) => c.responses().filter((r) => r.id! >= 100).map((r) => {
      assert.equal(r.error, undefined, JSON.stringify(r));
      return (r.result as { job: { id: string } }).job.id;
    }));
    assert.equal(new Set(ids).size, 100);
    await server.queue.idle();
    for (const id of ids) assert.equal(server.queue.get(id).job.state, 'succeeded', id);
    assert.equal(tf.memory().numTensors, tensorsBefore, 'tensor count back at baseline');
    await Promise.all(clients.map((c) => c.close()));
  });
});
