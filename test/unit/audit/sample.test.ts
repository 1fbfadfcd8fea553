/**
 * Issue 24, sampling with stated confidence: a seeded sample's rows depend on the store's size, the sample's
 * size and the seed only; the templates a ±margin needs (Cochran, with the finite-population correction); the
 * default sample of a large store answers within the hour at the prior cost and is said plainly; a sample larger
 * than the store names both numbers; a folder audited whole is not continued by a sample (or back); a sampled audit of a tiny LFW store reports the original rows, the interval
 * and the N for the margin.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { claimAuditFolder } from '../../../daemon/audit/chunks';
import { chooseSample, DEFAULT_SAMPLE_SECONDS, priorSecondsPerTemplate, sampledStore, sampleRows, sampleSentence, sampleSizeFor, SAMPLE_ABOVE } from '../../../daemon/audit/sample';
import { runAudit } from '../../../daemon/audit/run';
import { assertAuditConfig } from '../../../daemon/protocol/auditConfig';
import { command as auditCommand } from '../../../daemon/cli/commands/audit';
import type { TemplateStore } from '../../../daemon/audit/templateStore';
import { auditWorkspaceOrSkip, type AuditWorkspace } from '../../fixtures/auditWorkspace';

const cfg = (patch: Record<string, unknown> = {}) => assertAuditConfig({ name: 'big', encoder: 'arcface512-faceplugin', templates: 'store.npy', ...patch }, 'test');

describe('audit: a seeded sample with stated confidence', () => {
  it('draws distinct ascending rows, the same for the same seed on any call, others for another seed', () => {
    const a = sampleRows(100_000, 1000, 0);
    assert.equal(a.length, 1000);
    assert.equal(new Set(a).size, 1000);
    assert.ok(a.every((r, i) => r >= 0 && r < 100_000 && (i === 0 || r > a[i - 1])));
    assert.deepEqual(sampleRows(100_000, 1000, 0), a);
    assert.notDeepEqual(sampleRows(100_000, 1000, 1), a);
    assert.deepEqual(sampleRows(5, 5, 3), [0, 1, 2, 3, 4]);
  });

  it('says what N gives a margin: 2,401 at worst for ±0.02, fewer near 0 or 1 and in a small store', () => {
    assert.equal(sampleSizeFor(0.02), 2401);
    assert.equal(sampleSizeFor(0.05), 385);
    assert.equal(sampleSizeFor(0.02, 0.1), 865);
    assert.ok(sampleSizeFor(0.02, 0.5, 100_000) < 2401 && sampleSizeFor(0.02, 0.5, 100_000) > 2300);
    assert.ok(sampleSizeFor(0.02, 0.5, 1000) < 1000);
  });

  it('a large store is sampled by default to answer within the hour, said plainly; --all and a small store are whole', () => {
    const s = chooseSample(cfg(), 100_000);
    assert.ok(s && s.reason === 'default');
    assert.ok(s.n * priorSecondsPerTemplate(cfg()) <= DEFAULT_SAMPLE_SECONDS && s.n >= 500, `${s.n}`);
    assert.match(sampleSentence(s, cfg()), /the store has 100,000 templates, more than 5,000: auditing a seeded random sample of 810 \(seed 0\), which answers in about 0\.9 h .* --all inverts every template; .*±3\.4 points/);
    assert.equal(chooseSample(cfg({ sample: 'all' }), 100_000), null);
    assert.equal(chooseSample(cfg(), SAMPLE_ABOVE), null);
    assert.deepEqual(chooseSample(cfg({ sample: 1000, seed: 4 }), 100_000), { n: 1000, of: 100_000, seed: 4, reason: 'asked' });
    // A cheaper attack affords a larger default sample.
    assert.ok((chooseSample(cfg({ budget: 20 }), 100_000)?.n ?? 0) > s.n);
  });

  it('a sample larger than the store is a clear error naming both numbers, from the config and from the flag', async () => {
    assert.throws(() => chooseSample(cfg({ sample: 20_000 }), 18), /a sample of 20,000 templates is larger than the store, which has 18; give --sample 18 or less, or --all/);
    await assert.rejects(auditCommand.run(['--encoder', 'x', '--templates', 'y.npy', '--sample', '10', '--all']), /--sample N or --all, not both/);
    await assert.rejects(auditCommand.run(['--encoder', 'x', '--templates', 'y.npy', '--margin', '0.7']), /--margin must be a half-width in \(0, 0\.5\]/);
  });

  it('a folder audited whole is not continued by a sample of the same config, nor the other way round', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-sample-'));
    try {
      claimAuditFolder(dir, cfg(), { sha256: 'h', rows: 6000 }, false);
      assert.throws(() => claimAuditFolder(dir, cfg(), { sha256: 'h', rows: 810 }, false), /audited 6,000 templates of this store, this run would audit 810 .* --sample 6000 \/ --all to match it/);
      assert.equal(claimAuditFolder(dir, cfg(), { sha256: 'h', rows: 6000 }, false).resumed, true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the sampled store keeps each row\'s id and its row in the file', () => {
    const dim = 2, rows = 10;
    const store: TemplateStore = { file: 'f', sha256: 'h', format: 'npy', dim, rows, ids: Array.from({ length: rows }, (_, i) => String(i)), vectors: Float32Array.from({ length: rows * dim }, (_, i) => i), flags: new Array(rows).fill(undefined), usable: rows };
    const s = sampledStore(store, { n: 4, of: rows, seed: 2, reason: 'asked' });
    const picked = sampleRows(rows, 4, 2);
    assert.deepEqual(Array.from(s.sourceRows ?? []), picked);
    assert.deepEqual(s.ids, picked.map(String));
    assert.deepEqual(Array.from(s.vectors.subarray(2, 4)), [picked[1] * 2, picked[1] * 2 + 1]);
    assert.equal(s.usable, 4);
  });
});

describe('audit: a sampled audit end to end on tiny LFW', function () {
  this.timeout(300_000);
  let aw: AuditWorkspace;
  before(async function () { aw = await auditWorkspaceOrSkip(this); });
  after(() => aw?.cleanup());

  it('--sample 7 of 18: the report gives the rate with its interval, the N for ±margin, and the file\'s rows', async () => {
    const logs: string[] = [];
    const ctx = { jobId: 't', signal: new AbortController().signal, workspaceDir: aw.dir, progress: () => undefined, log: (_l: string, m: string) => { logs.push(m); }, setRunDir: () => undefined };
    const out = await runAudit(aw.config({ sample: 7, margin: 0.05, outDir: 'audits/sampled' }), ctx, { cacheDir: aw.cacheDir, workers: 0 });
    assert.ok(logs.some((l) => /auditing a seeded random sample of 7 of the store's 18 templates \(seed 0\)/.test(l)));
    const s = out.report.sample;
    assert.ok(s);
    assert.equal(s.n, 7);
    assert.equal(s.of, 18);
    assert.equal(s.needed.worstCase, sampleSizeFor(0.05, 0.5, 18));
    assert.match(s.sentence, /A seeded random sample of 7 of the store's 18 templates \(seed 0\): at FMR 1e-2 \(redetect\) the sample's rate is .*, 95 % CI .*–.* \(Wilson\).* A 95 % interval of ±5\.0 points needs \d+ templates at worst/);
    assert.equal(out.report.templates.rows, 7);
    const rows = fs.readFileSync(out.files.csv, 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[0]));
    assert.deepEqual(rows, sampleRows(18, 7, 0));
  });
});
