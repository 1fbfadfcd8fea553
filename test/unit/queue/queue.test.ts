/**
 * Issue 24: an audit over many machines through BullMQ on a real redis-server (loopback, no persistence).
 * Three `faceinv worker` processes take the chunks of a tiny LFW audit; one is killed -9 mid-chunk and its
 * chunk is retried by another; Redis is killed and restarted mid-audit (the audit says so, waits, re-adds the
 * chunks the new Redis does not know, and goes on); both merged reports equal the single-process audit of the
 * same store and seed (every verdict figure, templates.csv byte for byte) and say which worker did what. A
 * worker refuses a chunk of another encoder or calibration without retrying it. Skips without redis-server or LFW.
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { runAudit, type AuditOutcome } from '../../../daemon/audit/run';
import { auditIdOf, queueNameOf, type ChunkJobData } from '../../../daemon/audit/queue';
import { configHash } from '../../../daemon/audit/chunks';
import type { AuditReport } from '../../../daemon/audit/reportSchema';
import type { AuditConfig } from '../../../daemon/protocol/auditConfig';
import { initEngine } from '../../../daemon/tfjs/backend';
import type { JobContext } from '../../../daemon/jobs/context';
import { lfwAvailable } from '../../fixtures/tinyWorkspace';
import { makeAuditWorkspace, type AuditWorkspace } from '../../fixtures/auditWorkspace';
import { waitFor } from '../waitFor';

const BIN = path.resolve(__dirname, '..', '..', '..', '..', 'bin', 'faceinv.js');
const TUNING = { lockMs: 2000, stalledMs: 1000, attempts: 6, backoffMs: 300 };

function redisInstalled(): boolean {
  return spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); });
  });
}

/** A redis-server on loopback without persistence (a restart loses every job, as a lost Redis would). */
async function startRedis(port: number): Promise<ChildProcess> {
  const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitFor('redis-server to listen', () => new Promise<boolean>((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  }), 10_000, 100);
  return p;
}

function figures(r: AuditReport): string[] {
  return r.verdicts.flatMap((v) => v.points.map((p) => `${v.encoderId}/${v.protocol}@${p.fmr}: ${p.attack.successes}/${p.attack.trials} vs ${p.baseline.successes}/${p.baseline.trials}`));
}

interface Spawned { proc: ChildProcess; log: () => string }

