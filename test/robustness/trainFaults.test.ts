/**
 * Faults of the real `train` job inside a daemon: a checkpoint whose weights turned NaN makes the resumed
 * job fail alone ("training diverged") with every tensor freed; a run folder on a read-only filesystem
 * makes the job fail with a clear error. Either way the daemon keeps answering. Needs LFW (skipped
 * otherwise) and mounts a tmpfs for the read-only case (skipped with a reason when this process cannot).
 */
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initEngine } from '../../daemon/tfjs/backend';
import { tf } from '../../daemon/tfjs/tf';
import type { DaemonServer } from '../../daemon/server/server';
import { lfwAvailable, makeTinyWorkspace, TinyWorkspace } from '../fixtures/tinyWorkspace';
import { RawClient, spawnDaemon, startTestServer } from './harness';
import { readConnectionFile } from '../../daemon/protocol/connectionFile';

describe('robustness: train job faults', function () {
  this.timeout(300_000);
  let ws: TinyWorkspace;
  let server: DaemonServer;
  let url: string;
  let c: RawClient;
  let nextId = 1;
  before(async function () {
    if (!lfwAvailable()) { console.log('      (skipped: LFW not found)'); this.skip(); }
    await initEngine({ backend: 'wasm', threads: 1, log: () => undefined });
    ws = makeTinyWorkspace({ name: 'faults', training: { epochs: 3, batchSize: 4, checkpointEvery: 1, evalEvery: 100000 } });
    fs.writeFileSync(ws.configFile, JSON.stringify({ ...ws.config, decoder: { ...ws.config.decoder, residualLayers: 0 } }, null, 2));
    const { jobKindMap } = await import('../../daemon/jobs/registry');
    ({ server, url } = await startTestServer({ workspaceDir: ws.dir, kinds: jobKindMap() }));
    c = await RawClient.connect(url);
    await c.request(nextId++, 'daemon/subscribe', {});
  });
  after(async () => {
    await c?.close();
    await server?.close();
    ws?.cleanup();
    await tf.setBackend('cpu');
  });

  async function submit(params: unknown): Promise<string> {
    const r = await c.request(nextId++, 'daemon/submitJob', { kind: 'train', params });
    assert.equal(r.error, undefined, JSON.stringify(r));
    return (r.result as { job: { id: string } }).job.id;
  }

  it('a NaN checkpoint makes the resumed job fail alone and frees its tensors', async () => {
    const baseline = tf.memory().numTensors;
    // Train until the first checkpoints exist, then cancel (the job checkpoints on cancel).
    const first = await submit({ config: path.basename(ws.configFile) });
    await c.waitFor(() => c.notifications('daemon/jobProgress').some((n) => (n.params as { jobId: string; progress: { step: number } }).jobId === first
      && (n.params as { progress: { step: number } }).progress.step >= 2), 240_000, 'two training steps');
    await c.request(nextId++, 'daemon/cancelJob', { jobId: first });
    await server.queue.idle();
    assert.equal(server.queue.get(first).job.state, 'cancelled');
    assert.equal(tf.memory().numTensors, baseline, 'cancelled job freed its tensors');
    const ckpt = path.join(ws.dir, 'runs', 'faults', 'checkpoints', 'latest');
    const weights = path.join(ckpt, 'weights.bin');
    const nan = new Float32Array(fs.statSync(weights).size / 4).fill(NaN);
    fs.writeFileSync(weights, Buffer.from(nan.buffer));

    const second = await submit({ config: path.basename(ws.configFile) });
    const good = await c.request(nextId++, 'daemon/submitJob', { kind: 'probe', params: { steps: 2, size: 8 } });
    await server.queue.idle();
    const job = server.queue.get(second).job;
    console.log(`      job error: ${job.error}`);
    assert.equal(job.state, 'failed');
    assert.match(job.error ?? '', /NaN|diverged|not finite/i);
    assert.equal(server.queue.get((good.result as { job: { id: string } }).job.id).job.state, 'succeeded', 'the next job runs');
    assert.equal(tf.memory().numTensors, baseline, 'failed job freed its tensors');
    assert.equal((await c.request(nextId++, 'daemon/status')).error, undefined);
  });

  it('a run folder on a read-only filesystem fails the job with a clear error; the daemon stays up', async function () {
    const runs = path.join(ws.dir, 'ro-runs');
    fs.mkdirSync(runs);
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,ro', 'tmpfs', runs]).status !== 0) {
      console.log('      (skipped: cannot mount a tmpfs here; needs root with CAP_SYS_ADMIN)');
      this.skip();
    }
    try {
      const cfg = path.join(ws.dir, 'ro.faceinv-run.json');
      fs.writeFileSync(cfg, JSON.stringify({ ...ws.config, name: 'ro', runsDir: 'ro-runs' }, null, 2));
      const id = await submit({ config: path.basename(cfg) });
      await server.queue.idle();
      const job = server.queue.get(id).job;
      console.log(`      job error: ${job.error}`);
      assert.equal(job.state, 'failed');
      assert.match(job.error ?? '', /EROFS|read-only|not writable/i);
      assert.ok((job.error ?? '').includes(runs), `error names the folder: ${job.error}`);
      assert.equal((await c.request(nextId++, 'daemon/status')).error, undefined);
    } finally {
      execFileSync('umount', [runs]);
    }
  });

  it('SIGTERM during training: the job is cancelled with a checkpoint of its last step, the daemon exits 0', async () => {
    // No periodic checkpoints: the one found afterwards can only come from the cancel.
    const cfg = path.join(ws.dir, 'term.faceinv-run.json');
    fs.writeFileSync(cfg, JSON.stringify({ ...ws.config, name: 'term', decoder: { ...ws.config.decoder, residualLayers: 0 },
      training: { ...ws.config.training, epochs: 50, batchSize: 4, checkpointEvery: 100000, evalEvery: 100000 } }, null, 2));
    const connFile = path.join(ws.dir, 'state', 'daemon.json');
    const d = await spawnDaemon(['--backend', 'wasm', '--threads', '1', '--workspace', ws.dir, '--connection-file', connFile]);
    const tc = await RawClient.connect(d.url, readConnectionFile(connFile).token);
    try {
      await tc.request(1, 'daemon/subscribe', {});
      const r = await tc.request(2, 'daemon/submitJob', { kind: 'train', params: { config: path.basename(cfg) } });
      assert.equal(r.error, undefined, JSON.stringify(r));
      const steps = () => tc.notifications('daemon/jobProgress').map((n) => (n.params as { progress: { step: number } }).progress.step);
      await tc.waitFor(() => steps().length >= 2, 120_000, 'two training steps');
      d.proc.kill('SIGTERM');
      const { code } = await d.exited;
      assert.equal(code, 0, d.stderr().slice(-2000));
      assert.ok(!fs.existsSync(connFile), 'connection file removed');
      const states = tc.notifications('daemon/jobState').map((n) => (n.params as { job: { state: string } }).job.state);
      assert.equal(states.at(-1), 'cancelled');
      const runDir = path.join(ws.dir, 'runs', 'term');
      const ckpt = JSON.parse(fs.readFileSync(path.join(runDir, 'checkpoints', 'latest', 'decoder.json'), 'utf8')) as { step: number };
      assert.ok(ckpt.step >= Math.max(...steps()), `checkpoint at step ${ckpt.step} covers the last reported step ${Math.max(...steps())}`);
      assert.equal((JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8')) as { state: string }).state, 'interrupted');
      console.log(`      cancelled after step ${Math.max(...steps())}; checkpoint at step ${ckpt.step}`);
    } finally {
      await tc.close();
      if (d.proc.exitCode === null) d.proc.kill('SIGKILL');
    }
  });
});
