/**
 * The verification service (`faceinv serve-verifier`, daemon/server/verifierService.ts) and its client
 * (daemon/encoders/verifierClient.ts) over loopback, with a stand-in embedder so every case is quick: scores,
 * rounding, decisions; the API key; a per-subject attempt limit (423: that subject marked, the others go on);
 * an unknown subject; the service's rate limit (429 with Retry-After) and 5xx answered by backoff; a service
 * answering non-numeric or out-of-range scores, or changing its threshold mid-audit; the service's own count.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { startVerifierService, type VerifierService } from '../../../daemon/server/verifierService';
import { VerifierClient, VerifierServiceError } from '../../../daemon/encoders/verifierClient';
import { SubjectOracleError } from '../../../daemon/protocol/verifierApi';
import { recoverFromScores, serviceScoreOracle } from '../../../daemon/attack/oracle/scoreOracle';
import { designProbes, fitTemplatePrior } from '../../../daemon/attack/oracle/scoreRecovery';
import { parseArgs } from '../../../daemon/cli/args';
import { serveVerifierOptions } from '../../../daemon/cli/commands/serveVerifier';
import { UsageError } from '../../../daemon/cli/command';
import { colourCrop, colourEmbed, pngBase64 } from './standIn';

const S = 8, D = 4;
const embed = colourEmbed;
const crop = (r: number, g: number, b: number) => colourCrop(S, r, g, b);
const png = (c: Uint8Array) => pngBase64(S, c);

describe('oracle: the verification service and its client over loopback', function () {
  this.timeout(60_000);
  const services: VerifierService[] = [];
  let tmp: string;
  const enrolled = new Map<string, Float32Array>();
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-verifier-'));
    enrolled.set('alice', await embed(crop(200, 40, 40)));
    enrolled.set('bob', await embed(crop(40, 200, 90)));
  });
  after(async () => { for (const s of services) await s.close(); fs.rmSync(tmp, { recursive: true, force: true }); });
  const start = async (o: Partial<Parameters<typeof startVerifierService>[0]> = {}) => {
    const s = await startVerifierService({ embed, size: S, enrolled, answer: 'score', ...o });
    services.push(s);
    return s;
  };

  it('answers the cosine, rounded when asked, counts and logs every query, and a decision service answers accept with its threshold', async () => {
    const log = path.join(tmp, 'q.jsonl');
    const s = await start({ decimals: 2, logFile: log });
    const c = new VerifierClient({ url: s.url });
    const img = await png(crop(190, 50, 40));
    const exact = (await embed(crop(190, 50, 40))).reduce((a, x, i) => a + x * enrolled.get('alice')![i], 0);
    const got = await c.score('alice', img);
    assert.equal(got, Number(exact.toFixed(2)));
    await c.score('bob', img);
    assert.deepEqual(s.stats().queries, { alice: 1, bob: 1 });
    assert.equal(fs.readFileSync(log, 'utf8').trim().split('\n').length, 2);
    const d = await start({ answer: 'decision', threshold: 0.9 });
    const dc = new VerifierClient({ url: d.url });
    assert.equal(await dc.decide('alice', img), true);
    assert.equal(await dc.decide('bob', img), false);
    await assert.rejects(dc.score('alice', img), (e: unknown) => e instanceof SubjectOracleError && /without a score/.test(e.message));
  });

  it('an API key: refused without it (a service-level error), answered with it from the named variable', async () => {
    const s = await start({ apiKey: 'k-123' });
    await assert.rejects(new VerifierClient({ url: s.url, retries: 0 }).score('alice', await png(crop(1, 2, 3))), (e: unknown) => e instanceof VerifierServiceError && e.status === 401);
    const c = new VerifierClient({ url: s.url, auth: { header: 'x-api-key', env: 'VERIFIER_KEY' } }, { env: { VERIFIER_KEY: 'k-123' } });
    assert.ok(Number.isFinite(await c.score('alice', await png(crop(1, 2, 3)))));
    assert.throws(() => new VerifierClient({ url: s.url, auth: { header: 'x-api-key', env: 'UNSET_VERIFIER_KEY' } }, { env: {} }), /UNSET_VERIFIER_KEY.*not set/);
  });

  it('a lock-out and an unknown subject mark that subject only (a lock-out keeps the answers before it); the others are recovered', async () => {
    const s = await start({ attemptLimit: 3 });
    const c = new VerifierClient({ url: s.url });
    const crops = new Uint8Array(6 * S * S * 3);
    [[200, 30, 30], [30, 200, 30], [30, 30, 200], [120, 120, 30], [30, 120, 120], [220, 220, 220]].forEach((rgb, k) => crops.set(crop(rgb[0], rgb[1], rgb[2]), k * S * S * 3));
    const embs = new Float32Array(6 * D);
    for (let k = 0; k < 6; k++) embs.set(await embed(crops.subarray(k * S * S * 3, (k + 1) * S * S * 3)), k * D);
    const oracle = serviceScoreOracle(c, crops, S);
    const design = designProbes(fitTemplatePrior(embs, 6, D), embs, 6, 3, 1e-6);
    await oracle.scores('bob', [0, 1]); // bob spends 2 of his 3 attempts
    const rec = await recoverFromScores(design, oracle, ['bob', 'carol', 'alice']);
    assert.match(rec[0].error ?? '', /^locked-out: subject "bob"/);
    assert.ok(rec[0].template && rec[0].queries === 1, 'the answer bob got before the lock-out still counts');
    assert.match(rec[1].error ?? '', /^unknown-subject: subject "carol"/);
    assert.ok(rec[2].template && !rec[2].error, 'alice goes on');
    assert.deepEqual(s.stats().lockedOut, ['bob']);
    assert.equal(s.stats().queries.alice, 3);
  });

  it('the service\'s rate limit (429, Retry-After) and 5xx are waited out; a service that stays down is a service-level error', async () => {
    const s = await start({ ratePerSecond: 2 });
    const c = new VerifierClient({ url: s.url, backoffMs: 50, maxBackoffMs: 1500, retries: 6 });
    const img = await png(crop(100, 100, 100));
    for (let k = 0; k < 5; k++) await c.score('alice', img);
    assert.ok((c.stats.byStatus['429'] ?? 0) >= 1 && c.stats.retries >= 1, JSON.stringify(c.stats));
    let calls = 0;
    const flaky = await fake((res) => (++calls <= 2 ? [503, { error: 'x', message: 'busy' }] : [200, { subject: 'alice', score: 0.5 }]));
    assert.equal(await new VerifierClient({ url: flaky.url, backoffMs: 10, retries: 3 }).score('alice', img), 0.5);
    const down = await fake(() => [502, { message: 'down' }]);
    await assert.rejects(new VerifierClient({ url: down.url, backoffMs: 5, retries: 2 }).score('alice', img), (e: unknown) => e instanceof VerifierServiceError && /unavailable after 2 retries/.test(e.message));
  });

  it('non-numeric and out-of-range scores, and a threshold changed mid-audit, are per-subject errors', async () => {
    const img = await png(crop(100, 100, 100));
    const answers: unknown[] = ['0.5', 1.7, null];
    const bad = await fake(() => [200, { subject: 'alice', score: answers.shift() }]);
    const c = new VerifierClient({ url: bad.url });
    for (const re of [/"0.5" is not a finite number/, /1.7 is outside \[-1, 1\]/, /null is not a finite number/]) {
      await assert.rejects(c.score('alice', img), (e: unknown) => e instanceof SubjectOracleError && e.code === 'bad-score' && re.test(e.message));
    }
    let th = 0.4;
    const moving = await fake(() => { th += 0.1; return [200, { subject: 'alice', accept: true, threshold: th }]; });
    const m = new VerifierClient({ url: moving.url });
    await m.decide('alice', img);
    await assert.rejects(m.decide('alice', img), (e: unknown) => e instanceof SubjectOracleError && e.code === 'threshold-changed');
  });

  it('serve-verifier\'s options: one store, a threshold for decisions, a set API key variable', () => {
    const o = (args: string[], env: NodeJS.ProcessEnv = {}) => serveVerifierOptions(parseArgs(args, { values: ['templates', 'enrol', 'answer', 'threshold', 'decimals', 'attempts', 'api-key-env', 'port', 'memo'] }), env);
    assert.throws(() => o([]), UsageError);
    assert.throws(() => o(['--templates', 'a.npy', '--enrol', 'dir']), /exactly one/);
    assert.throws(() => o(['--templates', 'a.npy', '--answer', 'decision']), /needs --threshold/);
    assert.throws(() => o(['--templates', 'a.npy', '--api-key-env', 'K']), /K, which is not set/);
    const ok = o(['--templates', 'a.npy', '--decimals', '2', '--attempts', '200', '--api-key-env', 'K', '--port', '0'], { K: 'v' });
    assert.deepEqual([ok.decimals, ok.attempts, ok.apiKey, ok.port, ok.answer, ok.memo], [2, 200, 'v', 0, 'score', 20_000]);
    assert.equal(o(['--templates', 'a.npy', '--memo', '0']).memo, 0);
    assert.throws(() => o(['--templates', 'a.npy', '--memo', '-1']), /--memo must be an integer ≥ 0/);
  });

  it('the memo: an image submitted again is not re-embedded, yet every query is counted, logged and noised; the least recently used image goes first', async () => {
    let runs = 0;
    const counted = async (p: Uint8Array) => { runs++; return embed(p); };
    const log = path.join(tmp, 'memo.jsonl');
    const [a, b] = [await png(crop(120, 120, 30)), await png(crop(30, 120, 120))];
    const s = await start({ embed: counted, memo: 1, noise: 0.01, seed: 3, logFile: log });
    const c = new VerifierClient({ url: s.url });
    const first = [await c.score('alice', a), await c.score('alice', a)];
    assert.equal(runs, 1, 'the same bytes twice: one encoder run');
    assert.notEqual(first[0], first[1], 'noise is drawn per query, memo or not');
    await c.score('alice', b);
    await c.score('alice', a);
    assert.equal(runs, 3, 'a memo of one image: b pushed a out');
    assert.deepEqual([s.stats().total, s.stats().embedded], [4, 3]);
    assert.equal(fs.readFileSync(log, 'utf8').trim().split('\n').length, 4);
    await assert.rejects(c.score('alice', 'bm90IGFuIGltYWdl'), (e: unknown) => e instanceof VerifierServiceError || e instanceof SubjectOracleError);
    runs = 0;
    const off = await start({ embed: counted, memo: 0 });
    const oc = new VerifierClient({ url: off.url });
    await oc.score('alice', a);
    await oc.score('alice', a);
    assert.equal(runs, 2, 'memo 0: the encoder on every query');
  });

  /** A loopback server answering whatever `answer` says (status, JSON body). */
  async function fake(answer: (res: http.ServerResponse) => [number, unknown]): Promise<VerifierService> {
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => { const [st, body] = answer(res); res.writeHead(st, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const s: VerifierService = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, stats: () => ({ queries: {}, total: 0, lockedOut: [] }), close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
    services.push(s);
    return s;
  }
});
