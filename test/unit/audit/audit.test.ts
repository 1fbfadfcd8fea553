/**
 * `faceinv audit` end to end on a tiny LFW audit (test/fixtures/auditWorkspace.ts: 7 reference people, the
 * templates of 3 others): through the ONNX encoder directly (report files, both protocols, the lookalike,
 * transfer to faceapi-resnet128); through a local HTTP front of the same ONNX model — the same figures —
 * also when the service fails, stalls and rate-limits mid-audit; a service that goes down pauses the audit
 * after its last whole chunk, and a rerun continues to the same figures; queries stay within the budget;
 * bad rows are flagged while the rest go on; an unset secret and a store of another system are clear
 * errors; a stopped audit resumes, and a resumed audit refuses another config; a BioHashed store with its
 * stolen master key is audited like any other. Skips without LFW.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { npyBytes } from '../../../daemon/audit/templateStore';
import { AuditReportSchema, type AuditReport } from '../../../daemon/audit/reportSchema';
import { runAudit, type AuditOutcome } from '../../../daemon/audit/run';
import { command as auditCommand } from '../../../daemon/cli/commands/audit';
import { UsageError } from '../../../daemon/cli/command';
import { initEngine } from '../../../daemon/tfjs/backend';
import { lfwAvailable } from '../../fixtures/tinyWorkspace';
import { auditContext as ctxFor, makeAuditWorkspace, type AuditWorkspace } from '../../fixtures/auditWorkspace';
import { writeProtectedStore } from '../../fixtures/protectedStore';
import { onnxEmbed, startEmbeddingServer, type EmbeddingServer, type Fault } from '../../fixtures/embeddingServer';

/** The figures a reviewer reads: per encoder, protocol and FMR, accepted reconstructions and lookalikes. */
function figures(r: AuditReport): string[] {
  return r.verdicts.flatMap((v) => v.points.map((p) => `${v.encoderId}/${v.protocol}@${p.fmr}: ${p.attack.successes}/${p.attack.trials} vs ${p.baseline.successes}/${p.baseline.trials}`));
}

function chunkResults(o: AuditOutcome) {
  const dir = path.join(o.auditDir, 'chunks');
  return fs.readdirSync(dir).sort().flatMap((f) => (JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { results: { row: number; attack?: { direct: { cosine: number | null }; redetect: { cosine: number | null } } }[] }).results);
}

describe('audit: faceinv audit command line', () => {
  it('names missing or bad flags before doing anything', async () => {
    await assert.rejects(auditCommand.run([]), (e: Error) => e instanceof UsageError && /--encoder and --templates/.test(e.message));
    await assert.rejects(auditCommand.run(['--encoder', 'x', '--templates', 'y.npy', '--budget', '0']), /--budget must be a whole number of queries ≥ 1/);
    await assert.rejects(auditCommand.run(['--encoder', 'x', '--templates', 'y.npy', '--transfer', 'faceapi-resnet128']), /ENCODER=FILE/);
    await assert.rejects(auditCommand.run(['--encoder', 'x', '--templates', 'y.npy', '--operating-points', '2']), /false match rate in \(0, 1\)/);
  });
});

