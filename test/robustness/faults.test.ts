/**
 * Faults: a job that throws fails alone and frees its tensors; uncaught exceptions and unhandled
 * rejections in a daemon process are logged, not fatal; SIGTERM cancels the running job, removes the
 * connection file and exits 0; a run folder that is read-only or full makes the job fail with a clear
 * error while the daemon stays up (tmpfs mounts, when this process may mount; skipped with a reason if not).
 */
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Type } from '@sinclair/typebox';
import { tf } from '../../daemon/tfjs/tf';
import { defineJobKind, JobKind } from '../../daemon/jobs/defineJobKind';
import { probeJob } from '../../daemon/jobs/kinds/probe';
import { throwIfCancelled, yieldToEventLoop } from '../../daemon/jobs/context';
import { readConnectionFile } from '../../daemon/protocol/connectionFile';
import type { DaemonServer } from '../../daemon/server/server';
import { REPO_ROOT, RawClient, spawnDaemon, startTestServer } from './harness';

/** A job that computes a loss that turns NaN at `nanAtStep` and throws from inside its tensor scope. */
const nanJob = defineJobKind({
  kind: 'nan', summary: 'fault injection: NaN loss', params: Type.Object({ nanAtStep: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
  label: () => 'nan',
  async run(p, ctx) {
    const init = tf.randomNormal([16, 16], 0, 1, 'float32', 1);
    const w = tf.variable(init);
    init.dispose();
    try {
      for (let step = 1; step <= p.nanAtStep + 5; step++) {
        throwIfCancelled(ctx);
        tf.tidy(() => {
          const x = tf.randomNormal([8, 16], 0, 1, 'float32', step);
          const scale = step === p.nanAtStep ? tf.scalar(NaN) : tf.scalar(1);
          const loss = tf.matMul(x, w).square().mean().mul(scale);
          const value = loss.dataSync()[0];
          if (!Number.isFinite(value)) throw new Error(`loss is ${value} at step ${step}`);
          ctx.progress(step, p.nanAtStep + 5, { loss: value });
        });
        await yieldToEventLoop();
      }
    } finally {
      w.dispose();
    }
    return {};
  },
});

function canMount(): boolean {
  if (process.platform !== 'linux') return false;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-mnt-'));
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]).status === 0;
  if (ok) spawnSync('umount', [dir]);
  fs.rmdirSync(dir);
  return ok;
}

