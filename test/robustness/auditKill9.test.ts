/**
 * The audit at scale and under kill -9.
 * - kill -9: `faceinv audit` on the tiny LFW audit (18 templates in chunks of 2) is killed with SIGKILL at
 *   random moments (seeded) and restarted each time. After every kill, every file of the audit folder that
 *   exists parses (audit.json, config.json, chunks/*.json, report.json), finished chunks never go away,
 *   and each restart names the chunks it keeps. The last run completes, and its figures and per-template
 *   scores equal those of an audit that was never interrupted (chunks are seeded: a redone chunk is the
 *   same chunk).
 * - 100,000 templates: a store of 10⁵ rows is read, planned in 6,250 chunks of 16, audited a chunk per
 *   session with progress and an ETA in the audit's budget, and a second session continues with the next
 *   chunk.
 *
 * Seed: FACEINV_KILL9_SEED (default 7); kills: FACEINV_AUDIT_KILLS (default 6). Needs LFW.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { npyBytes } from '../../daemon/audit/templateStore';
import { runAudit } from '../../daemon/audit/run';
import { mulberry32 } from '../../daemon/data/split';
import { initEngine } from '../../daemon/tfjs/backend';
import type { JobContext } from '../../daemon/jobs/context';
import type { ProgressExtras } from '../../daemon/protocol/budget';
import { makeAuditWorkspace, type AuditWorkspace } from '../fixtures/auditWorkspace';
import { lfwAvailable } from '../fixtures/tinyWorkspace';
import { FACEINV_BIN, REPO_ROOT } from './harness';

const SEED = Number(process.env.FACEINV_KILL9_SEED ?? 7);
const KILLS = Number(process.env.FACEINV_AUDIT_KILLS ?? 6);

function runCli(args: string[], killAfterMs: number | undefined): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const p = spawn(process.execPath, [FACEINV_BIN, 'audit', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FACEINV_THREADS: '1' } });
  let stderr = '';
  p.stderr.on('data', (d) => { stderr += String(d); });
  p.stdout.resume();
  const killer = killAfterMs !== undefined ? setTimeout(() => p.kill('SIGKILL'), killAfterMs) : undefined;
  const guard = setTimeout(() => p.kill('SIGKILL'), 300_000);
  return new Promise((resolve) => p.once('exit', (code, signal) => { if (killer) clearTimeout(killer); clearTimeout(guard); resolve({ code, signal, stderr }); }));
}

/** Checks every file of the audit folder; returns the finished chunk files. */
function checkAuditFolder(dir: string, when: string): string[] {
  for (const f of ['audit.json', 'config.json', 'report.json']) {
    const file = path.join(dir, f);
    if (fs.existsSync(file)) assert.doesNotThrow(() => JSON.parse(fs.readFileSync(file, 'utf8')), `${when}: ${f} must parse`);
  }
  const chunks = fs.existsSync(path.join(dir, 'chunks')) ? fs.readdirSync(path.join(dir, 'chunks')).filter((f) => f.endsWith('.json')).sort() : [];
  for (const c of chunks) {
    const v = JSON.parse(fs.readFileSync(path.join(dir, 'chunks', c), 'utf8')) as { results: unknown[]; from: number; to: number };
    assert.equal(v.results.length, v.to - v.from, `${when}: ${c} is whole`);
  }
  return chunks;
}

const scoresOf = (dir: string) => fs.readdirSync(path.join(dir, 'chunks')).sort().flatMap((f) => (JSON.parse(fs.readFileSync(path.join(dir, 'chunks', f), 'utf8')) as { results: { row: number; attack?: unknown; nearest?: unknown; queries?: number }[] }).results)
  .map((r) => JSON.stringify([r.row, r.attack, r.nearest, r.queries]));

