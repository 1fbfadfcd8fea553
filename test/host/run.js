#!/usr/bin/env node
/**
 * Runs the extension's host tests inside a real VS Code (code-server 4.100.3 = VS Code 1.100.3, installed by
 * test/host/setup-code-server.sh), offline: starts the bundled VS Code server with the smoke-test driver,
 * opens it in Debian chromium through playwright-core with `extensionDevelopmentPath` + `extensionTestsPath`
 * in the payload, and takes the result from `window.codeAutomationExit(code)`.
 *   1. dev suite: the repository as the extension under development (out/test/host/suite/*.test.js);
 *   2. vsix suite (unless --skip-vsix; --vsix-only skips 1, --reuse-vsix reuses the last package): `vsce package`, `--install-extension` into a fresh extensions folder,
 *      then a probe extension's test checks the installed copy activates and its commands and config server run.
 * For the dev suite a second daemon runs "elsewhere" (its own FACEINV_HOME and workspace, remoteDaemon.js):
 * remote.test.ts connects to it by URL + token. What only the browser can see (the dashboard webview's DOM)
 * a test asks for by logging `[faceinv-probe] <id> <action>`; this runner answers in <suite dir>/probe-<id>.json.
 * Each suite's counts (mocha inside the host, plus this runner's own end check) go to FACEINV_TEST_SUMMARY
 * for `npm test`'s total. Needs a build (`npm run build`). Exit code 0 when every suite passed. Output and
 * logs: .test-output/host/.
 */
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const util = require('node:util');
const { makeRemoteWorkspace, startRemoteDaemon } = require('./remoteDaemon');

const ROOT = path.resolve(__dirname, '..', '..');
const CS = path.join(ROOT, '.cache', 'code-server', 'node_modules', 'code-server');
const SERVER_MAIN = path.join(CS, 'lib', 'vscode', 'out', 'server-main.js');
const OUT = path.join(ROOT, '.test-output', 'host');
const SUITE_TIMEOUT_MS = 5 * 60_000;
/** A progress toast's text: "step 12/40 · …", or under a budget "2.5 / 5 min · step 149 · …". */
const PROGRESS_TOAST = /step \d+\/\d+|\d \/ [\d.]+ (?:min|epochs?|steps?|quer(?:y|ies)) · step \d+/;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const args = new Set(process.argv.slice(2));

