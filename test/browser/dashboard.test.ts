/**
 * Browser test of the dashboard webview: the real HTML shell (extension/dashboard/html.ts, with its CSP and
 * nonce), the esbuild bundle (out/webview/dashboard.js) and the real DashboardController fed by a real daemon
 * (DaemonServer in this process, its run feed) through the extension's DaemonConnection, wired through a stub
 * `acquireVsCodeApi` in Debian's Chromium (playwright-core). A local HTTP server plays the webview resource
 * origin (`asWebviewUri`) for the bundle and the stylesheet only: the pictures travel through the daemon
 * protocol as data: URIs. The fixture is a finished black-box run (LFW crops as originals, blurred copies as
 * reconstructions), a running white-box run and a run attacked and evaluated by the real code. Saves
 * `.test-output/dashboard.png` (and the enlarged view) and asserts the loss curves were drawn, every face
 * image loaded, no CSP violation or page error happened, live metric lines reach the chart, the view state
 * survives a reload, and a daemon that goes away is announced and the view brought back when it returns.
 *
 * Run: `npm run test:browser` (builds first). Skips with a reason when /usr/bin/chromium is absent
 * (`apt-get install -y chromium`).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { tf } from '../../daemon/tfjs/tf';
import type { JobKind } from '../../daemon/jobs/defineJobKind';
import { probeJob } from '../../daemon/jobs/kinds/probe';
import { DaemonServer } from '../../daemon/server/server';
import { DaemonConnection } from '../../extension/connection';
import { DashboardController } from '../../extension/dashboard/controller';
import { dashboardHtml, newNonce } from '../../extension/dashboard/html';
import { appendMetrics, HAVE_LFW, makeRun, metricsLines, tempDir } from '../unit/webview/fixture';
import { EvaluatedRun, lfwAvailable, makeEvaluatedRun } from '../fixtures/evaluatedRun';
import { stubVsCodeApi } from './harness';

const REPO = path.resolve(__dirname, '..', '..', '..');
const BUNDLE = path.join(REPO, 'out', 'webview', 'dashboard.js');
const CSS = path.join(REPO, 'webview', 'dashboard.css');
const OUTPUT = path.join(REPO, '.test-output');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.map': 'application/json' };

const TOKEN = 'browser-test-token-0123456789';

/** A daemon serving `workspace` (its runs/), polled by the test (`server.runs.poll()`). */
async function startDaemon(workspace: string, port = 0): Promise<{ daemon: DaemonServer; url: string }> {
  const daemon = new DaemonServer({
    host: '127.0.0.1', port, token: TOKEN, workspaceDir: workspace,
    kinds: new Map([['probe', probeJob as unknown as JobKind]]),
    engine: { backend: 'cpu', reason: 'browser test', threads: 1, versions: {}, memory: () => tf.memory() },
    runFeed: { runPollMs: 0, listPollMs: 0 },
  });
  return { daemon, url: `ws://127.0.0.1:${await daemon.listen()}` };
}

/** Serves the page and its two assets, nothing else (no run file: the pictures come as data: URIs). */
function startServer(page: () => string): Promise<{ server: http.Server; origin: string }> {
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]);
    let file: string | undefined;
    if (url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page());
      return;
    }
    if (url === '/favicon.ico') { res.writeHead(204); res.end(); return; } // the browser's own request, not the page's
    if (url === '/assets/dashboard.js') file = BUNDLE;
    else if (url === '/assets/dashboard.js.map') file = BUNDLE + '.map';
    else if (url === '/assets/dashboard.css') file = CSS;
    if (!file || !fs.existsSync(file)) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

/** Pixels of the loss canvas close to an RGB colour (the curve colours). */
async function canvasPixelsNear(page: Page, rgb: [number, number, number]): Promise<number> {
  return page.evaluate(([r, g, b]) => {
    const canvas = document.getElementById('loss-chart') as HTMLCanvasElement;
    const ctx = canvas.getContext('2d');
    if (!ctx) return -1;
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 128 && Math.abs(data[i] - r) < 40 && Math.abs(data[i + 1] - g) < 40 && Math.abs(data[i + 2] - b) < 40) n++;
    }
    return n;
  }, rgb);
}

/** [loaded, total] face images (complete with a decoded width). */
async function imagesLoaded(page: Page, selector: string): Promise<[number, number]> {
  return page.evaluate((sel) => {
    const imgs = Array.from(document.querySelectorAll<HTMLImageElement>(sel));
    return [imgs.filter((i) => i.complete && i.naturalWidth > 0).length, imgs.length] as [number, number];
  }, selector);
}

