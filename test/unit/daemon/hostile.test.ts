import * as assert from 'node:assert/strict';
import { tf } from '../../../daemon/tfjs/tf';
import { ErrorCode } from '../../../daemon/protocol/message';
import type { DaemonServer } from '../../../daemon/server/server';
import { RawClient, startTestServer } from '../../robustness/harness';

/** Each case: a frame, the error code it must get, and the id its answer carries (-1 when unreadable). */
describe('daemon answers hostile and out-of-order frames with structured errors', () => {
  let server: DaemonServer;
  let c: RawClient;
  let previousBackend = '';
  before(async () => {
    previousBackend = tf.getBackend();
    await tf.setBackend('cpu');
    ({ server } = await startTestServer());
    c = await RawClient.connect(`ws://127.0.0.1:${(server as unknown as { http: { address(): { port: number } } }).http.address().port}`);
  });
  after(async () => { await c.close(); await server.close(); if (previousBackend) await tf.setBackend(previousBackend); });

  async function expectError(frame: string | Buffer, code: number, id: number, re?: RegExp, binary = false): Promise<void> {
    const before = c.responses().length;
    c.send(frame, binary);
    await c.waitFor(() => c.responses().length > before, 10000, 'an answer');
    const r = c.responses()[before];
    assert.equal(r.id, id, JSON.stringify(r));
    assert.equal(r.error?.code, code, `${String(frame).slice(0, 80)} → ${JSON.stringify(r).slice(0, 300)}`);
    assert.equal(typeof r.error?.message, 'string');
    if (re) assert.match(r.error?.message ?? '', re);
  }

  it('malformed JSON, NaN/Infinity tokens, binary frames', async () => {
    await expectError('{not json', ErrorCode.ParseError, -1);
    await expectError('{"type":"request","id":3,"method":"daemon/submitJob","params":{"kind":"probe","params":{"steps":NaN}}}', ErrorCode.ParseError, -1, /NaN/);
    await expectError('{"type":"request","id":3,"method":"daemon/status","params":{"x":Infinity}}', ErrorCode.ParseError, -1);
    await expectError('{"type":"request","id":4,"method":"daemon/submitJob","params":{"kind":"probe","params":{"steps":1e400}}}', ErrorCode.InvalidParams, 4);
    await expectError('{"type":"request","id":5,"method":"daemon/submitJob","params":{"kind":"probe","params":{"steps":"NaN"}}}', ErrorCode.InvalidParams, 5);
    await expectError(Buffer.from('{"type":"request","id":6,"method":"daemon/status"}'), ErrorCode.InvalidRequest, -1, /binary/, true);
  });

  it('wrong envelopes: bad ids, missing method, extra keys, non-objects', async () => {
    await expectError('{"type":"request","id":"7","method":"daemon/status"}', ErrorCode.InvalidRequest, -1);
    await expectError('{"type":"request","id":1.5,"method":"daemon/status"}', ErrorCode.InvalidRequest, -1);
    await expectError('{"type":"request","id":-2,"method":"daemon/status"}', ErrorCode.InvalidRequest, -1);
    await expectError('{"type":"request","id":8}', ErrorCode.InvalidRequest, 8);
    await expectError('{"type":"request","id":9,"method":"daemon/status","extra":1}', ErrorCode.InvalidRequest, 9);
    await expectError('[1,2,3]', ErrorCode.InvalidRequest, -1);
    await expectError('null', ErrorCode.InvalidRequest, -1);
    await expectError('"daemon/status"', ErrorCode.InvalidRequest, -1);
  });

  it('unknown methods and wrongly typed params', async () => {
    await expectError('{"type":"request","id":10,"method":"daemon/rm -rf"}', ErrorCode.MethodNotFound, 10);
    await expectError('{"type":"request","id":11,"method":"toString"}', ErrorCode.MethodNotFound, 11);
    await expectError('{"type":"request","id":12,"method":"daemon/getJob","params":{"jobId":12}}', ErrorCode.InvalidParams, 12);
    await expectError('{"type":"request","id":13,"method":"daemon/status","params":[]}', ErrorCode.InvalidParams, 13);
    await expectError('{"type":"request","id":14,"method":"daemon/submitJob","params":{"kind":"probe","params":{"steps":2,"size":1e9}}}', ErrorCode.InvalidParams, 14);
  });

  it('out of order: response and notification frames, unsubscribe before subscribe, cancel of a finished job', async () => {
    await expectError('{"type":"response","id":15,"result":{}}', ErrorCode.InvalidRequest, 15, /only requests/);
    await expectError('{"type":"notification","method":"daemon/jobProgress","params":{}}', ErrorCode.InvalidRequest, -1, /only requests/);
    await expectError('{"type":"request","id":16,"method":"daemon/unsubscribe","params":{}}', ErrorCode.Conflict, 16, /not subscribed/);
    await expectError('{"type":"request","id":17,"method":"daemon/unsubscribe","params":{"jobId":"abc"}}', ErrorCode.Conflict, 17, /not subscribed to job "abc"/);
    const sub = await c.request(18, 'daemon/submitJob', { kind: 'probe', params: { steps: 1, size: 4 } });
    const jobId = (sub.result as { job: { id: string } }).job.id;
    await server.queue.idle();
    await expectError(`{"type":"request","id":19,"method":"daemon/cancelJob","params":{"jobId":"${jobId}"}}`, ErrorCode.Conflict, 19, /already finished \(succeeded\)/);
    assert.equal(server.queue.get(jobId).job.state, 'succeeded', 'state unchanged');
    await expectError('{"type":"request","id":20,"method":"daemon/subscribe","params":{"jobId":"nope"}}', ErrorCode.NotFound, 20);
  });

  it('__proto__ / constructor keys change nothing and are refused', async () => {
    const jobsBefore = server.queue.list().length;
    await expectError('{"type":"request","id":21,"method":"daemon/submitJob","params":{"kind":"probe","params":{"steps":1,"__proto__":{"polluted":true}}}}', ErrorCode.InvalidRequest, 21, /forbidden key "__proto__"/);
    await expectError('{"type":"request","id":22,"__proto__":{"isAdmin":true},"method":"daemon/status"}', ErrorCode.InvalidRequest, 22);
    await expectError('{"type":"request","id":23,"method":"daemon/status","params":{"constructor":{"prototype":{"polluted":1}}}}', ErrorCode.InvalidRequest, 23);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(({} as Record<string, unknown>).isAdmin, undefined);
    assert.equal(server.queue.list().length, jobsBefore, 'no job queued');
  });

  it('100k-deep nesting and huge arrays are refused without crashing', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    await expectError(`{"type":"request","id":24,"method":"daemon/status","params":${deep}}`, ErrorCode.InvalidRequest, 24, /nesting deeper/);
    await expectError(deep, ErrorCode.InvalidRequest, -1);
    const huge = `[${new Array(300_000).fill('0').join(',')}]`;
    await expectError(`{"type":"request","id":25,"method":"daemon/submitJob","params":{"kind":"probe","params":{"steps":${huge}}}}`, ErrorCode.InvalidParams, 25);
    const r = await c.request(26, 'daemon/status');
    assert.equal(r.error, undefined);
  });
});