describe('audit: end to end on tiny LFW', function () {
  this.timeout(600_000);
  let aw: AuditWorkspace;
  let onnx: Awaited<ReturnType<typeof onnxEmbed>>;
  let server: EmbeddingServer | undefined;
  let direct: AuditOutcome;
  let viaHttp: AuditOutcome;

  before(async function () {
    if (!lfwAvailable()) {
      console.log('      (skipped: LFW not found at ../shared/data/lfw)');
      this.skip();
    }
    await initEngine({ backend: 'wasm' });
    aw = await makeAuditWorkspace({ transfer: true });
    onnx = await onnxEmbed();
  });
  after(async () => {
    await server?.close();
    onnx?.dispose();
    aw?.cleanup();
  });

  it('through the ONNX encoder: verdicts under both protocols beside the lookalike, transfer, report files', async () => {
    const logs: string[] = [];
    direct = await runAudit(aw.config({ transfer: [{ encoder: 'faceapi-resnet128', templates: 'store-faceapi.json' }], templates: 'store.json' }), ctxFor(aw.dir, logs), { cacheDir: aw.cacheDir, workers: 0 });
    const r = direct.report;
    assert.equal(direct.state, 'finished');
    assert.ok(Value.Check(AuditReportSchema, r), JSON.stringify([...Value.Errors(AuditReportSchema, r)].slice(0, 3)));
    assert.equal(r.templates.audited, aw.ids.length);
    assert.deepEqual(r.verdicts.map((v) => `${v.encoderId}/${v.protocol}/${v.transfer}`),
      ['arcface512-faceplugin/redetect/false', 'arcface512-faceplugin/direct/false', 'faceapi-resnet128/redetect/true', 'faceapi-resnet128/direct/true']);
    const main = r.verdicts[0];
    assert.equal(main.templates, aw.ids.length);
    assert.equal(main.points[0].attainable, true);
    assert.equal(main.points[1].attainable, false, 'the 42-photo reference set cannot measure FMR 1e-3');
    assert.match(main.points[1].sentence, /not measurable/);
    assert.ok(logs.some((l) => /too small for FMR 0\.001/.test(l)), 'the log says so too');
    assert.deepEqual(r.unattainable.map((u) => [u.encoderId, u.fmr]), [['arcface512-faceplugin', 1e-3], ['faceapi-resnet128', 1e-3]]);
    assert.ok(r.notes.some((n) => /FMR 1e-3 is not measurable/.test(n)));
    assert.ok(main.meanCosine !== null && main.meanCosine > 0.1, `reconstructions resemble their templates (${main.meanCosine})`);
    assert.ok(r.cost.queriesPerTemplate !== null && r.cost.queriesPerTemplate <= 10 && (r.cost.maxQueriesPerTemplate ?? 99) <= 10, 'within the budget');
    assert.equal(r.distribution.histograms.length, 6);
    assert.equal(r.transferDistributions[0].encoderId, 'faceapi-resnet128');
    assert.equal(r.grid.length, 8, 'keepImages 8');
    const html = fs.readFileSync(direct.files.html, 'utf8');
    assert.match(html, /<svg[^>]+class="distribution"/);
    assert.ok(!/(src|href)="(https?:)?\/\//.test(html), 'nothing external');
    assert.equal((html.match(/src="data:image\/png;base64,/g) ?? []).length, 16, '8 reconstructions + 8 lookalikes, embedded');
    const csv = fs.readFileSync(direct.files.csv, 'utf8').trim().split('\n');
    assert.equal(csv.length, 1 + aw.ids.length);
    assert.equal(r.reproduce.seed, 0);
    assert.match(r.encoder.hash, /^[0-9a-f]{64}$/);
  });

  it('through a local HTTP front of the same ONNX encoder: the same figures, queries within the budget', async () => {
    server = await startEmbeddingServer(onnx.embed);
    aw.httpEncoder(server.url); // the workspace's own encoder config
    viaHttp = await runAudit(aw.config({ encoder: 'arcface512-http', outDir: 'audits/http' }), ctxFor(aw.dir), { cacheDir: aw.cacheDir, workers: 0 });
    const plain = await runAudit(aw.config({ outDir: 'audits/plain' }), ctxFor(aw.dir), { cacheDir: aw.cacheDir, workers: 0 });
    assert.deepEqual(figures(viaHttp.report).map((f) => f.replace('arcface512-http', 'X')), figures(plain.report).map((f) => f.replace('arcface512-faceplugin', 'X')));
    const a = chunkResults(viaHttp), b = chunkResults(plain);
    let maxDiff = 0;
    a.forEach((x, i) => {
      for (const p of ['direct', 'redetect'] as const) {
        const u = x.attack?.[p].cosine, v = b[i].attack?.[p].cosine;
        assert.equal(u === null, v === null);
        if (typeof u === 'number' && typeof v === 'number') maxDiff = Math.max(maxDiff, Math.abs(u - v));
      }
    });
    assert.ok(maxDiff < 1e-4, `per-template cosines agree (max difference ${maxDiff})`);
    const m = aw.ids.length;
    const budget = 10;
    const reference = 42;
    // What the service saw: the load probe, the reference photos, at most the budget per template, the scoring.
    assert.ok(server.log.images <= 1 + reference + m * budget + viaHttp.report.cost.scoringQueries, `service saw ${server.log.images} images`);
    assert.ok(server.log.maxInFlight <= 2, 'concurrency 2');
    console.log(`      HTTP vs ONNX: ${figures(viaHttp.report).length} figures equal; largest per-template cosine difference ${maxDiff.toExponential(1)}; the service answered ${server.log.images} images in ${server.log.requests} requests`);
  });

  it('a service that fails, stalls and rate-limits mid-audit: retries keep every figure', async () => {
    const script: Record<number, Fault> = { 3: { status: 503 }, 4: { status: 429, retryAfter: 0 }, 6: { stall: true }, 9: { status: 502 }, 12: { status: 429, retryAfter: 0 } };
    const base = (server as EmbeddingServer).log.requests;
    (server as EmbeddingServer).setFaults((n) => script[n - base]);
    aw.httpEncoder((server as EmbeddingServer).url, { timeoutMs: 1500 }); // the workspace's own encoder config
    const flaky = await runAudit(aw.config({ encoder: 'arcface512-http', outDir: 'audits/flaky' }), ctxFor(aw.dir), { cacheDir: aw.cacheDir, workers: 0 });
    (server as EmbeddingServer).setFaults(() => undefined);
    assert.equal(flaky.state, 'finished');
    assert.deepEqual(figures(flaky.report), figures(viaHttp.report));
    const stats = (flaky.report.cost.http as Record<string, { retries: number; byStatus: Record<string, number> }>)['arcface512-http'];
    assert.ok(stats.retries >= 5, `retried (${stats.retries})`);
    assert.equal(stats.byStatus.timeout, 1, 'the stalled request timed out and was retried');
  });

  it('a service that goes down pauses the audit after its last whole chunk; a rerun continues to the same figures', async () => {
    const s = server as EmbeddingServer;
    aw.httpEncoder(s.url, { retries: 1, backoffMs: 10, maxBackoffMs: 20 }); // the workspace's own encoder config
    const config = aw.config({ encoder: 'arcface512-http', outDir: 'audits/down' });
    // Healthy for the probe, the reference (cached already) and the first chunk; then down for good.
    const start = s.log.requests;
    let downFrom = Infinity;
    s.setFaults((n) => (n >= downFrom ? { status: 503 } : undefined));
    const logs: string[] = [];
    const ctx = ctxFor(aw.dir, logs);
    const first = runAudit(config, { ...ctx, progress: (_s, _t, _m, msg) => { if (/chunk 1 of 3 done/.test(msg ?? '')) downFrom = s.log.requests; } }, { cacheDir: aw.cacheDir, workers: 0 });
    const paused = await first;
    assert.ok(s.log.requests > start);
    assert.equal(paused.state, 'paused');
    assert.match(paused.stopReason ?? '', /paused at chunk 2 of 3: encoder arcface512-http failed as a service \(.*HTTP 503/);
    assert.equal(paused.report.state, 'partial');
    assert.equal(paused.report.chunks.done, 1);
    assert.equal(fs.readdirSync(path.join(paused.auditDir, 'chunks')).length, 1, 'the chunk that met the failure is not written');
    assert.equal(JSON.parse(fs.readFileSync(path.join(paused.auditDir, 'audit.json'), 'utf8')).state, 'paused');
    s.setFaults(() => undefined);
    const resumed = await runAudit(config, ctxFor(aw.dir, logs), { cacheDir: aw.cacheDir, workers: 0 });
    assert.equal(resumed.state, 'finished');
    assert.ok(logs.some((l) => /1 of 3 chunks already done; 2 to go/.test(l)));
    assert.deepEqual(figures(resumed.report), figures(viaHttp.report));
  });

  it('continue-on-error: a dead service fails the templates it touches, clearly, and the audit goes on', async () => {
    const s = server as EmbeddingServer;
    aw.httpEncoder(s.url, { retries: 0, backoffMs: 0, maxBackoffMs: 0 }); // the workspace's own encoder config
    s.setFaults(() => undefined);
    const loadOnly = s.log.requests;
    s.setFaults((n) => (n > loadOnly ? { status: 500 } : undefined));
    const out = await runAudit(aw.config({ encoder: 'arcface512-http', outDir: 'audits/continue', onEncoderError: 'continue' }), ctxFor(aw.dir), { cacheDir: aw.cacheDir, workers: 0 });
    s.setFaults(() => undefined);
    assert.equal(out.state, 'finished');
    const v = out.report.verdicts[0];
    assert.equal(v.points[0].attack.successes, 0, 'nothing scored is an acceptance');
    assert.equal(v.points[0].attack.trials, aw.ids.length, 'failures stay in the denominator');
    assert.ok(Object.keys(v.failures).some((k) => /embed-failed/.test(k)), JSON.stringify(v.failures));
    assert.ok(out.report.templates.failed > 0 && /search stopped early/.test(Object.keys(out.report.templates.failures)[0]));
  });

  it('an HTTP encoder whose secret is not set: a clear error, and the audit folder says why', async () => {
    aw.httpEncoder('http://127.0.0.1:9/none', { auth: { prefix: 'Bearer ', secret: 'face-service' } }); // the workspace's own encoder config
    const config = aw.config({ encoder: 'arcface512-http', outDir: 'audits/nosecret' });
    await assert.rejects(runAudit(config, ctxFor(aw.dir), { cacheDir: aw.cacheDir, workers: 0 }), /secret "face-service", which was not handed to the daemon/);
    const m = JSON.parse(fs.readFileSync(path.join(aw.dir, 'audits', 'nosecret', 'audit.json'), 'utf8')) as { state: string; error: string };
    assert.equal(m.state, 'failed');
    assert.match(m.error, /face-service/);
  });

  it('bad rows are flagged and skipped while the rest go on; a store of another system is refused', async () => {
    const rows = aw.rows.slice(0, 5).map((r) => Array.from(r));
    rows[1] = rows[1].map(() => NaN);
    rows[2] = rows[2].map(() => 0);
    rows[3] = rows[3].map((v) => 3 * v);
    fs.writeFileSync(path.join(aw.dir, 'bad.npy'), npyBytes(rows, 512));
    const out = await runAudit(aw.config({ templates: 'bad.npy', outDir: 'audits/bad' }), ctxFor(aw.dir), { cacheDir: aw.cacheDir, workers: 0 });
    const t = out.report.templates;
    assert.deepEqual([t.rows, t.audited, t.unnormalised], [5, 3, 1]);
    assert.deepEqual(t.skipped, { 'not-finite': 1, zero: 1 });
    assert.equal(out.report.verdicts[0].templates, 3);
    const csv = fs.readFileSync(out.files.csv, 'utf8');
    assert.match(csv, /\n1,1,skipped,.*not-finite: value 0 is NaN/);
    assert.match(csv, /L2 norm 3\.000: normalised before use/);
    fs.writeFileSync(path.join(aw.dir, 'other.npy'), npyBytes([new Array(128).fill(0.1)], 128));
    await assert.rejects(runAudit(aw.config({ templates: 'other.npy', outDir: 'audits/other' }), ctxFor(aw.dir), { cacheDir: aw.cacheDir }), /dimension 128, but encoder "arcface512-faceplugin" makes 512-d templates/);
  });

  it('a BioHashed store with the stolen master key: every template recovered and audited, the method says how', async () => {
    writeProtectedStore(aw.dir, aw.rows, aw.ids, 'biohash');
    const logs: string[] = [];
    const out = await runAudit(aw.config({ templates: 'protected.json', protection: { config: 'p.faceinv-protect.json', scheme: 'biohash', keys: 'keys.json' }, outDir: 'audits/protected' }),
      ctxFor(aw.dir, logs), { cacheDir: aw.cacheDir, workers: 0 });
    assert.equal(out.state, 'finished');
    assert.equal(out.report.templates.audited, aw.ids.length);
    assert.match(out.report.method, /BioHashing \(256 bits\) templates first inverted with the stolen keys \(master key seed, generation 0; 100 steps/);
    assert.ok(logs.some((l) => /protected templates inverted with their keys/.test(l)), logs.join('\n'));
    assert.ok(fs.existsSync(out.files.html));
  });

  it('a stopped audit resumes with its next chunk to the uninterrupted figures; a resumed audit refuses another config', async () => {
    const config = aw.config({ outDir: 'audits/resume' });
    const stopped = await runAudit(config, ctxFor(aw.dir), { cacheDir: aw.cacheDir, workers: 0, maxChunks: 1 });
    assert.equal(stopped.state, 'stopped');
    assert.equal(stopped.report.chunks.done, 1);
    await assert.rejects(runAudit({ ...config, budget: 12 }, ctxFor(aw.dir), { cacheDir: aw.cacheDir }), /was audited with another config \(changed: budget\)/);
    const done = await runAudit(config, ctxFor(aw.dir), { cacheDir: aw.cacheDir, workers: 0 });
    assert.equal(done.state, 'finished');
    const plain = JSON.parse(fs.readFileSync(path.join(aw.dir, 'audits', 'plain', 'report.json'), 'utf8')) as AuditReport;
    assert.deepEqual(figures(done.report), figures(plain));
  });
});