function log(msg) { process.stdout.write(`[host] ${msg}\n`); }

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function write(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/** The workspace the dev suite opens: a broken config, one naming an unknown encoder, a good one. */
function makeWorkspace(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  write(path.join(dir, 'broken.faceinv-run.json'), '{\n  "name": "broken",\n  "encoder": \n');
  write(path.join(dir, 'unknown-encoder.faceinv-run.json'), `${JSON.stringify({ name: 'unknown', encoder: 'no-such-encoder' }, null, 2)}\n`);
  write(path.join(dir, 'good.faceinv-run.json'), `${JSON.stringify({ name: 'good', encoder: 'arcface512-faceplugin', route: 'blackbox' }, null, 2)}\n`);
  write(path.join(dir, 'schema-bad.faceinv-encoder.json'), `${JSON.stringify({ id: 'Not Lower Case', format: 'onnx' }, null, 2)}\n`);
  write(path.join(dir, 'models', 'experiments', 'schema-bad.json'), `${JSON.stringify({ name: 'x', encoder: 'arcface512-faceplugin', route: 'sideways' }, null, 2)}\n`);
  // Issue 16: an encoder file that exists but is invalid, and a run borrowing a decoder (faceModel.run) that cannot
  // serve, next to a finished black-box run of the right size (its model/meta.json is all the checks read).
  write(path.join(dir, 'wonky.faceinv-encoder.json'), `${JSON.stringify({ ...JSON.parse(fs.readFileSync(path.join(ROOT, 'models', 'encoders', 'arcface512-faceplugin.json'), 'utf8')), $schema: undefined, id: 'wonky', normalization: { mean: [0, 0, 0], std: [1, 0, 1] } }, null, 2)}\n`);
  write(path.join(dir, 'uses-wonky.faceinv-run.json'), `${JSON.stringify({ name: 'uses-wonky', encoder: 'wonky', route: 'blackbox' }, null, 2)}\n`);
  write(path.join(dir, 'runs', 'bb-arcface', 'model', 'meta.json'), JSON.stringify({ kind: 'faceinv-blackbox-decoder', encoderId: 'arcface512-faceplugin', embeddingDim: 512, outputSize: 128, template: 'arcface-5pt', inputNormalization: 'l2' }));
  write(path.join(dir, 'bad-generator.faceinv-run.json'), `${JSON.stringify({ name: 'wb', encoder: 'arcface512-faceplugin', route: 'whitebox', faceModel: { kind: 'decoder', run: 'runs/no-such-run' } }, null, 2)}\n`);
  // Issue 21, the walkthrough: a tiny run of the main job on "lfw" (resolved only once a dataset folder is chosen).
  write(path.join(dir, 'walkthrough-tiny.faceinv-run.json'), `${JSON.stringify({
    name: 'walkthrough-tiny', encoder: 'arcface512-faceplugin', route: 'blackbox', dataset: { path: 'lfw' },
    split: { seed: 0, testFraction: 0.34, validationFraction: 0 }, faceModel: { kind: 'pca', components: 4 }, start: 'ridge',
    search: { method: 'none' }, evaluation: { encoders: [], maxImages: 12 },
  }, null, 2)}\n`);
  // Issue 21: a shipped sample copied away from models/experiments, its relative $schema now pointing nowhere.
  write(path.join(dir, 'copied', 'sample-copy.faceinv-run.json'), `${JSON.stringify({ $schema: '../schemas/run.schema.json', name: 'sample-copy', encoder: 'arcface512-faceplugin', route: 'blackbox', search: { queries: -5 } }, null, 2)}\n`);
  write(path.join(dir, '.vscode', 'settings.json'), JSON.stringify({ 'faceInversion.daemon.nodePath': process.execPath, 'workbench.startupEditor': 'none', 'security.workspace.trust.enabled': false }, null, 2));
}

async function startServer(runDir, port, extensionsDir, env) {
  const tmp = path.join(runDir, 'tmp');
  fs.mkdirSync(tmp, { recursive: true });
  const logFile = fs.openSync(path.join(runDir, 'server.log'), 'w');
  const child = spawn(process.execPath, [SERVER_MAIN, '--host', '127.0.0.1', '--port', String(port), '--without-connection-token',
    '--accept-server-license-terms', '--enable-smoke-test-driver', '--server-data-dir', path.join(runDir, 'server-data'),
    '--user-data-dir', path.join(runDir, 'user-data'), '--extensions-dir', extensionsDir, '--disable-telemetry',
    // A test workspace is trusted: in restricted mode installed (non-development) extensions stay disabled.
    '--disable-workspace-trust'], {
    cwd: runDir, env: { ...process.env, ...env, TMPDIR: tmp }, stdio: ['ignore', logFile, logFile], detached: true,
  });
  const t0 = Date.now();
  for (;;) {
    const text = fs.readFileSync(path.join(runDir, 'server.log'), 'utf8');
    if (/Extension host agent listening|Web UI available|listening on/i.test(text)) break;
    if (child.exitCode !== null) throw new Error(`VS Code server exited (${child.exitCode}):\n${text}`);
    if (Date.now() - t0 > 60_000) throw new Error(`VS Code server not ready in 60 s:\n${text}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return child;
}

function stopServer(child) {
  if (!child || child.exitCode !== null) return;
  try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
}

/** The dashboard webview's frame (VS Code nests it in two iframes), or undefined when none is open. */
async function dashboardFrame(page) {
  for (const frame of page.frames()) {
    const found = await frame.evaluate(() => !!document.getElementById('loss-chart') && !!document.getElementById('runs')).catch(() => false);
    if (found) return frame;
  }
  return undefined;
}

/** What the dashboard shows, read from its DOM. */
async function readDashboard(page) {
  const frame = await dashboardFrame(page);
  if (!frame) return { found: false, frames: page.frames().map((f) => f.url().slice(0, 120)) };
  return frame.evaluate(() => {
    const imgs = Array.from(document.querySelectorAll('.faces img'));
    return {
      found: true,
      title: document.querySelector('#header h1')?.textContent ?? null,
      runs: Array.from(document.querySelectorAll('.runs .run')).map((b) => b.getAttribute('data-run')),
      lines: Number(document.getElementById('loss-chart')?.getAttribute('data-lines') ?? -1),
      chartEmpty: !document.getElementById('chart-empty')?.hidden,
      images: [imgs.filter((i) => i.complete && i.naturalWidth > 0).length, imgs.length],
      placeholders: document.querySelectorAll('.faces .missing.loading').length,
      banner: document.querySelector('[data-testid="banner"]')?.textContent ?? '',
      daemon: document.querySelector('#header .daemon')?.textContent ?? '',
      sarRows: { redetect: document.querySelectorAll('table[data-testid="sar-table-redetect"] tbody tr').length, direct: document.querySelectorAll('table[data-testid="sar-table-direct"] tbody tr').length },
      sarProblem: document.querySelector('[data-testid="sar-problem"]')?.textContent ?? null,
      badges: Array.from(document.querySelectorAll('.faces .badge')).map((b) => b.getAttribute('data-verdict')),
    };
  });
}

/** The quick pick the workbench shows (title, rows), polled for a few seconds; visible false when none opens. */
async function readQuickPick(page) {
  const read = () => page.evaluate(() => {
    const w = document.querySelector('.quick-input-widget');
    const visible = !!w && getComputedStyle(w).display !== 'none';
    return {
      visible,
      title: visible ? (w.querySelector('.quick-input-title')?.textContent ?? '') : '',
      items: visible ? Array.from(w.querySelectorAll('.quick-input-list .monaco-list-row')).map((r) => r.textContent ?? '') : [],
    };
  });
  let seen = await read();
  for (let i = 0; i < 20 && !(seen.visible && seen.items.length); i++) {
    await new Promise((r) => setTimeout(r, 250));
    seen = await read();
  }
  return seen;
}

/**
 * A small LFW-shaped folder (<Person>/*.jpg, linked from ../shared/data/lfw) for the walkthrough's folder
 * picker; undefined without LFW here.
 */
function makeTinyLfw(dir) {
  const src = path.join(ROOT, '..', 'shared', 'data', 'lfw', 'lfw-deepfunneled');
  if (!fs.existsSync(src)) return undefined;
  fs.rmSync(dir, { recursive: true, force: true });
  const people = fs.readdirSync(src).sort().filter((p) => fs.readdirSync(path.join(src, p)).length >= 4).slice(0, 9);
  for (const p of people) {
    fs.mkdirSync(path.join(dir, p), { recursive: true });
    for (const f of fs.readdirSync(path.join(src, p)).sort().slice(0, 4)) fs.symlinkSync(path.join(src, p, f), path.join(dir, p, f));
  }
  return dir;
}

/**
 * The folder picker (showOpenDialog, VS Code's own dialog in a browser window): types the folder the test
 * wrote to <runDir>/pick-folder.txt and accepts it.
 */
async function pickFolder(page, runDir) {
  const folder = fs.readFileSync(path.join(runDir, 'pick-folder.txt'), 'utf8').trim();
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: 20_000 });
  const title = await page.locator('.quick-input-widget .quick-input-title').textContent().catch(() => '');
  // The dialog fills in its own starting folder once it has listed it; typed too early, the path is replaced and
  // Enter accepts that folder instead (seen on a slow first start). Type until the path stays.
  for (let k = 0; k < 10; k++) {
    await input.fill(`${folder}/`);
    await new Promise((r) => setTimeout(r, 800));
    if ((await input.inputValue().catch(() => '')).startsWith(folder)) break;
  }
  await input.press('Enter');
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 500));
    if (!await page.locator('.quick-input-widget').isVisible()) return { picked: folder, title };
    // Still open (it went into the folder): accept the folder itself with the dialog's OK button.
    const ok = page.locator('.quick-input-widget .monaco-button', { hasText: 'Use as Dataset' });
    if (await ok.count()) await ok.first().click().catch(() => undefined);
    else await input.press('Enter').catch(() => undefined);
  }
  return { error: 'the folder dialog did not close', title };
}

/** The walkthrough page the workbench shows: its title and step titles. */
async function readWalkthrough(page, runDir) {
  // The page may show another category for a moment before the one asked for.
  await new Promise((r) => setTimeout(r, 2000));
  const seen = await page.evaluate(() => ({
    text: Array.from(document.querySelectorAll('.gettingStartedContainer .gettingStartedSlideDetails .getting-started-step .step-title, .gettingStartedContainer .gettingStartedSlideDetails h2')).map((e) => e.textContent?.trim() ?? ''),
    categories: Array.from(document.querySelectorAll('.gettingStartedContainer .getting-started-category .category-title')).map((e) => e.textContent?.trim() ?? ''),
  }));
  await page.screenshot({ path: path.join(runDir, 'walkthrough.png') }).catch(() => undefined);
  return seen;
}

/** Opens the workbench with the test payload; resolves with the exit code the tests report. */
async function runInBrowser(runDir, port, workspace, devPath, testsPath, probes = {}) {
  const { chromium } = require('playwright-core');
  const profile = path.join(runDir, 'chromium');
  fs.rmSync(profile, { recursive: true, force: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const lines = [];
  let resolveExit;
  const exited = new Promise((r) => { resolveExit = r; });
  try {
    const page = context.pages()[0] ?? await context.newPage();
    await page.exposeFunction('codeAutomationLog', (type, msgArgs) => {
      // mocha's spec reporter logs printf-style ("%s passing"): format like console.log would.
      const text = Array.isArray(msgArgs) ? util.format(...msgArgs) : String(msgArgs);
      if (/DialogService: refused|ENOTFOUND open-vsx|ChatSessionStore|^\s+at /.test(text)) { lines.push(text); return; }
      lines.push(text);
      const probe = /\[faceinv-probe\] ([\w-]+) ([\w-]+)/.exec(text);
      if (probe) { void answerProbe(page, runDir, probe[1], probe[2], probes); return; } // kept in tests.log only
      process.stdout.write(`  ${text}\n`);
    });
    await page.exposeFunction('codeAutomationExit', (code) => resolveExit(Number(code)));
    page.on('pageerror', (err) => fs.appendFileSync(path.join(runDir, 'page-errors.log'), `${err.stack ?? err}\n`));
    const remote = (p) => `vscode-remote://127.0.0.1:${port}${p}`;
    const payload = JSON.stringify([['extensionDevelopmentPath', remote(devPath)], ['extensionTestsPath', remote(testsPath)]]);
    const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(payload)}`;
    await page.goto(url);
    const timeout = new Promise((r) => setTimeout(() => r('timeout'), SUITE_TIMEOUT_MS));
    const code = await Promise.race([exited, timeout]);
    await page.screenshot({ path: path.join(runDir, 'workbench.png') }).catch(() => undefined);
    // What the user would see at the end: the notifications still open.
    // Polled for a few seconds: on a loaded machine the workbench removes a finished toast a little late.
    const readToasts = () => page.evaluate(() => ({
      toasts: [...document.querySelectorAll('.notifications-toasts .notification-list-item-message')].map((e) => e.textContent),
    })).catch((err) => ({ error: String(err) }));
    let seen = await readToasts();
    for (let i = 0; i < 20 && (seen.toasts ?? []).some((t) => PROGRESS_TOAST.test(t ?? '')); i++) {
      await new Promise((r) => setTimeout(r, 500));
      seen = await readToasts();
    }
    lines.push(`end state: ${JSON.stringify(seen)}`);
    log(`end state: ${JSON.stringify(seen)}`);
    // Every job of the suite has ended: a progress toast still open would be a notification that never closes.
    const stuck = (seen.toasts ?? []).filter((t) => PROGRESS_TOAST.test(t ?? ''));
    if (stuck.length) log(`FAIL: progress notifications left open after their jobs ended: ${JSON.stringify(stuck)}`);
    fs.writeFileSync(path.join(runDir, 'tests.log'), lines.join('\n'));
    if (code === 'timeout') { log(`suite timed out after ${SUITE_TIMEOUT_MS / 1000} s`); return { code: 124, stuck }; }
    return { code, stuck };
  } finally {
    await context.close().catch(() => undefined);
  }
}

/** Answers a test's `[faceinv-probe] <id> <action>` in <runDir>/probe-<id>.json. */
async function answerProbe(page, runDir, id, action, probes) {
  let answer;
  try {
    if (action === 'dashboard') answer = await readDashboard(page);
    else if (action === 'screenshot') { await page.screenshot({ path: path.join(runDir, `${id}.png`) }); answer = { ok: true }; }
    else if (action === 'quickpick') answer = await readQuickPick(page);
    else if (action === 'pickfolder') answer = await pickFolder(page, runDir);
    else if (action === 'walkthrough') answer = await readWalkthrough(page, runDir);
    else if (probes[action]) answer = await probes[action]();
    else answer = { error: `unknown probe action "${action}"` };
  } catch (err) {
    answer = { error: String(err && err.stack || err) };
  }
  const file = path.join(runDir, `probe-${id}.json`);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(answer));
  fs.renameSync(`${file}.tmp`, file);
}

/** Adds one mocha-in-host run's counts (and this runner's own end check) to `npm test`'s total. */
function reportCounts(name, counts) {
  const file = process.env.FACEINV_TEST_SUMMARY;
  if (file) fs.appendFileSync(file, `${JSON.stringify({ suite: process.env.FACEINV_TEST_SUITE || 'host', part: name, passed: counts.passed, failed: counts.failed, skipped: counts.skipped })}\n`);
}

async function suite(name, { devPath, extensionsDir, workspace, env, probes }) {
  const runDir = path.join(OUT, name);
  fs.mkdirSync(runDir, { recursive: true });
  for (const f of fs.readdirSync(runDir)) if (/^probe-|^counts\.json$/.test(f)) fs.rmSync(path.join(runDir, f), { force: true });
  const countsFile = path.join(runDir, 'counts.json');
  const port = await freePort();
  const t0 = Date.now();
  const server = await startServer(runDir, port, extensionsDir, { ...env, FACEINV_HOST_COUNTS: countsFile, FACEINV_HOST_PROBE_DIR: runDir });
  try {
    const { code, stuck } = await runInBrowser(runDir, port, workspace, devPath, path.join(ROOT, 'out', 'test', 'host', 'suite', 'index'), probes);
    let counts;
    try {
      counts = JSON.parse(fs.readFileSync(countsFile, 'utf8'));
    } catch {
      counts = { passed: 0, failed: 1, skipped: 0, failures: [`the ${name} suite reported no counts (exit ${code})`] };
    }
    if (code === 124) { counts.failed++; counts.failures.push(`the ${name} suite timed out`); }
    // This runner's own check is one test too: no progress notification is left open once every job ended.
    if (stuck.length) { counts.failed++; counts.failures.push(`progress notifications left open: ${JSON.stringify(stuck)}`); } else counts.passed++;
    reportCounts(name, counts);
    const failed = code !== 0 || counts.failed > 0;
    log(`${name} suite: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped; exit ${code} in ${((Date.now() - t0) / 1000).toFixed(1)} s (logs in ${path.relative(ROOT, runDir)})`);
    for (const f of counts.failures ?? []) log(`  failed: ${f}`);
    return failed ? 1 : 0;
  } finally {
    stopServer(server);
  }
}

/**
 * A run attacked and evaluated by the real code (test/fixtures/evaluatedRun.ts: one reconstruction with no
 * detectable face), copied into `runsRoot` as `remote-evaluated`, oldest of the history. Undefined without LFW
 * (the test that reads it then skips, which CI counts as a failure).
 */
async function addEvaluatedRun(runsRoot) {
  const fixture = require(path.join(ROOT, 'out', 'test', 'fixtures', 'evaluatedRun.js'));
  if (!fixture.lfwAvailable()) { log('no LFW here: the dashboard test on a really evaluated run will skip'); return undefined; }
  const t0 = Date.now();
  const made = await fixture.makeEvaluatedRun('remote-evaluated');
  try {
    const dir = path.join(runsRoot, 'remote-evaluated');
    fs.cpSync(made.runDir, dir, { recursive: true });
    const file = path.join(dir, 'run.json');
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), createdAt: '2026-11-29T10:00:00.000Z' }));
    log(`evaluated run for the dashboard made by the real attack and evaluation in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return { name: 'remote-evaluated', items: made.report.items.length, failedId: made.failedId };
  } finally {
    made.ws.cleanup();
  }
}

/** The daemon "elsewhere" for remote.test.ts, and the probe that restarts it (same port, a new token). */
async function remoteDaemon() {
  const home = path.join(OUT, 'remote-home');
  fs.rmSync(home, { recursive: true, force: true });
  const ws = await makeRemoteWorkspace(path.join(OUT, 'remote-workspace'));
  const evaluated = await addEvaluatedRun(path.join(ws.dir, 'runs'));
  const logFile = path.join(OUT, 'remote-daemon.log');
  fs.rmSync(logFile, { force: true });
  let daemon = await startRemoteDaemon({ home, workspace: ws.dir, log: logFile });
  log(`remote daemon (FACEINV_HOME ${path.relative(ROOT, home)}, workspace ${path.relative(ROOT, ws.dir)}) at ${daemon.url}`);
  return {
    env: () => ({ FACEINV_REMOTE_DAEMON: JSON.stringify({ url: daemon.url, token: daemon.token, workspace: ws.dir, home, evaluated }) }),
    probes: {
      'restart-remote': async () => {
        await daemon.stop();
        daemon = await startRemoteDaemon({ home, workspace: ws.dir, port: daemon.port, log: logFile });
        return { url: daemon.url, token: daemon.token };
      },
    },
    stop: () => daemon.stop(),
  };
}

function packageVsix() {
  const t0 = Date.now();
  const vsix = require('./package-vsix').packageVsix(path.join(OUT, 'face-inversion-lab.vsix'));
  log(`packaged ${path.relative(ROOT, vsix)} (${(fs.statSync(vsix).size / 1e6).toFixed(1)} MB) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return vsix;
}

function installVsix(vsix, extensionsDir) {
  fs.rmSync(extensionsDir, { recursive: true, force: true });
  const r = spawnSync(process.execPath, [SERVER_MAIN, '--accept-server-license-terms', '--extensions-dir', extensionsDir, '--install-extension', vsix], { encoding: 'utf8', env: { ...process.env, TMPDIR: OUT } });
  if (r.status !== 0) throw new Error(`--install-extension failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  log(`installed into ${path.relative(ROOT, extensionsDir)}: ${fs.readdirSync(extensionsDir).filter((n) => !n.startsWith('.')).join(', ')}`);
}

async function main() {
  if (!fs.existsSync(SERVER_MAIN)) throw new Error(`${SERVER_MAIN} is missing: run test/host/setup-code-server.sh`);
  if (!fs.existsSync(path.join(ROOT, 'out', 'test', 'host', 'suite', 'index.js'))) throw new Error('out/test/host is missing: run npm run build');
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  fs.mkdirSync(OUT, { recursive: true });
  const t0 = Date.now();
  const workspace = path.join(OUT, 'workspace');
  makeWorkspace(workspace);
  let failed = 0;
  if (!args.has('--vsix-only')) {
    const remote = await remoteDaemon();
    try {
      const code = await suite('dev', { devPath: ROOT, extensionsDir: path.join(OUT, 'dev-extensions'), workspace, env: remote.env(), probes: remote.probes });
      if (code !== 0) failed++;
    } finally {
      await remote.stop();
    }
  }
  if (!args.has('--skip-vsix')) {
    const extensionsDir = path.join(OUT, 'vsix-extensions');
    const existing = path.join(OUT, 'face-inversion-lab.vsix');
    installVsix(args.has('--reuse-vsix') && fs.existsSync(existing) ? existing : packageVsix(), extensionsDir);
    makeWorkspace(workspace);
    // A new user: a fresh user-data folder (no dataset setting), the installed extension (no LFW next to it).
    fs.rmSync(path.join(OUT, 'vsix', 'user-data'), { recursive: true, force: true });
    const tinyLfw = makeTinyLfw(path.join(OUT, 'tiny-lfw'));
    const code = await suite('vsix', { devPath: path.join(ROOT, 'test', 'host', 'vsixProbe'), extensionsDir, workspace, env: { FACEINV_HOST_SUITE: 'vsix', ...(tinyLfw ? { FACEINV_HOST_TINY_LFW: tinyLfw } : {}) } });
    if (code !== 0) failed++;
  }
  log(`${failed === 0 ? 'all host suites passed' : `${failed} host suite(s) failed`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return failed === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (err) => { console.error(`[host] ${err.stack ?? err}`); process.exit(2); });
