/**
 * What the dashboard shows of a run, in Chromium with the real daemon feed and controller
 * (harness.ts): the name of an evaluated run in the history, a cancelled run's stop reason,
 * a running PCA run's method, the query-search chart's axis and the score-distribution
 * plot's threshold labels. Saves the screenshots under docs/screenshots/ that the README shows.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { histogramOf } from '../../daemon/protocol/distribution';
import type { EvaluationReport } from '../../daemon/protocol/report';
import { Type } from '@sinclair/typebox';
import type { JobKind } from '../../daemon/jobs/defineJobKind';
import { JobCancelledError, type JobContext } from '../../daemon/jobs/context';
import { announcePhase, runPhases } from '../../daemon/attack/phases';
import { makeRun, manifest, tempDir, writeJson } from '../unit/webview/fixture';
import { BUNDLE, CHROMIUM, openDashboard, REPO, showRun, type Dashboard } from './harness';

const SHOTS = path.join(REPO, 'docs', 'screenshots');

/** Seeded normal-ish scores (sum of uniforms) around `mean`. */
function scores(n: number, mean: number, spread: number, seed: number): number[] {
  let s = seed;
  const u = () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
  return Array.from({ length: n }, () => mean + spread * (u() + u() + u() + u() - 2));
}

/** A report's score distribution as the evaluation writes it, thresholds one to two bins apart (as ArcFace's are). */
function distribution(): NonNullable<EvaluationReport['distribution']> {
  return {
    encoderId: 'arcface512-faceplugin', pairsFrom: 'the 1,200 real photos of the 300 held-out identities', start: -1, width: 0.02,
    histograms: [
      histogramOf('genuine', 'genuine pairs', scores(4000, 0.62, 0.25, 1)),
      histogramOf('impostor', 'impostor pairs', scores(200000, 0.0, 0.2, 2)),
      histogramOf('attack/redetect', 'attack (re-detected)', scores(300, 0.45, 0.25, 3)),
      histogramOf('nearest-face/redetect', 'nearest training face (re-detected)', scores(300, 0.2, 0.2, 4)),
    ],
    thresholds: [{ fmr: 1e-3, threshold: 0.301, lowSupport: false }, { fmr: 1e-4, threshold: 0.335, lowSupport: false }, { fmr: 1e-5, threshold: 0.372, lowSupport: true }],
  };
}

/**
 * A run job in stages, driven by the test: it writes its run folder, announces it and its setup phase
 * (through daemon/attack/phases.ts, as the orchestrator does), then on `next()` ends a query search on its
 * budget and starts the evaluation, which lasts until cancelled.
 */
const staged = { next: () => undefined as void };
const stagedRun = {
  kind: 'staged-run', summary: 'test', label: (p: { run: string }) => `run ${p.run}`,
  params: Type.Object({ run: Type.String() }),
  async run(p: { run: string }, ctx: JobContext) {
    const dir = path.join(ctx.workspaceDir, 'runs', p.run);
    fs.mkdirSync(dir, { recursive: true });
    writeJson(path.join(dir, 'run.json'), manifest(p.run, { state: 'running', createdAt: new Date().toISOString(), progress: undefined, trainSeconds: undefined }));
    ctx.setRunDir(dir);
    const phase = runPhases(true);
    announcePhase(ctx, { ...phase('setup', "embedding the attacker's photos"), done: 3200, total: 10678 });
    // Also ends on cancel, so a failed test's daemon can still close.
    await new Promise<void>((resolve) => { staged.next = resolve; ctx.signal.addEventListener('abort', () => resolve()); });
    if (ctx.signal.aborted) throw new JobCancelledError();
    announcePhase(ctx, phase('attack', 'query search'));
    ctx.progress(400, 400, { cosine: 0.7 }, 'query search done', { budget: { kind: 'queries', used: 400, limit: 400 }, stopReason: 'budget of 40 queries per target reached' });
    announcePhase(ctx, phase('evaluation', 'evaluating the reconstructions'));
    while (!ctx.signal.aborted) await new Promise((r) => setTimeout(r, 50));
    throw new JobCancelledError();
  },
} as unknown as JobKind;