describe('queue: an audit over BullMQ workers on a real Redis', function () {
  this.timeout(300_000);
  let aw: AuditWorkspace;
  let redis: ChildProcess | undefined;
  let port = 0;
  let config: AuditConfig;
  let cfgFile: string;
  let single: AuditOutcome;
  const workers: Spawned[] = [];
  const url = () => `redis://127.0.0.1:${port}`;
  const ctx = (logs: string[], progress: string[] = []): JobContext => ({
    jobId: 'test', signal: new AbortController().signal, workspaceDir: aw.dir, setRunDir: () => undefined,
    progress: (_s, _t, _m, msg) => { if (msg) progress.push(msg); }, log: (l, m) => { logs.push(`${l}: ${m}`); },
  });
  const spawnWorker = (name: string): Spawned => {
    let out = '';
    const proc = spawn(process.execPath, [BIN, 'worker', cfgFile, '--queue', url(), '--worker-name', name, '--lock-seconds', String(TUNING.lockMs / 1000),
      '--workspace', aw.dir, '--cache', aw.cacheDir, '--backend', 'wasm', '--workers', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.on('data', (b: Buffer) => { out += b.toString(); });
    proc.stderr?.on('data', (b: Buffer) => { out += b.toString(); });
    const w = { proc, log: () => out };
    workers.push(w);
    return w;
  };

  before(async function () {
    if (!redisInstalled()) { console.log('      (skipped: redis-server is not installed; .ci/run installs the Debian package)'); this.skip(); }
    if (!lfwAvailable()) { console.log('      (skipped: LFW not found at ../shared/data/lfw)'); this.skip(); }
    await initEngine({ backend: 'wasm' });
    aw = await makeAuditWorkspace();
    // Chunks long enough (a few seconds) to kill a worker inside one.
    config = aw.config({ name: 'queue-audit', budget: 60, chunkSize: 3 });
    cfgFile = path.join(aw.dir, 'queue.faceinv-audit.json');
    fs.writeFileSync(cfgFile, JSON.stringify(config, null, 2));
    port = await freePort();
    redis = await startRedis(port);
    single = await runAudit({ ...config, outDir: 'audits/single' }, ctx([]), { cacheDir: aw.cacheDir, workers: 0 });
  });
  after(() => {
    for (const w of workers) w.proc.kill('SIGKILL');
    redis?.kill('SIGKILL');
    // The workers' scratch folders (face model, images in transit) go with the test.
    if (aw) fs.rmSync(path.join(aw.cacheDir, 'audit-worker'), { recursive: true, force: true });
    aw?.cleanup();
  });

  it('three workers, one killed -9 mid-chunk: the merged report equals the single-process one, figure for figure and CSV byte for byte', async () => {
    const started = ['w1', 'w2', 'w3'].map((n) => ({ n, w: spawnWorker(n) }));
    const logs: string[] = [], progress: string[] = [];
    const queued = runAudit({ ...config, outDir: 'audits/queued' }, ctx(logs, progress), { cacheDir: aw.cacheDir, workers: 0, queue: url(), queueTuning: TUNING });
    // The first worker to take a chunk is killed 0.3 s into it (a chunk takes seconds).
    const [victim, killedChunk] = await waitFor('a worker to take a chunk', () => {
      for (const { n, w } of started) { const m = new RegExp(`${n}: chunk (\\d+) \\(rows`).exec(w.log()); if (m) return [n, Number(m[1])] as const; }
      return undefined;
    }, 240_000, 20);
    await new Promise((r) => setTimeout(r, 300));
    started.find((x) => x.n === victim)?.w.proc.kill('SIGKILL');
    const out = await queued;
    assert.equal(out.state, 'finished');
    assert.deepEqual(figures(out.report), figures(single.report));
    assert.equal(fs.readFileSync(out.files.csv, 'utf8'), fs.readFileSync(single.files.csv, 'utf8'));
    const chunkFile = JSON.parse(fs.readFileSync(path.join(out.auditDir, 'chunks', `c${String(killedChunk - 1).padStart(6, '0')}.json`), 'utf8')) as { worker: string };
    assert.notEqual(chunkFile.worker, victim, `chunk ${killedChunk}, killed in ${victim}, was retried by another worker`);
    const names = (out.report.workers ?? []).map((w) => w.name);
    assert.ok(names.length >= 2 && names.every((n) => /^w[123]$/.test(n)), names.join(','));
    assert.equal((out.report.workers ?? []).reduce((a, w) => a + w.chunks, 0), 6);
    assert.ok(progress.some((p) => /done by w\d \(\d+ of 6; w\d: \d+/.test(p)), 'progress names the workers');
    assert.ok(progress.some((p) => /^workers: w\d on chunk \d+ \(\d+ per template\)/.test(p)), 'progress says which worker is on which chunk');
  });

  it('Redis lost mid-audit: the audit says so, waits, and goes on to the same figures when it is back', async () => {
    const logs: string[] = [], progress: string[] = [];
    const queued = runAudit({ ...config, outDir: 'audits/redis-lost' }, ctx(logs, progress), { cacheDir: aw.cacheDir, workers: 0, queue: url(), queueTuning: TUNING });
    await waitFor('a first chunk', () => progress.some((p) => /done by/.test(p)), 120_000, 50);
    redis?.kill('SIGKILL');
    await waitFor('the audit to say Redis is away', () => logs.some((l) => /Redis at .* unreachable/.test(l)), 30_000, 50);
    await new Promise((r) => setTimeout(r, 1500));
    redis = await startRedis(port);
    const out = await queued;
    assert.ok(logs.some((l) => /Redis at .* is back: the audit goes on/.test(l)), logs.filter((l) => /Redis/.test(l)).join('\n'));
    assert.deepEqual(figures(out.report), figures(single.report));
    assert.equal(fs.readFileSync(out.files.csv, 'utf8'), fs.readFileSync(single.files.csv, 'utf8'));
  });

  it('Redis unreachable at the start: the audit says so and waits; when Redis comes up it goes on (cancelled here, its folder kept)', async () => {
    const port2 = await freePort();
    const logs: string[] = [];
    const abort = new AbortController();
    const queued = runAudit({ ...config, outDir: 'audits/unreachable' }, { ...ctx(logs), signal: abort.signal }, { cacheDir: aw.cacheDir, workers: 0, queue: `redis://127.0.0.1:${port2}`, queueTuning: TUNING });
    await waitFor('the audit to say Redis is unreachable', () => logs.some((l) => new RegExp(`Redis at redis://127.0.0.1:${port2} unreachable .*the audit waits`).test(l)), 60_000, 50);
    const redis2 = await startRedis(port2);
    try {
      await waitFor('the audit to say Redis is back', () => logs.some((l) => /is back: the audit goes on/.test(l)), 30_000, 50);
      abort.abort();
      await assert.rejects(queued, /cancel/i);
      const manifest = JSON.parse(fs.readFileSync(path.join(aw.dir, 'audits', 'unreachable', 'audit.json'), 'utf8')) as { state: string };
      assert.equal(manifest.state, 'interrupted');
    } finally {
      redis2.kill('SIGKILL');
    }
  });

  it('a chunk of another encoder or calibration is refused at once, never retried; another audit\'s queue is apart', async () => {
    const auditId = auditIdOf(config.name, configHash(config), single.report.templates.sha256);
    assert.notEqual(queueNameOf(auditId), queueNameOf(auditIdOf('another-audit', configHash({ ...config, name: 'another-audit' }), single.report.templates.sha256)));
    const connection = { url: url(), maxRetriesPerRequest: null };
    const queue = new Queue<ChunkJobData>(queueNameOf(auditId), { connection });
    const events = new QueueEvents(queueNameOf(auditId), { connection });
    try {
      await events.waitUntilReady();
      const good = { auditId, chunk: 0, from: 0, to: 3, encoderHash: single.report.encoder.hash, calibrationHash: 'x'.repeat(64), storeSha256: single.report.templates.sha256 };
      const cases: [string, ChunkJobData, RegExp][] = [
        ['enc', { ...good, encoderHash: 'f'.repeat(64) }, /refuses chunk 1: its encoder's hash .* differs from the audit's ffffffffffff/],
        ['cal', good, /refuses chunk 1: its thresholds \(calibration .*\) differ from the audit's \(xxxxxxxxxxxx…\)/],
      ];
      for (const [id, data, re] of cases) {
        const job = await queue.add('chunk', data, { jobId: `bad-${id}`, attempts: 5, backoff: { type: 'fixed', delay: 100 } });
        await assert.rejects(job.waitUntilFinished(events, 60_000), re);
        assert.equal((await queue.getJob(`bad-${id}`))?.attemptsMade, 1, 'an unrecoverable refusal is not retried');
      }
    } finally {
      await events.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