describe('robustness: faults', function () {
  this.timeout(120_000);
  let server: DaemonServer;
  let url: string;
  before(async () => {
    await tf.setBackend('cpu');
    ({ server, url } = await startTestServer({ kinds: new Map<string, JobKind>([['probe', probeJob as unknown as JobKind], ['nan', nanJob as unknown as JobKind]]) }));
  });
  after(async () => server.close());

  it('a job that throws (probe failAtStep, NaN loss) fails alone and frees its tensors', async () => {
    const c = await RawClient.connect(url);
    await c.request(1, 'daemon/status'); // warm up: first use of the backend allocates kernels
    const baseline = tf.memory().numTensors;
    const bad1 = await c.request(2, 'daemon/submitJob', { kind: 'probe', params: { steps: 10, size: 32, failAtStep: 4 } });
    const bad2 = await c.request(3, 'daemon/submitJob', { kind: 'nan', params: { nanAtStep: 3 } });
    const good = await c.request(4, 'daemon/submitJob', { kind: 'probe', params: { steps: 3, size: 16 } });
    await server.queue.idle();
    const state = (r: typeof bad1) => server.queue.get((r.result as { job: { id: string } }).job.id).job;
    assert.equal(state(bad1).state, 'failed');
    assert.match(state(bad1).error ?? '', /on purpose at step 4/);
    assert.equal(state(bad2).state, 'failed');
    assert.match(state(bad2).error ?? '', /loss is NaN at step 3/);
    assert.equal(state(good).state, 'succeeded');
    assert.equal(tf.memory().numTensors, baseline, 'numTensors back to baseline');
    assert.equal((await c.request(5, 'daemon/status')).error, undefined, 'daemon up');
    await c.close();
  });

  it('uncaught exceptions and unhandled rejections are logged, not fatal', () => {
    const script = `
      const { installCrashGuards } = require(${JSON.stringify(path.join(REPO_ROOT, 'out', 'daemon', 'server', 'start.js'))});
      installCrashGuards((level, m) => console.error(level + ': ' + m.split('\\n')[0]));
      setTimeout(() => { throw new Error('boom in a callback'); }, 10);
      Promise.reject(new Error('nobody catches me'));
      setTimeout(() => { console.log('still alive'); }, 200);`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /still alive/);
    assert.match(r.stderr, /error: uncaught exception \(continuing\): Error: boom in a callback/);
    assert.match(r.stderr, /error: unhandled rejection \(continuing\): Error: nobody catches me/);
  });

  it('SIGTERM cancels the running job, removes the connection file and exits 0', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-sigterm-'));
    const connFile = path.join(ws, 'state', 'daemon.json');
    try {
      const d = await spawnDaemon(['--backend', 'cpu', '--workspace', ws, '--connection-file', connFile]);
      const info = readConnectionFile(connFile);
      assert.equal(info.pid, d.pid);
      const c = await RawClient.connect(d.url, info.token);
      await c.request(1, 'daemon/subscribe', {});
      const sub = await c.request(2, 'daemon/submitJob', { kind: 'probe', params: { steps: 100000, size: 8 } });
      const jobId = (sub.result as { job: { id: string } }).job.id;
      await c.waitFor(() => c.notifications('daemon/jobProgress').length > 3, 30000, 'progress');
      d.proc.kill('SIGTERM');
      const { code } = await d.exited;
      assert.equal(code, 0, d.stderr());
      assert.ok(!fs.existsSync(connFile), 'connection file removed');
      const states = c.notifications('daemon/jobState').map((n) => (n.params as { job: { id: string; state: string } }).job).filter((j) => j.id === jobId).map((j) => j.state);
      assert.equal(states.at(-1), 'cancelled', `job states seen: ${states}`);
      await c.waitClosed();
      assert.match(d.stderr(), /SIGTERM: cancelling jobs/);
    } finally {
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });

  describe('run folder on a read-only or full filesystem', () => {
    const mountable = canMount();
    let mnt: string;
    beforeEach(function () {
      if (!mountable) {
        console.log('      (skipped: this process cannot mount tmpfs; run as root with CAP_SYS_ADMIN to test)');
        this.skip();
      }
      mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-fs-'));
    });
    afterEach(() => {
      if (!mnt) return;
      spawnSync('umount', [mnt]);
      fs.rmSync(mnt, { recursive: true, force: true });
    });

    /** A job that writes a checkpoint-like file of `bytes` temp + rename into `dir` (relative to the workspace). */
    const writeJob = defineJobKind({
      kind: 'write', summary: 'writes a file temp + rename', params: Type.Object({ dir: Type.String(), bytes: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
      label: () => 'write',
      async run(p, ctx) {
        const dir = path.resolve(ctx.workspaceDir, p.dir);
        fs.mkdirSync(dir, { recursive: true });
        const tmp = path.join(dir, 'ckpt.bin.tmp');
        fs.writeFileSync(tmp, Buffer.alloc(p.bytes, 1));
        fs.renameSync(tmp, path.join(dir, 'ckpt.bin'));
        return { bytes: p.bytes };
      },
    });

    async function runWrite(bytes: number): Promise<{ state: string; error?: string; s: DaemonServer; c: RawClient }> {
      const { server: s, url: u } = await startTestServer({ workspaceDir: mnt, kinds: new Map<string, JobKind>([['write', writeJob as unknown as JobKind]]) });
      const c = await RawClient.connect(u);
      const r = await c.request(1, 'daemon/submitJob', { kind: 'write', params: { dir: 'runs/x/checkpoints', bytes } });
      assert.equal(r.error, undefined, JSON.stringify(r));
      await s.queue.idle();
      const job = s.queue.list()[0];
      return { state: job.state, error: job.error, s, c };
    }

    it('read-only: the job fails with EROFS named in its error; the daemon answers status', async () => {
      // An existing run folder whose filesystem became read-only.
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
      fs.mkdirSync(path.join(mnt, 'runs/x/checkpoints'), { recursive: true });
      execFileSync('mount', ['-o', 'remount,ro', mnt]);
      const { state, error, s, c } = await runWrite(1000);
      try {
        assert.equal(state, 'failed');
        assert.match(error ?? '', /EROFS|read-only/);
        assert.equal((await c.request(2, 'daemon/status')).error, undefined);
      } finally { await c.close(); await s.close(); }
    });

    it('full: the job fails with ENOSPC, no partial checkpoint replaces a good one; the daemon answers status', async () => {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
      const first = await runWrite(8 * 1024);
      assert.equal(first.state, 'succeeded');
      await first.c.close(); await first.s.close();
      const { state, error, s, c } = await runWrite(256 * 1024);
      try {
        assert.equal(state, 'failed');
        assert.match(error ?? '', /ENOSPC|no space/);
        assert.equal(fs.statSync(path.join(mnt, 'runs/x/checkpoints/ckpt.bin')).size, 8 * 1024, 'last good checkpoint intact');
        assert.equal((await c.request(2, 'daemon/status')).error, undefined);
      } finally { await c.close(); await s.close(); }
    });
  });
});