describe('robustness: the audit under kill -9 and at 100,000 templates', function () {
  this.timeout(900_000);
  let aw: AuditWorkspace | undefined;
  before(async function () {
    if (!lfwAvailable()) {
      console.log('      (skipped: LFW not found at ../shared/data/lfw)');
      this.skip();
    }
    await initEngine({ backend: 'wasm' });
    aw = await makeAuditWorkspace();
  });
  after(() => aw?.cleanup());

  it(`continues after ${KILLS} random SIGKILLs (seed ${SEED}) to the figures of an uninterrupted audit`, async () => {
    const w = aw as AuditWorkspace;
    const configFile = path.join(w.dir, 'tiny.faceinv-audit.json');
    fs.writeFileSync(configFile, JSON.stringify({ ...w.config({ chunkSize: 1, budget: 40 }), outDir: undefined }, null, 2));
    const base = ['--workspace', w.dir, '--cache', w.cacheDir, '--backend', 'wasm', '--workers', '0'];
    const t0 = Date.now();
    const clean = await runCli([configFile, '--out', 'audits/clean', ...base], undefined);
    assert.equal(clean.code, 0, clean.stderr.slice(-2000));
    // Kills land from start-up to a few chunks in, so each restart makes some progress and the audit outlives them.
    const perChunkMs = (Date.now() - t0) / w.ids.length;
    const dir = path.join(w.dir, 'audits', 'killed');
    const rnd = mulberry32(SEED);
    let kept: string[] = [];
    let resumes = 0;
    const log: string[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      const delay = Math.round(600 + rnd() * (1500 + 3 * perChunkMs));
      const r = await runCli([configFile, '--out', 'audits/killed', ...base], delay);
      if (r.signal !== 'SIGKILL') { log.push(`run ${kill + 1} finished by itself before its kill at ${delay} ms`); break; }
      const now = checkAuditFolder(dir, `after kill ${kill + 1} at ${delay} ms`);
      for (const c of kept) assert.ok(now.includes(c), `after kill ${kill + 1}: finished chunk ${c} is still there`);
      const resumed = /(\d+) of (\d+) chunks already done/.exec(r.stderr);
      // On a loaded machine a kill can land before the restart has said what it found; when it said it, it is checked.
      if (kept.length && resumed) { assert.equal(Number(resumed[1]), kept.length, `run ${kill + 1} kept the ${kept.length} finished chunks`); resumes++; }
      log.push(`kill ${kill + 1} after ${delay} ms: ${now.length} chunks on disk${kept.length && !resumed ? ' (killed before it reported the chunks it found)' : ''}`);
      kept = now;
    }
    // The last run resumes after the kills (or after a run that finished by itself): it must find every finished chunk.
    const onDisk = checkAuditFolder(dir, 'before the last run');
    const last = await runCli([configFile, '--out', 'audits/killed', ...base], undefined);
    assert.equal(last.code, 0, last.stderr.slice(-2000));
    const lastResumed = /(\d+) of (\d+) chunks already done/.exec(last.stderr);
    if (onDisk.length) { assert.equal(Number(lastResumed?.[1]), onDisk.length, `the last run kept the ${onDisk.length} finished chunks`); resumes++; }
    assert.ok(resumes > 0, 'no run resumed from finished chunks: the kills landed too early to test resumption');
    checkAuditFolder(dir, 'at the end');
    assert.deepEqual(scoresOf(dir), scoresOf(path.join(w.dir, 'audits', 'clean')), 'every template scored as in the uninterrupted audit');
    const a = JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')) as { state: string; verdicts: unknown };
    const b = JSON.parse(fs.readFileSync(path.join(w.dir, 'audits', 'clean', 'report.json'), 'utf8')) as { verdicts: unknown };
    assert.equal(a.state, 'finished');
    assert.deepEqual(a.verdicts, b.verdicts);
    console.log(`      ${log.join('\n      ')}`);
  });

  it('a store of 100,000 templates is planned in resumable chunks, with progress and an ETA', async () => {
    const w = aw as AuditWorkspace;
    const N = 100_000;
    const rows: Float32Array[] = new Array(N);
    const rand = mulberry32(3);
    for (let i = 0; i < N; i++) {
      // Each row: one of the real templates with a little noise, so the chunks audit plausible templates.
      const src = w.rows[i % w.rows.length];
      const r = new Float32Array(512);
      for (let k = 0; k < 512; k++) r[k] = src[k] + 0.01 * (rand() - 0.5);
      rows[i] = r;
    }
    const t0 = Date.now();
    fs.writeFileSync(path.join(w.dir, 'big.npy'), npyBytes(rows, 512));
    const writeSeconds = (Date.now() - t0) / 1000;
    const progress: { message?: string; extras?: ProgressExtras }[] = [];
    const ctx: JobContext = { jobId: 't', signal: new AbortController().signal, workspaceDir: w.dir, log: () => undefined, setRunDir: () => undefined, progress: (_s, _t, _m, message, extras) => progress.push({ message, extras }) };
    const config = w.config({ templates: 'big.npy', chunkSize: 16, outDir: 'audits/big', search: { method: 'none', detectorCheck: false }, keepImages: 100, sample: 'all' });
    const t1 = Date.now();
    const first = await runAudit(config, ctx, { cacheDir: w.cacheDir, workers: 0, maxChunks: 1 });
    const firstSeconds = (Date.now() - t1) / 1000;
    assert.equal(first.state, 'stopped');
    const m = JSON.parse(fs.readFileSync(path.join(first.auditDir, 'audit.json'), 'utf8')) as { chunks: number; chunksDone: number; templates: number };
    assert.deepEqual([m.templates, m.chunks, m.chunksDone], [N, 6250, 1]);
    const done = progress.find((p) => /chunk 1 of 6250 done/.test(p.message ?? ''));
    assert.ok(done?.extras?.budget && done.extras.budget.limit === N && done.extras.budget.used === 16, JSON.stringify(done));
    assert.ok((done?.extras?.etaSeconds ?? 0) > 0, 'an ETA for the rest');
    assert.equal(first.report.templates.rows, N);
    assert.equal(first.report.chunks.done, 1);
    progress.length = 0;
    const second = await runAudit(config, ctx, { cacheDir: w.cacheDir, workers: 0, maxChunks: 1 });
    assert.equal(second.report.chunks.done, 2);
    assert.ok(progress.some((p) => /chunk 2 of 6250 done/.test(p.message ?? '')));
    console.log(`      100,000 × 512 store: written in ${writeSeconds.toFixed(1)} s; first session (read, hash, plan, calibrate, one chunk, report) ${firstSeconds.toFixed(1)} s; ETA after one chunk ${Math.round(done?.extras?.etaSeconds ?? 0)} s (no search, this machine)`);
  });
});
