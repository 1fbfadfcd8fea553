/**
 * Which runtime starts the daemon (extension/daemonRuntime.ts): the editor's own first (ELECTRON_RUN_AS_NODE
 * under Electron), then `node` on PATH, the setting alone when set, and one message naming what to install
 * when nothing works. Real runtimes: this Node (passes the check), a fake "node 18" script, a missing file,
 * and a PATH without node.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkRuntime } from '../../../daemon/cli/runtimeCheck';
import { chooseRuntime, probeRuntime, runtimeCandidates, type DaemonRuntime } from '../../../extension/daemonRuntime';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const CHECK = path.join(ROOT, 'out', 'daemon', 'cli', 'runtimeCheck.js');

describe('extension: daemon runtime', function () {
  this.timeout(60_000);
  let tmp: string;
  let oldNode: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-rt-'));
    oldNode = path.join(tmp, 'node18');
    fs.writeFileSync(oldNode, '#!/bin/sh\necho \'FACEINV_RUNTIME {"ok":false,"node":"18.19.0","problems":["Node.js 18.19.0 is older than 20"]}\'\n', { mode: 0o755 });
    fs.mkdirSync(path.join(tmp, 'empty-bin'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('orders the candidates: the setting alone, else the editor\'s runtime (ELECTRON_RUN_AS_NODE under Electron), then PATH', () => {
    assert.deepEqual(runtimeCandidates({ nodePathSetting: ' /opt/node20/bin/node ', execPath: '/e', versions: { node: '20.1.0' } }).map((c) => [c.source, c.command]), [['setting', '/opt/node20/bin/node']]);
    const desktop = runtimeCandidates({ nodePathSetting: '', execPath: '/Applications/Code.app/Contents/MacOS/Electron', versions: { node: '20.18.3', electron: '34.5.8' } });
    assert.deepEqual(desktop.map((c) => c.source), ['editor', 'path']);
    assert.deepEqual(desktop[0].env, { ELECTRON_RUN_AS_NODE: '1' });
    assert.equal(desktop[0].command, '/Applications/Code.app/Contents/MacOS/Electron');
    assert.match(desktop[0].label, /Electron 34\.5\.8/);
    assert.deepEqual(runtimeCandidates({ nodePathSetting: '', execPath: process.execPath, versions: process.versions })[0].env, {}, 'plain Node (code-server) needs no flag');
  });

  it('the check passes in this Node: its version and the native modules load', async () => {
    assert.deepEqual(checkRuntime().problems, []);
    const r = await probeRuntime({ command: process.execPath, env: {}, source: 'editor', label: 'this' }, CHECK);
    assert.deepEqual(r, { ok: true, node: process.versions.node });
    const broken = checkRuntime((name) => { if (name === 'sharp') throw new Error('Module did not self-register: sharp-linux-x64.node\nstack'); return {}; });
    assert.deepEqual(broken.problems, ['sharp does not load: Module did not self-register: sharp-linux-x64.node']);
  });

  it('falls back past a runtime that fails the check, and names why', async () => {
    const cands: DaemonRuntime[] = [
      { command: oldNode, env: {}, source: 'editor', label: "the editor's own runtime" },
      { command: process.execPath, env: {}, source: 'path', label: '`node` on PATH' },
    ];
    const r = await chooseRuntime(cands, CHECK);
    assert.ok(!('error' in r));
    assert.equal(r.runtime.source, 'path');
    assert.deepEqual(r.tried, ["the editor's own runtime: Node.js 18.19.0 is older than 20"]);
  });

  it('with no usable runtime and no node on PATH: one message saying what to install', async () => {
    const cands = runtimeCandidates({ nodePathSetting: '', execPath: oldNode, versions: { node: '18.19.0' } });
    const noPath = { ...process.env, PATH: path.join(tmp, 'empty-bin') };
    const r = await chooseRuntime(cands, CHECK, (c) => probeRuntime(c, CHECK, { env: noPath }));
    assert.ok('error' in r);
    assert.match(r.error, /^Face Inversion: no runtime can start the daemon — the editor's own runtime \(Node 18\.19\.0 at .*node18\): Node\.js 18\.19\.0 is older than 20; `node` on PATH: not found\. Install Node\.js 20 or newer \(https:\/\/nodejs\.org\)/);
    const set = await chooseRuntime(runtimeCandidates({ nodePathSetting: path.join(tmp, 'missing-node'), execPath: '', versions: {} }), CHECK);
    assert.ok('error' in set);
    assert.match(set.error, /faceInversion\.daemon\.nodePath \(.*missing-node\): not found\. Point faceInversion\.daemon\.nodePath at a Node\.js 20/);
  });
});