describe('dashboard runs in Chromium', function () {
  this.timeout(120_000);
  let tmp: string;
  let d: Dashboard | undefined;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`    (skipped: no Chromium at ${CHROMIUM}; apt-get install -y chromium)`);
      this.skip();
    }
    assert.ok(fs.existsSync(BUNDLE), `${BUNDLE} missing: run npm run build:webview`);
    tmp = tempDir('dashboard-runs');
    const runs = path.join(tmp, 'ws', 'runs');
    const evaluated = await makeRun(runs, 'bb-arcface-evaluated', {
      steps: 300, faces: 6,
      manifest: { createdAt: '2026-12-05T09:00:00.000Z', method: 'black box: decoder (4 epochs); the decoder\'s answer as start; no per-target queries', stopReason: 'budget of 4 epochs reached' },
    });
    const reportFile = path.join(evaluated, 'evaluation', 'report.json');
    writeJson(reportFile, { ...JSON.parse(fs.readFileSync(reportFile, 'utf8')), distribution: distribution() });
    await makeRun(runs, 'pca-query-running', {
      steps: 0, faces: 0, evaluation: false,
      manifest: { createdAt: '2026-12-05T08:00:00.000Z', state: 'running', trainSeconds: undefined, progress: { step: 1200, totalSteps: 5000, budget: { kind: 'queries', used: 1200, limit: 5000 } } },
    });
    const query = await makeRun(runs, 'query-search', {
      steps: 0, faces: 0, evaluation: false,
      manifest: { createdAt: '2026-12-05T07:00:00.000Z', method: 'black box: PCA face model; ridge-regression start; zeroth-order search, 96 queries per target', stopReason: 'budget of 96 queries per target reached', progress: { step: 1920, totalSteps: 1920, budget: { kind: 'queries', used: 1920, limit: 1920 } } },
    });
    fs.writeFileSync(path.join(query, 'metrics.jsonl'), Array.from({ length: 12 }, (_, i) => [
      { time: 't', step: i * 8, split: 'search', loss: 0.6 - i * 0.02, cosine: 0.4 + i * 0.02 },
      { time: 't', step: i * 8, split: 'search', loss: 0.5 - i * 0.02, cosine: 0.5 + i * 0.02, target: 'Aaron_Peirsol/Aaron_Peirsol_0001.jpg' },
    ]).flat().map((l) => JSON.stringify(l) + '\n').join(''));
    await makeRun(runs, 'cancelled-search', {
      steps: 0, faces: 0, evaluation: false,
      manifest: {
        createdAt: '2026-12-05T06:00:00.000Z', state: 'interrupted', trainSeconds: undefined,
        stopReason: 'cancelled before the attack finished (run the config again to start it over)',
        progress: { step: 700, totalSteps: 1920, budget: { kind: 'queries', used: 700, limit: 1920 } },
      },
    });
    fs.mkdirSync(SHOTS, { recursive: true });
    d = await openDashboard(path.join(tmp, 'ws'), path.join(tmp, 'profile'), new Map([['staged-run', stagedRun]]));
  });

  after(async () => {
    await d?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('names every run in the history, evaluated ones with their figures too', async () => {
    const page = (d as Dashboard).page;
    await showRun(page, 'bb-arcface-evaluated');
    const rows = await page.$$eval('.runs .run', (bs) => bs.map((b) => ({
      run: b.getAttribute('data-run'), nameWidth: (b.querySelector('.name') as HTMLElement).getBoundingClientRect().width,
      nameText: b.querySelector('.name')?.textContent, figures: !!b.querySelector('[data-testid="run-figures"]'),
    })));
    const evaluated = rows.find((r) => r.run === 'bb-arcface-evaluated');
    assert.ok(evaluated?.figures, 'the evaluated run shows its figures');
    for (const r of rows) assert.ok(r.nameWidth > 60, `run ${r.run}: name column ${r.nameWidth} px wide`);
    await page.locator('.sidebar').screenshot({ path: path.join(SHOTS, 'run-history.png') });
    assert.deepEqual((d as Dashboard).problems, []);
  });

  it('labels a running PCA run by its route only, not as a decoder', async () => {
    const page = (d as Dashboard).page;
    await showRun(page, 'pca-query-running');
    const method = await page.textContent('#header .method') ?? '';
    assert.equal(method, 'black box');
    assert.doesNotMatch(method, /decoder/);
  });

  it('puts the cosine axis on the left of a query-search chart, with no "loss" axis', async () => {
    const page = (d as Dashboard).page;
    await showRun(page, 'query-search');
    await page.waitForFunction(() => Number(document.getElementById('loss-chart')?.getAttribute('data-lines')) > 0);
    const axes = await page.getAttribute('#loss-chart', 'data-axes') ?? '';
    assert.equal(axes, 'left:cosine', `value axes shown: ${axes}`);
    // A decoder's training curves keep their loss axis.
    await showRun(page, 'bb-arcface-evaluated');
    await page.waitForFunction(() => document.getElementById('loss-chart')?.getAttribute('data-axes') === 'left:loss');
  });

  it('says why a cancelled run stopped instead of blaming an older run.json', async () => {
    const page = (d as Dashboard).page;
    await showRun(page, 'cancelled-search');
    const header = await page.textContent('#header') ?? '';
    assert.match(header, /cancelled before the attack finished/);
    assert.doesNotMatch(header, /not recorded|older version|still searching/);
    assert.equal(await page.textContent('#header .state'), 'interrupted');
    await page.screenshot({ path: path.join(SHOTS, 'cancelled-run.png'), clip: { x: 0, y: 0, width: 1280, height: 420 } });
  });

  it('says the daemon is starting while it restarts, keeps the view, and is live again after', async () => {
    const dash = d as Dashboard;
    const page = dash.page;
    await showRun(page, 'query-search');
    let during = { daemon: '', banner: '', runs: 0, title: '' };
    await dash.restart(async () => {
      await page.waitForFunction(() => !/connected$/.test(document.querySelector('#header .daemon')?.textContent ?? ''), undefined, { timeout: 5_000 }).catch(() => undefined);
      during = await page.evaluate(() => ({
        daemon: document.querySelector('#header .daemon')?.textContent ?? '',
        banner: document.querySelector('[data-testid="banner"]')?.textContent ?? '',
        runs: document.querySelectorAll('.runs .run').length,
        title: document.querySelector('#header h1')?.textContent ?? '',
      }));
    });
    assert.equal(during.daemon, 'daemon starting…', JSON.stringify(during));
    assert.match(during.banner, /Starting the local daemon… The view keeps what it has/);
    assert.doesNotMatch(`${during.daemon} ${during.banner}`, /not connected|No daemon is connected|Loading/);
    assert.equal(during.title, 'query-search', 'the run shown stays while the daemon restarts');
    assert.ok(during.runs >= 4, 'the history stays');
    await page.waitForFunction(() => document.querySelector('#header .daemon')?.textContent === 'daemon connected', undefined, { timeout: 10_000 });
    assert.equal(await page.textContent('#header h1'), 'query-search', 'the same run is shown by the new daemon');
  });

  it('shows a new run at once, in its setup phase, and never calls it done while it evaluates', async () => {
    const dash = d as Dashboard;
    const page = dash.page;
    await showRun(page, 'bb-arcface-evaluated');
    const job = dash.daemon.queue.submit('staged-run', { run: 'fresh-run' });
    // The job has announced its run folder and its first phase: the view switches to it without a click.
    await page.waitForFunction(() => document.querySelector('#header h1')?.textContent === 'fresh-run', undefined, { timeout: 10_000 });
    await page.waitForFunction(() => /embedding the attacker's photos 3,200 \/ 10,678/.test(document.querySelector('#header')?.textContent ?? ''), undefined, { timeout: 10_000 });
    const header = await page.textContent('#header') ?? '';
    assert.match(header, /running · 1\/3 embedding the attacker's photos 3,200 \/ 10,678/);
    assert.doesNotMatch(header, /step 3200/, 'the count is said once');
    assert.equal(await page.getAttribute('#header .progress', 'aria-valuenow'), '30', 'the bar is the phase\'s: 3,200 of 10,678 photos');
    await page.screenshot({ path: path.join(SHOTS, 'running-setup.png'), clip: { x: 0, y: 0, width: 1280, height: 420 } });
    // The search ends on its budget; the evaluation follows: the header says so, not "done" or 100 %.
    staged.next();
    await page.waitForFunction(() => /3\/3 evaluating the reconstructions/.test(document.querySelector('#header')?.textContent ?? ''), undefined, { timeout: 10_000 });
    const evaluating = await page.textContent('#header') ?? '';
    assert.doesNotMatch(evaluating, /100 %|budget of 40 queries per target reached|still searching/);
    assert.equal((await page.$$('#header .progress-text')).length + (await page.$$('#header .job-line')).length, 1, 'one progress line');
    dash.daemon.queue.cancel(job.id);
    await dash.daemon.queue.idle();
  });

  it('draws the score-distribution thresholds with labels that do not overlap', async () => {
    const page = (d as Dashboard).page;
    await showRun(page, 'bb-arcface-evaluated');
    await page.waitForSelector('#distribution svg.distribution text.threshold-label');
    const geometry = await page.$$eval('#distribution svg.distribution', ([svg]) => {
      const box = (e: Element) => { const r = e.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; };
      const labels = Array.from(svg.querySelectorAll('text')).filter((t) => /^FMR /.test(t.textContent ?? ''));
      const lines = Array.from(svg.querySelectorAll('line.threshold')).map((l) => box(l).x);
      // What is painted on top of each label's box after the label's own background: lines drawn later cross it.
      const order = Array.from(svg.children);
      return labels.map((t) => {
        const bg = t.previousElementSibling;
        const covered = !!bg && bg.tagName === 'rect' && order.indexOf(bg) > Math.max(...Array.from(svg.querySelectorAll('line.threshold')).map((l) => order.indexOf(l)));
        return { text: t.textContent ?? '', box: box(t), bg: covered ? box(bg as Element) : null, lines };
      });
    });
    assert.equal(geometry.length, 3, geometry.map((g) => g.text).join(', '));
    for (let i = 0; i < geometry.length; i++) {
      const a = geometry[i].box;
      for (let j = i + 1; j < geometry.length; j++) {
        const b = geometry[j].box;
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        assert.ok(!overlap, `labels "${geometry[i].text}" ${JSON.stringify(a)} and "${geometry[j].text}" ${JSON.stringify(b)} overlap`);
      }
      // Another threshold's dotted line through a label is hidden by the label's background, drawn after every line.
      const crossed = geometry[i].lines.filter((x) => x > a.x + 1 && x < a.x + a.w - 1);
      if (crossed.length) {
        const bg = geometry[i].bg;
        assert.ok(bg && bg.x <= a.x && bg.x + bg.w >= a.x + a.w && bg.y <= a.y + 0.5 && bg.y + bg.h >= a.y + a.h - 0.5,
          `label "${geometry[i].text}" ${JSON.stringify(a)} is crossed by a threshold line at x=${crossed.join(', ')} and has no background over it (${JSON.stringify(bg)})`);
      }
    }
    await page.locator('#distribution').screenshot({ path: path.join(SHOTS, 'score-distribution.png') });
    await page.screenshot({ path: path.join(SHOTS, 'finished-run.png') });
    assert.deepEqual((d as Dashboard).problems, []);
  });
});