describe('daemon survives a job whose result cannot be serialised', () => {
  it('the job still finishes, subscribers are not broken, the daemon answers', async () => {
    const { defineJobKind } = await import('../../../daemon/jobs/defineJobKind');
    const { Type } = await import('@sinclair/typebox');
    const cyclic = defineJobKind({
      kind: 'cyclic', summary: 'returns a cyclic result (test kind)', params: Type.Object({}, { additionalProperties: false }),
      label: () => 'cyclic', run: async () => { const o: Record<string, unknown> = {}; o.self = o; return o; },
    });
    const { server, url } = await startTestServer({ kinds: new Map([['cyclic', cyclic as never]]) });
    const c = await RawClient.connect(url);
    try {
      await c.request(1, 'daemon/subscribe', {});
      const r = await c.request(2, 'daemon/submitJob', { kind: 'cyclic', params: {} });
      assert.equal(r.error, undefined);
      await server.queue.idle();
      const id = (r.result as { job: { id: string } }).job.id;
      assert.equal(server.queue.get(id).job.state, 'succeeded');
      const got = await c.request(3, 'daemon/getJob', { jobId: id });
      assert.match(String((got.result as { job: { result: unknown } }).job.result), /result not serialisable/);
      assert.equal((await c.request(4, 'daemon/status')).error, undefined, 'status still answers with the job list');
      const states = c.notifications('daemon/jobState').map((n) => (n.params as { job: { state: string } }).job.state);
      assert.deepEqual(states, ['queued', 'running', 'succeeded'], 'subscribers got every state');
      assert.equal((await c.request(5, 'daemon/listJobKinds')).error, undefined, 'other requests answer');
    } finally {
      await c.close();
      await server.close();
    }
  });
});
