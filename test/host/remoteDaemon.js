/**
 * "A daemon started elsewhere" for the host tests (test/host/suite/remote.test.ts): a real `faceinv daemon`
 * with its own state dir (FACEINV_HOME, where its connection file and token live) and its own workspace, not
 * started by the extension: the test connects to it by URL + token as "Connect to Daemon…" takes them, as a
 * user would to a GPU box. Its workspace holds two small runs: `remote-live` (running; the test appends
 * metric lines to it while it watches the dashboard) and `remote-done` (finished, older).
 */
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');

/** `steps` training lines of a decreasing loss from step `from` (as the trainer writes them). */
function metricLines(steps, from = 0) {
  let text = '';
  for (let s = from; s < from + steps; s++) {
    text += `${JSON.stringify({ time: new Date(Date.UTC(2026, 11, 1, 10, 0, s)).toISOString(), step: s, epoch: 0, split: 'train', loss: 1 / (1 + 0.05 * s), imgPerSec: 40 })}\n`;
    if (s % 10 === 9) text += `${JSON.stringify({ time: new Date(Date.UTC(2026, 11, 1, 10, 0, s)).toISOString(), step: s, epoch: 0, split: 'test', loss: 1.1 / (1 + 0.04 * s) })}\n`;
  }
  return text;
}

function manifest(name, over) {
  return {
    name, kind: 'blackbox', encoderId: 'arcface512-faceplugin', embeddingDim: 512,
    route: { chosen: 'blackbox', requested: 'auto', reason: 'encoder is an ONNX graph without gradients in tfjs' },
    createdAt: '2026-12-01T10:00:00.000Z', updatedAt: '2026-12-01T10:00:00.000Z', state: 'running',
    progress: { step: 20, totalSteps: 200, epoch: 0, totalEpochs: 1, budget: { kind: 'steps', used: 20, limit: 200 } }, ...over,
  };
}

/** The remote workspace: runs/remote-live (20 steps, 2 faces) and runs/remote-done. */
async function makeRemoteWorkspace(dir) {
  const sharp = require('sharp');
  fs.rmSync(dir, { recursive: true, force: true });
  const live = path.join(dir, 'runs', 'remote-live');
  const done = path.join(dir, 'runs', 'remote-done');
  fs.mkdirSync(path.join(live, 'reconstructions'), { recursive: true });
  fs.mkdirSync(done, { recursive: true });
  fs.writeFileSync(path.join(live, 'run.json'), JSON.stringify(manifest('remote-live', {})));
  fs.writeFileSync(path.join(live, 'metrics.jsonl'), metricLines(20));
  const items = [];
  for (const [i, id] of ['face-a', 'face-b'].entries()) {
    const png = (r, g, b) => sharp({ create: { width: 64, height: 64, channels: 3, background: { r, g, b } } }).png().toBuffer();
    fs.writeFileSync(path.join(live, 'reconstructions', `${id}.png`), await png(200, 120 + 40 * i, 90));
    fs.writeFileSync(path.join(live, 'reconstructions', `${id}.orig.png`), await png(180, 140, 110 + 40 * i));
    items.push({ id, identity: `Remote Person ${i + 1}`, image: `${id}.png`, original: `${id}.orig.png` });
  }
  fs.writeFileSync(path.join(live, 'reconstructions', 'index.json'), JSON.stringify({ createdAt: '2026-12-01T10:00:00.000Z', encoderId: 'arcface512-faceplugin', items }));
  fs.writeFileSync(path.join(done, 'run.json'), JSON.stringify(manifest('remote-done', { state: 'finished', createdAt: '2026-11-30T10:00:00.000Z', progress: { step: 200, totalSteps: 200, epoch: 1, totalEpochs: 1, budget: { kind: 'steps', used: 200, limit: 200 } }, stopReason: 'budget of 200 steps reached' })));
  fs.writeFileSync(path.join(done, 'metrics.jsonl'), metricLines(200));
  return { dir, live, done };
}

/**
 * Starts `node bin/faceinv.js daemon` with FACEINV_HOME=`home` on `workspace` (port 0 = any), resolves once
 * it is ready with its URL and token (read from its connection file, as a user would on that machine).
 */
function startRemoteDaemon({ home, workspace, port = 0, log }) {
  fs.mkdirSync(home, { recursive: true });
  const logFile = fs.openSync(log, 'a');
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'faceinv.js'), 'daemon', '--workspace', workspace, '--port', String(port), '--backend', 'cpu'], {
    cwd: workspace, env: { ...process.env, FACEINV_HOME: home }, stdio: ['ignore', 'pipe', logFile],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`remote daemon not ready in 90 s:\n${out}`)); }, 90_000);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`remote daemon exited (${code}) before it was ready; see ${log}`)); });
    child.stdout.on('data', (d) => {
      out += String(d);
      const line = out.split('\n').find((l) => l.startsWith('FACEINV_READY '));
      if (!line) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      const ready = JSON.parse(line.slice('FACEINV_READY '.length));
      const info = JSON.parse(fs.readFileSync(path.join(home, 'daemon.json'), 'utf8'));
      resolve({
        url: info.url, token: info.token, port: ready.port, pid: child.pid,
        stop: () => new Promise((r) => { if (child.exitCode !== null) { r(); return; } child.once('exit', () => r()); child.kill('SIGTERM'); }),
      });
    });
  });
}

module.exports = { makeRemoteWorkspace, startRemoteDaemon, metricLines };
