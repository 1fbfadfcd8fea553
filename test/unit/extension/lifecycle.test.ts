/**
 * Daemon lifecycle without VS Code: `DaemonProcess` spawns a daemon process and reads its ready line and
 * connection file; `DaemonConnection` connects, streams job progress, refuses a wrong token without retrying,
 * and reconnects with back-off to a restarted daemon (new port and token, re-read from the connection file).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SubmitJobRequest } from '../../../daemon/protocol/daemon';
import { readConnectionFile } from '../../../daemon/protocol/connectionFile';
import { DaemonConnection, Endpoint } from '../../../extension/connection';
import { daemonArgs, DaemonProcess, lineSplitter, parseReadyLine } from '../../../extension/daemonProcess';
import type { ConnectionStateName } from '../../../extension/format';
import { waitFor } from '../waitFor';

const FAKE = path.join(__dirname, 'fakeDaemon.js');


describe('extension: daemon process helpers', () => {
  it('parses the ready line and splits chunked output into lines', () => {
    assert.deepEqual(parseReadyLine('FACEINV_READY {"url":"ws://127.0.0.1:5","port":5,"pid":9}'), { url: 'ws://127.0.0.1:5', port: 5, pid: 9 });
    assert.equal(parseReadyLine('FACEINV_READY {not json'), undefined);
    assert.equal(parseReadyLine('hello'), undefined);
    const lines: string[] = [];
    const feed = lineSplitter((l) => lines.push(l));
    feed('ab'); feed('c\r\nde'); feed('f\n');
    assert.deepEqual(lines, ['abc', 'def']);
    assert.deepEqual(daemonArgs({ nodePath: 'node', cliPath: '/x/bin/faceinv.js', connectionFile: '/s/d.json', workspace: '/w', backend: 'wasm', threads: 2 }),
      ['/x/bin/faceinv.js', 'daemon', '--port', '0', '--connection-file', '/s/d.json', '--workspace', '/w', '--backend', 'wasm', '--threads', '2']);
    assert.ok(!daemonArgs({ nodePath: 'node', cliPath: 'c', connectionFile: 'f', backend: 'auto' }).includes('--backend'));
  });
});

describe('extension: daemon lifecycle (spawned daemon process)', function () {
  this.timeout(60_000);
  let tmp: string;
  let connFile: string;
  const logs: string[] = [];
  const exits: { code: number | null; signal: string | null; expected: boolean }[] = [];
  const proc = new DaemonProcess({ onLog: (l) => logs.push(l), onExit: (code, signal, expected) => exits.push({ code, signal, expected }) });
  let conn: DaemonConnection;
  const states: ConnectionStateName[] = [];

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-ext-'));
    connFile = path.join(tmp, 'state', 'daemon.json');
    conn = new DaemonConnection({
      backoff: { initialMs: 50, maxMs: 200, factor: 2, maxAttempts: 40 },
      refreshEndpoint: () => { try { const i = readConnectionFile(connFile); return { url: i.url, token: i.token, remote: false }; } catch { return undefined; } },
    });
    conn.onState((s) => states.push(s));
  });
  after(async () => {
    await conn.disconnect();
    await proc.stop(1000);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const spawnOpts = () => ({ nodePath: process.execPath, cliPath: FAKE, connectionFile: connFile, workspace: tmp, readyTimeoutMs: 30_000 });

  it('a daemon that exits before ready rejects with its output', async () => {
    await assert.rejects(proc.start({ ...spawnOpts(), env: { FAKE_DAEMON_FAIL: 'boom' } }), /exited before it was ready \(code 3\)[\s\S]*failing on purpose: boom/);
    await assert.rejects(proc.start({ ...spawnOpts(), nodePath: path.join(tmp, 'no-node') }), /not found\. Install Node\.js 20/);
    await assert.rejects(proc.start({ ...spawnOpts(), cliPath: path.join(tmp, 'missing.js') }), /is missing/);
  });

  it('starts, hands over url + token from the 0600 connection file, and streams job progress', async () => {
    const ep = await proc.start(spawnOpts());
    assert.match(ep.url, /^ws:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(fs.statSync(connFile).mode & 0o777, 0o600);
    assert.ok(ep.token.length >= 16);
    const status = await conn.connect({ url: ep.url, token: ep.token, remote: false });
    assert.equal(status.backend, 'cpu');
    assert.equal(conn.state, 'connected');
    const steps: number[] = [];
    conn.jobs.onEvent((e) => { if (e.type === 'progress') steps.push(e.progress.step); });
    const { job } = await conn.client!.request(SubmitJobRequest, { kind: 'probe', params: { steps: 8, size: 8 } });
    await waitFor('job success', () => conn.jobs.get(job.id)?.state === 'succeeded');
    assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.ok(logs.some((l) => /fake daemon listening/.test(l)), 'stderr reaches the log');
  });

  it('a wrong token fails at once with a notice, no retry loop', async () => {
    const good = conn.endpoint!;
    const other = new DaemonConnection({ backoff: { initialMs: 10, maxMs: 10, factor: 1, maxAttempts: 5 } });
    const failures: unknown[] = [];
    other.onFailed((err) => failures.push(err));
    await assert.rejects(other.connect({ ...good, token: 'wrong' }), /token refused \(401\)/);
    assert.equal(other.state, 'failed');
    assert.equal(failures.length, 1);
    await assert.rejects(other.connect({ url: 'ws://127.0.0.1:1', token: 'x', remote: true }), /nothing is listening/);
    assert.equal(failures.length, 2);
  });

  it('after a crash (SIGKILL) a restarted daemon is found again through back-off', async () => {
    const before = conn.endpoint as Endpoint;
    const pid = proc.pid!;
    const seen = exits.length;
    process.kill(pid, 'SIGKILL');
    await waitFor('the exit report', () => exits.length > seen);
    assert.equal(exits.at(-1)?.signal, 'SIGKILL');
    assert.equal(exits.at(-1)?.expected, false, 'a crash is not an expected exit');
    await waitFor('reconnecting', () => conn.state === 'reconnecting');
    const ep = await proc.start(spawnOpts());
    assert.notEqual(ep.token, before.token, 'a fresh token per start');
    await waitFor('reconnected', () => conn.state === 'connected');
    assert.equal(conn.endpoint?.url, ep.url);
    assert.ok(states.includes('reconnecting'));
  });

  it('stop() is an expected exit and removes the connection file', async () => {
    await conn.disconnect();
    assert.equal(conn.state, 'stopped');
    await proc.stop();
    assert.equal(exits.at(-1)?.expected, true);
    assert.equal(proc.running, false);
    assert.equal(fs.existsSync(connFile), false);
  });

  it('gives up after the back-off attempts when nothing comes back', async () => {
    const c = new DaemonConnection({ backoff: { initialMs: 5, maxMs: 10, factor: 2, maxAttempts: 3 }, refreshEndpoint: () => ({ url: 'ws://127.0.0.1:1', token: 't', remote: false }) });
    const ep = await proc.start(spawnOpts());
    await c.connect({ url: ep.url, token: ep.token, remote: false });
    const failed = new Promise<unknown>((r) => c.onFailed((err) => r(err)));
    await proc.stop();
    const err = await failed;
    assert.equal(c.state, 'failed');
    assert.match(String(err), /nothing is listening/);
  });
});
