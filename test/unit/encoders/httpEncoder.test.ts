/**
 * The HTTP encoder against a local service (test/fixtures/embeddingServer.ts, a fake 16-d model): the
 * request/response mapping (one image or a batch, a pointer with "*"), credentials from the environment or
 * a handed-over secret (and the clear errors when unset, or in the config file), retries with backoff on
 * 503 / 429 (Retry-After) / a stalled request, a service that stays down (retries, then the breaker fails
 * fast), 401, malformed JSON and a wrong dimension (one bad answer, not the service), and the concurrency
 * and rate limits as the server sees them.
 */
import * as assert from 'node:assert/strict';
import { validateEncoderConfig, type EncoderConfig } from '../../../daemon/protocol/encoderConfig';
import { initEngine } from '../../../daemon/tfjs/backend';
import { tf } from '../../../daemon/tfjs/tf';
import { HttpEncoder, HttpEncoderError, pointerValues, secretEnvName } from '../../../daemon/encoders/httpEncoder';
import { EmbeddingServer, fakeEmbed, startEmbeddingServer } from '../../fixtures/embeddingServer';

function config(url: string, http: Record<string, unknown> = {}): EncoderConfig {
  return {
    id: 'fake-http', format: 'http', model: { http: { url, batch: 4, request: { body: { images: '$images' } }, response: { embedding: '/embeddings' }, retries: 3, backoffMs: 20, maxBackoffMs: 100, timeoutMs: 2000, concurrency: 2, ...http } },
    inputSize: 16, layout: 'NHWC', channelOrder: 'RGB', normalization: { mean: [0, 0, 0], std: [255, 255, 255] },
    alignment: { template: 'arcface-5pt', size: 112 }, embeddingDim: 16, l2Normalized: false,
    known: { architecture: false, weights: false, differentiable: false }, description: 'test service', license: 'none', source: 'test',
  } as EncoderConfig;
}

function faces(n: number): tf.Tensor4D {
  return tf.tidy(() => tf.randomUniform([n, 16, 16, 3], 0, 1, 'float32', 7) as tf.Tensor4D);
}

