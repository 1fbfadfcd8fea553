/**
 * The context and commands under plain Node with `vscode` stubbed: registration, the disabled form when no
 * daemon is connected (it must not block on the user's answer), Connect to Daemon (bad URL, wrong token →
 * Retry / Start Daemon, right token → status bar with backend), and a submitted job's progress notification
 * with a working Cancel. The daemon is a real `DaemonServer` in this process with the `probe` kind.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from '../../../daemon/tfjs/tf';
import type { JobKind } from '../../../daemon/jobs/defineJobKind';
import { probeJob } from '../../../daemon/jobs/kinds/probe';
import type { JobInfo } from '../../../daemon/protocol/daemon';
import { DaemonServer } from '../../../daemon/server/server';
import { fakeExtensionContext, installVscodeStub, makeVscodeStub } from './vscodeStub';
import { waitFor } from '../waitFor';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const TOKEN = 'unit-test-token-0123456789';


describe('extension: commands and context (vscode stubbed)', function () {
  this.timeout(60_000);
  const stub = makeVscodeStub();
  let uninstall: () => void;
  let tmp: string;
  let server: DaemonServer;
  let url: string;
  // Loaded after the stub is installed.
  let ctx: import('../../../extension/ctx').Ctx;
  let exec: (name: string, ...args: unknown[]) => Promise<unknown>;
  let baselineTensors = 0;

  before(async () => {
    uninstall = installVscodeStub(stub.vscode);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-cmd-'));
    await tf.setBackend('cpu');
    server = new DaemonServer({
      host: '127.0.0.1', port: 0, token: TOKEN, workspaceDir: tmp, kinds: new Map([['probe', probeJob as unknown as JobKind]]),
      engine: { backend: 'cpu', reason: 'unit test', threads: 1, versions: {}, memory: () => tf.memory() },
    });
    url = `ws://127.0.0.1:${await server.listen()}`;
    baselineTensors = tf.memory().numTensors;
    const { Ctx } = await import('../../../extension/ctx');
    const { COMMANDS } = await import('../../../extension/commands');
    ctx = new Ctx(fakeExtensionContext(ROOT, path.join(tmp, 'storage')) as never);
    for (const [name, f] of Object.entries(COMMANDS)) ctx.registerCommand(name, f);
    exec = (name, ...args) => stub.vscode.commands.executeCommand(name, ...args);
  });
  after(async () => {
    await ctx?.dispose();
    await server?.close();
    uninstall?.();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('registers every command and starts with a stopped status bar', () => {
    assert.ok(stub.commands.has('faceInversion.startDaemon'));
    assert.ok(stub.commands.size >= 14);
    assert.match(stub.statusBar.text, /faceinv: stopped/);
    assert.equal(stub.statusBar.command, 'faceInversion.startDaemon');
  });

  it('a daemon command while none is connected shows the disabled form and returns at once', async () => {
    const before = stub.shown.length;
    const r = await exec('faceInversion.selfCheck');
    assert.equal(r, undefined);
    const n = stub.shown.slice(before);
    assert.equal(n.length, 1);
    assert.match(n[0].message, /needs a daemon/);
    assert.deepEqual(n[0].items, ['Start Daemon', 'Connect…']);
  });

  it('Connect to Daemon: a bad URL is refused with a reason', async () => {
    assert.equal(await exec('faceInversion.connectDaemon', 'http://x:1', 't'), false);
    assert.match(stub.shown.at(-1)!.message, /use ws:\/\//);
  });

  it('Connect to Daemon: a wrong token → notice with Retry / Start Daemon; the right one connects', async () => {
    const before = stub.shown.length;
    assert.equal(await exec('faceInversion.connectDaemon', url, 'wrong-token'), false);
    const n = await waitFor('the notice', () => stub.shown.slice(before).find((s) => /refused the token/.test(s.message)));
    assert.ok(n.items.includes('Retry') && n.items.includes('Start Daemon'));
    assert.match(stub.statusBar.text, /disconnected/);
    assert.equal(await exec('faceInversion.connectDaemon', url, TOKEN), true);
    assert.equal(ctx.connection.state, 'connected');
    assert.equal(stub.statusBar.text, '$(pulse) faceinv: cpu');
    assert.equal(stub.statusBar.command, 'faceInversion.openDashboard');
    assert.equal(stub.contexts.get('faceInversion.daemonConnected'), true);
  });

  it('a job that ends at once gets its end message but no progress notification', async () => {
    const job = await exec('faceInversion.selfCheck', 3) as JobInfo;
    await waitFor('the finished message', () => stub.shown.some((s) => s.message === `Face Inversion: ${job.label} finished.`));
    await new Promise((r) => setTimeout(r, ctx.progressDelayMs + 100));
    assert.equal(stub.progress.filter((x) => x.title === job.label).length, 0);
  });

  it('a submitted job shows progress to 100% and the status bar follows it', async () => {
    ctx.progressDelayMs = 0;
    const job = await exec('faceInversion.selfCheck', 12) as JobInfo;
    assert.equal(job.kind, 'probe');
    const p = await waitFor('a progress notification', () => stub.progress.find((x) => x.title === job.label));
    await waitFor('the job to finish', () => p.done);
    const total = p.reports.reduce((s, r) => s + (r.increment ?? 0), 0);
    assert.equal(total, 100);
    assert.match(p.reports.at(-1)!.message ?? '', /step 12\/12/);
    assert.ok(stub.shown.some((s) => /self-check ×12 finished/.test(s.message)));
    assert.equal(stub.statusBar.text, '$(pulse) faceinv: cpu', 'idle again');
  });

  it('Cancel on the progress notification cancels the job', async () => {
    const job = await exec('faceInversion.selfCheck', 100000) as JobInfo;
    const p = await waitFor('a progress notification', () => stub.progress.find((x) => x.title === job.label));
    await waitFor('running with progress', () => ctx.connection.jobs.get(job.id)?.progress);
    assert.match(stub.statusBar.text, /faceinv: cpu · probe \d+%/);
    p.cancel();
    await waitFor('cancelled', () => ctx.connection.jobs.get(job.id)?.state === 'cancelled');
    await waitFor('the notification to close', () => p.done);
  });

  it('Cancel Job with nothing running says so; Stop Daemon disconnects', async () => {
    await exec('faceInversion.cancelJob');
    assert.match(stub.shown.at(-1)!.message, /no job is queued or running/);
    await exec('faceInversion.stopDaemon');
    assert.equal(ctx.connection.state, 'stopped');
    assert.match(stub.statusBar.text, /stopped/);
    assert.equal(tf.memory().numTensors, baselineTensors, 'jobs run through the commands leave no tensors behind');
  });

  it('Start Daemon spawns the real daemon; after kill -9 it is restarted with a notice', async function () {
    this.timeout(120_000);
    const status = await exec('faceInversion.startDaemon') as { pid: number; backend: string } | undefined;
    assert.ok(status, `not started: ${JSON.stringify(stub.shown.slice(-2))}`);
    assert.equal(ctx.connection.state, 'connected');
    assert.match(stub.statusBar.text, new RegExp(`faceinv: ${status.backend}$`));
    const firstUrl = ctx.connection.endpoint?.url;
    // A failed job is logged once in the output channel: the daemon's own line, not again from its log
    // notification (another format) or from the failure notice.
    const failed = await ctx.submit({ kind: 'train', params: { config: 'no-such-config.faceinv-run.json' }, label: 'train a missing config' });
    assert.ok(failed);
    await waitFor('the failure notice', () => stub.shown.find((s) => /train a missing config failed/.test(s.message)), 30_000);
    await new Promise((r) => setTimeout(r, 300));
    const mentions = ctx.recentLog.filter((l) => l.includes('no-such-config.faceinv-run.json') && !l.startsWith('submitted'));
    assert.equal(mentions.length, 1, mentions.join('\n'));
    assert.match(mentions[0], /error: \[[0-9a-f]+\] train job failed: /);
    const before = stub.shown.length;
    process.kill(status.pid, 'SIGKILL');
    const notice = await waitFor('the crash notice', () => stub.shown.slice(before).find((s) => /killed by SIGKILL; restarting/.test(s.message)), 30_000);
    assert.equal(notice.level, 'warning');
    await waitFor('the restarted daemon', () => ctx.connection.state === 'connected' && ctx.connection.status?.pid !== status.pid && ctx.connection.status, 90_000);
    assert.notEqual(ctx.connection.endpoint?.url, firstUrl, 'a new start listens on a new port');
    await exec('faceInversion.stopDaemon');
    assert.equal(ctx.localDaemonRunning, false);
    assert.ok(!stub.shown.slice(before + 1).some((s) => /restarting/.test(s.message)), 'a requested stop is not a crash');
  });
});
