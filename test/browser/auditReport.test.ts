/**
 * The audit's report.html in Debian's Chromium (playwright-core), opened as a file with the network off:
 * the only request is the file itself, no CSP violation, console error or page error; every embedded face
 * decodes; the score-distribution SVG has its curves and thresholds; the verdict reads as the issue asks;
 * and the per-template list of a 100,000-template audit pages and filters. The report comes from the real
 * report code fed synthetic results (test/fixtures/syntheticAudit.ts), and, when LFW is present, from a
 * real audit. Saves .test-output/audit-report.png. Skips with a reason without /usr/bin/chromium.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { runAudit } from '../../daemon/audit/run';
import { initEngine } from '../../daemon/tfjs/backend';
import { makeAuditWorkspace, type AuditWorkspace } from '../fixtures/auditWorkspace';
import { writeSyntheticAudit } from '../fixtures/syntheticAudit';
import { lfwAvailable } from '../fixtures/tinyWorkspace';

const REPO = path.resolve(__dirname, '..', '..', '..');
const OUTPUT = path.join(REPO, '.test-output');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

interface Opened { page: Page; requests: string[]; problems: string[] }

describe('audit report in Chromium, offline', function () {
  this.timeout(300_000);
  let tmp: string;
  let context: BrowserContext | undefined;
  let aw: AuditWorkspace | undefined;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`    (skipped: no Chromium at ${CHROMIUM}; apt-get install -y chromium)`);
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-report-'));
    context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), { executablePath: CHROMIUM, headless: true, args: FLAGS, offline: true, viewport: { width: 1200, height: 900 } });
  });
  after(async () => {
    await context?.close();
    aw?.cleanup();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function open(file: string): Promise<Opened> {
    const page = await (context as BrowserContext).newPage();
    const requests: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(`file://${file}`);
    await page.waitForFunction(() => Array.from(document.images).every((i) => i.complete));
    return { page, requests, problems };
  }

  async function checkSelfContained(o: Opened, file: string, images: number): Promise<void> {
    const urls = o.requests.filter((u) => !u.startsWith('data:'));
    assert.deepEqual(urls, [`file://${file}`], 'the page fetched nothing but itself');
    const decoded = await o.page.$$eval('img', (imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth > 0 && (i as HTMLImageElement).src.startsWith('data:image/png;base64,')));
    assert.equal(decoded.length, images);
    assert.ok(decoded.every(Boolean), 'every face is an embedded PNG that decodes');
    const paths = await o.page.$$eval('svg.distribution path', (ps) => ps.map((p) => (p.getAttribute('d') ?? '').length));
    assert.ok(paths.length >= 4 && paths.every((n) => n > 10), `distribution curves: ${paths.join(', ')}`);
    assert.ok(await o.page.$$eval('svg.distribution line[stroke-dasharray="2 3"]', (l) => l.length) >= 1, 'threshold lines');
    assert.deepEqual(o.problems, []);
  }

  it('a 100,000-template report: self-contained, the verdict, and a list that pages and filters', async () => {
    const dir = path.join(tmp, 'big');
    const t0 = Date.now();
    const { html, results } = await writeSyntheticAudit(dir, 100_000);
    const seconds = (Date.now() - t0) / 1000;
    const o = await open(html);
    await checkSelfContained(o, html, 46); // 23 kept faces (row 13 is a skipped row) and their lookalikes
    const headline = await o.page.textContent('[data-testid="headline"]');
    assert.match(headline ?? '', /^\d+ of 99899 templates \(\d+\.\d %, 95 % CI \d+\.\d–\d+\.\d %\) yield a face this system accepts at FMR 1e-4; a lookalike from the reference set does so for \d+\.\d % \(95 % CI/);
    assert.match(await o.page.textContent('#verdict') ?? '', /At FMR 1e-7: not measurable/);
    const info = () => o.page.textContent('#list-info');
    assert.equal(await info(), 'page 1 of 1000 · 100000 templates');
    const firstRow = () => o.page.$eval('#list-body tr td', (td) => td.textContent);
    assert.equal(await firstRow(), '0');
    await o.page.click('#next');
    assert.equal(await info(), 'page 2 of 1000 · 100000 templates');
    assert.equal(await firstRow(), '100');
    await o.page.selectOption('#filter', 'skipped');
    const skipped = results.filter((r) => r.skipped).length;
    assert.equal(await info(), `page 1 of ${Math.ceil(skipped / 100)} · ${skipped} templates`);
    assert.equal(await o.page.$$eval('#list-body tr', (trs) => trs.length), Math.min(100, skipped));
    await o.page.selectOption('#filter', 'accepted');
    assert.match(await info() ?? '', /^page 1 of \d+ · \d+ templates$/);
    const size = fs.statSync(html).size;
    fs.mkdirSync(OUTPUT, { recursive: true });
    await o.page.screenshot({ path: path.join(OUTPUT, 'audit-report-100k.png'), fullPage: false });
    assert.deepEqual(o.problems, []);
    console.log(`      100,000-template report: ${(size / 1e6).toFixed(1)} MB, written in ${seconds.toFixed(1)} s`);
  });

  it('the report of a real audit (tiny LFW): self-contained, with reconstructions and lookalikes', async function () {
    if (!lfwAvailable()) {
      console.log('      (skipped: LFW not found at ../shared/data/lfw)');
      this.skip();
    }
    await initEngine({ backend: 'wasm' });
    aw = await makeAuditWorkspace();
    const out = await runAudit(aw.config({ keepImages: 6 }), { jobId: 't', signal: new AbortController().signal, workspaceDir: aw.dir, progress: () => undefined, log: () => undefined, setRunDir: () => undefined }, { cacheDir: aw.cacheDir, workers: 0 });
    const o = await open(out.files.html);
    await checkSelfContained(o, out.files.html, 12);
    assert.equal(await o.page.$$eval('.grid .cell', (c) => c.length), 6);
    await o.page.screenshot({ path: path.join(OUTPUT, 'audit-report.png'), fullPage: true });
  });
});