describe('HTTP encoder (local fake service)', function () {
  this.timeout(60_000);
  let server: EmbeddingServer;
  // The engine every unit test shares (no backend switch: later tests expect the one initEngine chose).
  before(async () => { await initEngine({ backend: 'wasm' }); });
  afterEach(async () => { await server?.close(); });

  it('validates its config: credentials never in the file, placeholders present, auth names one source', () => {
    const c = config('http://127.0.0.1:1/x');
    assert.deepEqual(validateEncoderConfig(c, 'c'), []);
    const bad = (http: Record<string, unknown>) => validateEncoderConfig(config('http://127.0.0.1:1/x', http), 'c').map((p) => p.reason).join('; ');
    assert.match(bad({ headers: { Authorization: 'Bearer abc' } }), /looks like a credential/);
    assert.match(bad({ headers: { 'X-Api-Key': 'abc' } }), /looks like a credential/);
    assert.match(bad({ url: 'http://user:pw@127.0.0.1:1/x' }), /user name or password/);
    assert.match(bad({ auth: { env: 'A', secret: 'b' } }), /neither or both/);
    assert.match(bad({ request: { body: { picture: '$image' } } }), /no "\$images" placeholder/);
    assert.match(validateEncoderConfig({ ...c, known: { architecture: true, weights: true, differentiable: true } }, 'c').map((p) => p.reason).join(), /query-only service/);
  });

  it('reads JSON pointers with "*" steps', () => {
    const doc = { data: [{ embedding: [1, 2] }, { embedding: [3, 4] }], one: { v: [5] } };
    assert.deepEqual(pointerValues(doc, '/data/*/embedding'), [[1, 2], [3, 4]]);
    assert.deepEqual(pointerValues(doc, '/one/v'), [[5]]);
    assert.deepEqual(pointerValues(doc, '/missing'), []);
  });

  it('embeds batches and single images as the mapping says, L2-normalised, the same either way', async () => {
    server = await startEmbeddingServer(fakeEmbed);
    const x = faces(7);
    const batched = await HttpEncoder.load(config(server.url));
    const a = await batched.embed(x);
    assert.equal(a.length, 7);
    assert.equal(server.log.images, 1 + 7, 'the load probe plus 7 faces');
    assert.equal(server.log.requests, 1 + 2, 'batch 4: two requests for 7 faces');
    const single = await HttpEncoder.load(config(server.url, { batch: 1, request: { body: { image: '$image' } }, response: { embedding: '/embedding' } }));
    const b = await single.embed(x);
    a.forEach((r, i) => {
      assert.ok(Math.abs(Math.hypot(...r) - 1) < 1e-5);
      r.forEach((v, k) => assert.ok(Math.abs(v - b[i][k]) < 1e-6));
    });
    assert.equal(batched.stats.imagesAnswered, 8);
    x.dispose();
  });

  it('takes the credential from the environment or a handed-over secret; unset is a clear error before any request', async () => {
    server = await startEmbeddingServer(fakeEmbed, { token: 's3cret' });
    const viaEnv = config(server.url, { auth: { header: 'Authorization', prefix: 'Bearer ', env: 'FACEINV_TEST_TOKEN' } });
    await assert.rejects(HttpEncoder.load(viaEnv, { env: {} }), /FACEINV_TEST_TOKEN, which is not set in the daemon's environment/);
    assert.equal(server.log.requests, 0);
    const e1 = await HttpEncoder.load(viaEnv, { env: { FACEINV_TEST_TOKEN: 's3cret' } });
    assert.equal((await e1.embed(faces(1))).length, 1);
    const viaSecret = config(server.url, { auth: { prefix: 'Bearer ', secret: 'svc-token' } });
    await assert.rejects(HttpEncoder.load(viaSecret, { env: {} }), (err: Error) => err.message.includes('secret "svc-token", which was not handed to the daemon') && err.message.includes(secretEnvName('svc-token')));
    await HttpEncoder.load(viaSecret, { secrets: { 'svc-token': 's3cret' } });
    await HttpEncoder.load(viaSecret, { env: { [secretEnvName('svc-token')]: 's3cret' } });
    assert.ok(server.log.auth.every((h) => h === 'Bearer s3cret'), 'every request carried the credential');
    // A wrong credential: 401 is the service refusing, at once, no retries.
    await assert.rejects(HttpEncoder.load(viaEnv, { env: { FACEINV_TEST_TOKEN: 'wrong' } }), (err: HttpEncoderError) => err.kind === 'auth' && err.serviceLevel && /HTTP 401: the service refused the credentials from environment variable FACEINV_TEST_TOKEN/.test(err.message));
  });

  it('retries 503, 429 with Retry-After and a stalled request, and answers as if nothing happened', async () => {
    const script = new Map<number, Parameters<EmbeddingServer['setFaults']>[0] extends (n: number) => infer F ? F : never>([
      [1, { status: 503 }], [2, { status: 429, retryAfter: 0 }], [3, { stall: true }], [5, { status: 502 }],
    ]);
    server = await startEmbeddingServer(fakeEmbed, { faults: (n) => script.get(n) });
    const enc = await HttpEncoder.load(config(server.url, { timeoutMs: 300, concurrency: 1 }));
    const x = faces(8);
    const got = await enc.embed(x);
    server.setFaults(() => undefined);
    const again = await enc.embed(x);
    got.forEach((r, i) => r.forEach((v, k) => assert.equal(v, again[i][k])));
    assert.ok(enc.stats.retries >= 4, `retries ${enc.stats.retries}`);
    assert.equal(enc.stats.byStatus.timeout, 1);
    assert.equal(enc.stats.serviceFailures, 0);
    x.dispose();
  });

  it('a service that stays down: retries with backoff, then a service-level error; the breaker then fails fast', async () => {
    server = await startEmbeddingServer(fakeEmbed);
    const enc = await HttpEncoder.load(config(server.url, { retries: 2, backoffMs: 30, maxBackoffMs: 60 }), { breakAfter: 2, cooldownMs: 60_000 });
    server.setFaults(() => ({ status: 500 }));
    const x = faces(1);
    const t0 = Date.now();
    await assert.rejects(enc.embed(x), (err: HttpEncoderError) => err.kind === 'unavailable' && err.serviceLevel && /HTTP 500 .* after 2 retries/.test(err.message));
    assert.ok(Date.now() - t0 >= 30, 'it backed off between tries');
    await assert.rejects(enc.embed(x), /after 2 retries/);
    const before = server.log.requests;
    await assert.rejects(enc.embed(x), /taken as down after 2 failed requests in a row/);
    assert.equal(server.log.requests, before, 'the open breaker sends nothing');
    assert.equal(enc.stats.serviceFailures, 3);
    assert.ok(enc.serviceProblem);
    x.dispose();
  });

  it('malformed JSON and a wrong dimension fail that request only (not the service)', async () => {
    server = await startEmbeddingServer(fakeEmbed);
    const enc = await HttpEncoder.load(config(server.url));
    const x = faces(2);
    server.setFaults((n) => (n === 1 ? { malformed: true } : n === 2 ? { wrongDim: true } : undefined));
    await assert.rejects(enc.embed(x), (err: HttpEncoderError) => err.kind === 'bad-response' && !err.serviceLevel && /not JSON/.test(err.message));
    await assert.rejects(enc.embed(x), (err: HttpEncoderError) => err.kind === 'bad-response' && /has 15 values, the config's embeddingDim is 16/.test(err.message));
    assert.equal((await enc.embed(x)).length, 2);
    assert.equal(enc.stats.serviceFailures, 0);
    assert.equal(enc.serviceProblem, undefined);
    x.dispose();
  });

  it('keeps to the concurrency and rate limits', async () => {
    server = await startEmbeddingServer(async (c, s) => { await new Promise((r) => setTimeout(r, 30)); return fakeEmbed(c, s); });
    const enc = await HttpEncoder.load(config(server.url, { batch: 1, request: { body: { image: '$image' } }, response: { embedding: '/embedding' }, concurrency: 3 }));
    const x = faces(12);
    await enc.embed(x);
    assert.ok(server.log.maxInFlight <= 3 && server.log.maxInFlight >= 2, `max in flight ${server.log.maxInFlight}`);
    const rated = await HttpEncoder.load(config(server.url, { batch: 1, request: { body: { image: '$image' } }, response: { embedding: '/embedding' }, concurrency: 8, ratePerSecond: 40 }));
    const from = server.log.starts.length;
    await rated.embed(x);
    const starts = server.log.starts.slice(from);
    const span = starts[starts.length - 1] - starts[0];
    assert.ok(span >= (starts.length - 1) * 25 * 0.9 - 5, `12 requests at 40/s take ≥ ~275 ms, took ${span}`);
    x.dispose();
  });
});