describe('dashboard webview in Chromium', function () {
  this.timeout(300_000); // the before hook runs a real evaluation (three protocols, identity bootstrap)
  let tmp: string;
  let context: BrowserContext | undefined;
  let server: http.Server | undefined;
  let controller: DashboardController | undefined;
  let daemon: DaemonServer | undefined;
  let daemonUrl = '';
  let conn: DaemonConnection | undefined;
  let page: Page;
  /** One check of the daemon's watchers, then a moment for the deltas to reach the page. */
  const poll = async () => { daemon?.runs.poll(); await new Promise((r) => setTimeout(r, 300)); };
  let finishedDir: string;
  let evaluated: EvaluatedRun | undefined;
  const problems: string[] = [];
  const logs: string[] = [];

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`    (skipped: no Chromium at ${CHROMIUM}; apt-get install -y chromium)`);
      this.skip();
    }
    assert.ok(fs.existsSync(BUNDLE), `${BUNDLE} missing: run npm run build:webview`);
    if (!HAVE_LFW) console.log('    (LFW absent: synthetic face images instead of LFW crops)');
    tmp = tempDir('dashboard-browser');
    const runsRoot = path.join(tmp, 'ws', 'runs');
    finishedDir = await makeRun(runsRoot, 'bb-arcface-lfw', { steps: 300, faces: 6, manifest: { createdAt: '2026-11-27T09:00:00.000Z' } });
    await makeRun(runsRoot, 'wb-faceapi-search', {
      steps: 0, faces: 0, evaluation: false,
      manifest: {
        kind: 'whitebox', encoderId: 'faceapi-resnet128', embeddingDim: 128, state: 'running', trainSeconds: undefined,
        route: { chosen: 'whitebox', requested: 'auto', reason: 'tfjs graph model: gradients available' }, createdAt: '2026-11-27T08:00:00.000Z', progress: { step: 40, totalSteps: 100, epoch: 0, totalEpochs: 1 } },
    });
    appendMetrics(path.join(runsRoot, 'wb-faceapi-search'), Array.from({ length: 40 }, (_, s) => ({ time: 't', step: s, split: 'search' as const, loss: 1 - s / 50, cosine: 0.1 + s / 50 })));
    if (lfwAvailable()) {
      // A run attacked and evaluated by the real code, with one reconstruction the detector cannot find.
      evaluated = await makeEvaluatedRun('evaluated-for-real');
      fs.cpSync(evaluated.runDir, path.join(runsRoot, 'evaluated-for-real'), { recursive: true });
      const m = path.join(runsRoot, 'evaluated-for-real', 'run.json');
      fs.writeFileSync(m, JSON.stringify({ ...JSON.parse(fs.readFileSync(m, 'utf8')), createdAt: '2026-11-26T08:00:00.000Z' }));
    } else {
      console.log('    (LFW absent: the real-evaluation dashboard test is skipped)');
    }

    await tf.setBackend('cpu');
    ({ daemon, url: daemonUrl } = await startDaemon(path.join(tmp, 'ws')));
    conn = new DaemonConnection({ backoff: { initialMs: 50, maxMs: 200, factor: 2, maxAttempts: 200 } });
    await conn.connect({ url: daemonUrl, token: TOKEN, remote: true });

    let origin = '';
    const started = await startServer(() => dashboardHtml({
      cspSource: origin, scriptUri: `${origin}/assets/dashboard.js`, styleUri: `${origin}/assets/dashboard.css`, nonce: newNonce(),
    }));
    server = started.server;
    origin = started.origin;

    fs.mkdirSync(OUTPUT, { recursive: true });
    context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
      executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1,
    });
    page = context.pages()[0] ?? await context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });

    controller = new DashboardController({
      post: (msg) => { void page.evaluate((m) => window.postMessage(m, '*'), msg).catch(() => undefined); },
      openImage: (p) => logs.push(`open ${p.which} ${p.face} ${p.bytes.length} bytes`),
      reconnect: (remote) => logs.push(`reconnect ${remote}`),
      log: (m) => logs.push(m),
    }, { link: conn });
    const ctl = controller;
    await page.exposeFunction('__toExtension', (msg: unknown) => ctl.handle(msg));
    await stubVsCodeApi(page);
    await page.goto(origin + '/');
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
    await page.waitForFunction(() => {
      const imgs = Array.from(document.querySelectorAll<HTMLImageElement>('.faces img'));
      return imgs.length === 12 && imgs.every((i) => i.complete);
    }, undefined, { timeout: 20_000 });
  });

  after(async () => {
    evaluated?.ws.cleanup();
    controller?.dispose();
    await conn?.disconnect();
    await daemon?.close();
    await context?.close();
    server?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('shows the newest run with loss curves, faces next to originals, the SAR table and the history', async () => {
    await page.screenshot({ path: path.join(OUTPUT, 'dashboard.png'), fullPage: true });
    assert.equal(await page.textContent('#header h1'), 'bb-arcface-lfw');
    const train = await canvasPixelsNear(page, [0x37, 0x94, 0xff]);
    const test = await canvasPixelsNear(page, [0xd1, 0x86, 0x16]);
    assert.ok(train > 200, `train-loss curve pixels on the canvas: ${train}`);
    assert.ok(test > 100, `test-loss curve pixels on the canvas: ${test}`);
    assert.equal(await page.isVisible('#chart-empty'), false, 'the "no metrics" note is hidden when curves are drawn');
    const [loaded, total] = await imagesLoaded(page, '.faces img');
    assert.equal(total, 12, '6 reconstructions + 6 originals');
    assert.equal(loaded, total, 'every face image loaded');
    const rows = await page.$$eval('table[data-testid="sar-table-redetect"] tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent?.trim() ?? '')));
    assert.equal(rows.length, 6, 'attack + 2 baselines for each of 2 encoders');
    assert.match(rows[0][0], /^attack\s*1 of 6 failed \(1 no-face\)$/);
    assert.match(rows[0][1], /^arcface512-faceplugin\s*attacked$/);
    assert.match(rows[1][0], /nearest training face/);
    assert.match(rows[3][1], /faceapi-resnet128\s*transfer/);
    assert.deepEqual(rows[0].slice(2, 6), ['83.3 %', '66.7 %', '50.0 %', '16.7 %']);
    assert.equal(await page.$$eval('table[data-testid="sar-table-direct"] tbody tr', (trs) => trs.length), 6);
    assert.match(await page.textContent('.quality') ?? '', /SSIM 0\.412 · PSNR 17\.8 dB/);
    // Verdict sentences from the SAR rows; this fixture's report predates the score distribution.
    assert.match(await page.textContent('[data-testid="verdict"]') ?? '', /of 6 held-out templates \(.*\) yield a face arcface512-faceplugin accepts at FMR 1e-3; a lookalike from the attacker's training photos does so for/);
    assert.match(await page.textContent('#distribution') ?? '', /has no score distribution \(written by an older version\)/);
    assert.equal(await page.$$eval('.faces [data-verdict="no-face"]', (b) => b.length), 1, 'the failed reconstruction is drawn as "no face"');
    const history = await page.$$eval('.runs .run', (bs) => bs.map((b) => [b.getAttribute('data-run'), b.querySelector('.state')?.textContent]));
    assert.deepEqual(history.filter(([n]) => n !== 'evaluated-for-real'), [['bb-arcface-lfw', 'finished'], ['wb-faceapi-search', 'running']]);
    // A malformed whole state and an undeclared method are dropped: the view stays as it was.
    const warnings: string[] = [];
    const onConsole = (m: { type(): string; text(): string }) => { if (m.type() === 'warning') warnings.push(m.text()); };
    page.on('console', onConsole);
    await page.evaluate(() => {
      window.postMessage({ method: 'dashboard/state', params: { runs: 'nope' } }, '*');
      window.postMessage({ method: 'dashboard/bogus', params: {} }, '*');
    });
    await page.waitForFunction(() => true);
    await new Promise((r) => setTimeout(r, 200));
    page.off('console', onConsole);
    assert.equal(warnings.filter((w) => w.includes('matches no declaration')).length, 2, warnings.join('\n'));
    assert.equal(await page.textContent('#header h1'), 'bb-arcface-lfw');
    assert.equal((await imagesLoaded(page, '.faces img'))[1], 12);
    const csp = await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);
    assert.deepEqual(csp, [], 'no CSP violations');
    assert.deepEqual(problems, []);
  });

  it('shows the SAR tables and badges of a report the real evaluation wrote, with a failed reconstruction', async function () {
    if (!evaluated) this.skip();
    await page.click('.runs .run[data-run="evaluated-for-real"]');
    await page.waitForFunction(() => document.querySelector('#header h1')?.textContent === 'evaluated-for-real');
    await page.waitForSelector('table[data-testid="sar-table-redetect"]', { timeout: 10_000 });
    const rows = await page.$$eval('table[data-testid="sar-table-redetect"] tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    // Per scoring encoder: the attack, two baselines and the real photos' own crops (the control row).
    assert.equal(rows.length, 8);
    assert.match(rows[0], /attack.*1 of \d+ failed \(1 no-face\)/);
    assert.equal(rows.filter((r) => /real crop \(control\)/.test(r)).length, 2);
    assert.equal(await page.$('[data-testid="sar-problem"]'), null, 'no "cannot read this report" problem');
    await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLImageElement>('.faces img')).every((i) => i.complete));
    const badges = await page.$$eval('.faces .badge', (b) => b.map((x) => x.getAttribute('data-verdict')));
    assert.equal(badges.length, (evaluated as EvaluatedRun).report.items.length, 'every reconstruction has its badge');
    assert.equal(badges.filter((b) => b === 'no-face').length, 1);
    // The score distribution the real evaluation wrote: real pairs, the attack and the baseline, the thresholds.
    await page.waitForSelector('[data-testid="distribution"] svg.distribution');
    const curves = await page.$$eval('#distribution svg.distribution path', (ps) => ps.map((p) => p.getAttribute('data-key')));
    assert.deepEqual(curves.slice(0, 2), ['genuine', 'impostor']);
    assert.ok(curves.includes('attack/redetect') && curves.includes('nearest-face/redetect'), curves.join(', '));
    assert.equal(await page.$$eval('#distribution svg line.threshold', (l) => l.length), (evaluated as EvaluatedRun).report.operatingPoints.length);
    assert.ok(await page.$$eval('[data-testid="verdict"] li', (l) => l.length) >= 2);
    await page.screenshot({ path: path.join(OUTPUT, 'dashboard-evaluated.png'), fullPage: true });
    await page.click('.runs .run[data-run="bb-arcface-lfw"]');
    await page.waitForFunction(() => document.querySelector('#header h1')?.textContent === 'bb-arcface-lfw');
    assert.deepEqual(problems, []);
  });

  it('enlarges a face on click, opens its image through the extension, closes on Escape', async () => {
    await page.click('.face >> nth=0');
    await page.waitForSelector('.lightbox');
    await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLImageElement>('.lightbox img')).every((i) => i.complete));
    const [loaded, total] = await imagesLoaded(page, '.lightbox img');
    assert.deepEqual([loaded, total], [2, 2]);
    await page.screenshot({ path: path.join(OUTPUT, 'dashboard-enlarged.png') });
    await page.click('.lightbox button:has-text("Open reconstruction")');
    await page.waitForFunction(() => true);
    await new Promise((r) => setTimeout(r, 200));
    const png = fs.readFileSync(path.join(finishedDir, 'reconstructions', `${await page.getAttribute('.face >> nth=0', 'data-id')}.png`));
    assert.ok(logs.includes(`open image ${await page.getAttribute('.face >> nth=0', 'data-id')} ${png.length} bytes`), logs.join('\n'));
    await page.keyboard.press('Escape');
    assert.equal(await page.$('.lightbox'), null);
  });

  it('draws metric lines appended while shown', async () => {
    const before = await canvasPixelsNear(page, [0x37, 0x94, 0xff]);
    const x0 = await page.evaluate(() => document.querySelector('#loss-chart')?.getAttribute('width'));
    const lines0 = Number(await page.getAttribute('#loss-chart', 'data-lines'));
    appendMetrics(finishedDir, metricsLines(300, 300).map((l) => ({ ...l, loss: l.loss + 0.5 })));
    await poll();
    await page.waitForFunction((n) => Number(document.getElementById('loss-chart')?.getAttribute('data-lines')) > n, lines0, { timeout: 10_000 });
    assert.equal(Number(await page.getAttribute('#loss-chart', 'data-lines')), lines0 + 330, 'the appended lines (300 train + 30 test) reached the chart');
    const after = await canvasPixelsNear(page, [0x37, 0x94, 0xff]);
    assert.notEqual(after, before, `the curve changed (pixels ${before} → ${after}, canvas width ${x0})`);
  });

  it('switches runs from the history and keeps the choice and log scale across a reload', async () => {
    await page.click('.runs .run[data-run="wb-faceapi-search"]');
    await page.waitForFunction(() => document.querySelector('#header h1')?.textContent === 'wb-faceapi-search');
    assert.match(await page.textContent('#chart-title') ?? '', /cosine/);
    assert.ok(await canvasPixelsNear(page, [0x89, 0xd1, 0x85]) > 100, 'cosine curve drawn for the white-box run');
    await page.screenshot({ path: path.join(OUTPUT, 'dashboard-whitebox.png') });
    await page.check('#log-scale');
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForFunction(() => document.querySelector('#header h1')?.textContent === 'wb-faceapi-search', undefined, { timeout: 10_000 });
    assert.equal(await page.isChecked('#log-scale'), true);
    assert.deepEqual(problems, []);
  });

  it('says so when the shown run folder is deleted', async () => {
    fs.rmSync(path.join(path.dirname(finishedDir), 'wb-faceapi-search'), { recursive: true });
    await poll();
    await page.waitForSelector('.banner', { timeout: 10_000 });
    assert.match(await page.textContent('.banner') ?? '', /was deleted/);
    assert.equal(await page.textContent('#header .state'), 'removed');
  });
  it('shows the run budget: a finished 5-minute run at 100 % with why it stopped; an older run.json names what it lacks', async () => {
    const runsRoot = path.dirname(finishedDir);
    await makeRun(runsRoot, 'timed-5min', {
      steps: 20, faces: 0, evaluation: false,
      manifest: {
        createdAt: '2026-11-26T08:00:00.000Z', trainSeconds: 301, stopReason: 'budget of 5 min reached',
        progress: { step: 149, totalSteps: 5310, epoch: 0, totalEpochs: 30, budget: { kind: 'minutes', used: 5.01, limit: 5 } },
      },
    });
    await makeRun(runsRoot, 'old-format', { steps: 20, faces: 0, evaluation: false, manifest: { createdAt: '2026-11-25T08:00:00.000Z', progress: { step: 149, totalSteps: 5310, epoch: 0, totalEpochs: 30 } } });
    await poll();
    await page.waitForSelector('.runs .run[data-run="old-format"]', { timeout: 10_000 });
    await page.click('.runs .run[data-run="timed-5min"]');
    await page.waitForFunction(() => document.querySelector('#header h1')?.textContent === 'timed-5min');
    assert.equal(await page.getAttribute('#header .progress', 'aria-valuenow'), '100');
    assert.equal(await page.textContent('#header .progress-text'), 'budget of 5 min reached · 5.01 / 5 min · step 149 of 5310 planned · 0.84 of 30 epochs');
    assert.doesNotMatch(await page.textContent('#header') ?? '', /epoch 0 \/ 30/);
    assert.equal(await page.$('#header .missing'), null);
    await page.screenshot({ path: path.join(OUTPUT, 'dashboard-budget.png') });
    await page.click('.runs .run[data-run="old-format"]');
    await page.waitForFunction(() => document.querySelector('#header h1')?.textContent === 'old-format');
    assert.equal(await page.getAttribute('#header .progress', 'aria-valuenow'), '100', 'a finished run is done, not at 3 %');
    assert.equal(await page.textContent('#header .progress-text'), 'step 149 / 5310 · 0.84 of 30 epochs');
    assert.equal(await page.textContent('#header .missing'), 'budget and stop reason not recorded (run.json of an older version)');
    assert.deepEqual(problems, []);
  });

  it('says so when the daemon goes away, offers to connect again, and is brought back up to date when it returns', async () => {
    await page.click('.runs .run[data-run="bb-arcface-lfw"]');
    await page.waitForFunction(() => document.querySelector('#header h1')?.textContent === 'bb-arcface-lfw');
    const lines0 = Number(await page.getAttribute('#loss-chart', 'data-lines'));
    const port = Number(new URL(daemonUrl).port);
    await daemon?.close();
    await page.waitForSelector('[data-testid="banner"]', { timeout: 10_000 });
    assert.match(await page.textContent('[data-testid="banner"]') ?? '', new RegExp(`Lost the daemon at ${daemonUrl.replace(/[.]/g, '\\.')}; reconnecting`));
    // A daemon being reached again is said to be, not just "not connected".
    assert.match(await page.textContent('#header .daemon') ?? '', new RegExp(`reconnecting to ${daemonUrl.replace(/[.]/g, '\\.')}…`));
    assert.equal(await page.textContent('#header h1'), 'bb-arcface-lfw', 'what was shown stays');
    await page.click('[data-testid="banner"] button:has-text("Connect to Daemon…")');
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(logs.includes('reconnect true'), logs.slice(-5).join('\n'));
    appendMetrics(finishedDir, metricsLines(50, 600)); // while no daemon serves it
    ({ daemon } = await startDaemon(path.join(path.dirname(path.dirname(finishedDir))), port));
    await page.waitForSelector('[data-testid="banner"]', { state: 'detached', timeout: 20_000 });
    await page.waitForFunction((n) => Number(document.getElementById('loss-chart')?.getAttribute('data-lines')) === n + 55, lines0, { timeout: 10_000 });
    assert.match(await page.textContent('#header .daemon') ?? '', /remote daemon ws:\/\/127\.0\.0\.1/);
    await page.screenshot({ path: path.join(OUTPUT, 'dashboard-reconnected.png') });
    assert.deepEqual(problems, []);
  });
});
