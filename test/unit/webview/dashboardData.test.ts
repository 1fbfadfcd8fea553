/**
 * Data shaping of the dashboard webview (webview/src/dashboardData.ts), pure functions under Node.
 */
import * as assert from 'node:assert/strict';
import type { DashboardState, RunView } from '../../../daemon/protocol/webview';
import { EvaluationMessage, FacesMessage, JobMessage, MetricsMessage, RunRemovedMessage, RunsMessage, StateMessage } from '../../../daemon/protocol/webview';
import {
  applyMessage, curves, downsample, faceCards, formatRate, historyRows, jobLine, mergeProblems, progressFraction, restoreViewState, runProgress, sarTable,
} from '../../../webview/src/dashboardData';
import { manifest, metricsLines } from './fixture';

function run(over: Partial<RunView> = {}): RunView {
  return {
    name: 'r1', dir: '/ws/runs/r1', manifest: manifest('r1'), metrics: metricsLines(20), evaluation: null, job: null, problems: [], removed: false,
    faces: [
      { id: 'a', identity: 'Ann', imageUri: 'u:a', imagePath: '/a.png', originalUri: 'u:ao', originalPath: '/ao.png', cosine: 0.4 },
      { id: 'b', imageUri: 'u:b', imagePath: '/b.png' },
    ],
    ...over,
  };
}

function state(over: Partial<DashboardState> = {}): DashboardState {
  return { runsRoot: '/ws/runs', runs: [], selected: run(), daemonConnected: true, ...over };
}

describe('dashboardData', () => {
  describe('applyMessage', () => {
    it('replaces everything on dashboard/state and ignores deltas before it', () => {
      assert.equal(applyMessage(null, MetricsMessage.create({ run: 'r1', lines: metricsLines(1) })), null);
      const s = state();
      assert.equal(applyMessage(null, StateMessage.create(s)), s);
    });

    it('appends metric lines of the shown run and keeps other slices identical', () => {
      const s = state();
      const before = s.selected!.metrics.length;
      const more = metricsLines(3, 20);
      const next = applyMessage(s, MetricsMessage.create({ run: 'r1', lines: more, problems: ['bad line 7'] }));
      assert.ok(next?.selected);
      assert.equal(next.selected.metrics.length, before + more.length);
      assert.deepEqual(next.selected.metrics.slice(-3), more);
      assert.deepEqual(next.selected.problems, ['bad line 7']);
      assert.equal(next.selected.faces, s.selected!.faces, 'faces slice must stay the same object (no re-render)');
      assert.equal(next.runs, s.runs);
      assert.equal(s.selected!.metrics.length, before, 'the old state is not mutated');
    });

    it('ignores run-scoped messages for another run', () => {
      const s = state();
      assert.equal(applyMessage(s, MetricsMessage.create({ run: 'other', lines: metricsLines(2) })), s);
      assert.equal(applyMessage(s, EvaluationMessage.create({ run: 'other', evaluation: null })), s);
    });

    it('applies faces, job, runs, removal', () => {
      let s: DashboardState | null = state();
      s = applyMessage(s, FacesMessage.create({ run: 'r1', faces: [] }));
      assert.deepEqual(s?.selected?.faces, []);
      s = applyMessage(s, JobMessage.create({ run: 'r1', job: { jobId: 'j1', state: 'running', step: 5, total: 10 } }));
      assert.equal(s?.selected?.job?.jobId, 'j1');
      s = applyMessage(s, RunsMessage.create({ runs: [{ name: 'x', dir: '/x', state: 'unknown', createdAt: 't', hasReport: false }] }));
      assert.equal(s?.runs.length, 1);
      s = applyMessage(s, RunRemovedMessage.create({ run: 'r1', message: 'Run folder gone.' }));
      assert.equal(s?.selected?.removed, true);
      assert.equal(s?.message, 'Run folder gone.');
    });
  });

  it('mergeProblems drops duplicates and keeps the newest max', () => {
    assert.deepEqual(mergeProblems(['a', 'b'], ['b', 'c'], 2), ['b', 'c']);
  });

  describe('curves', () => {
    it('splits train/test loss for a black-box run, in step order', () => {
      const c = curves(metricsLines(100), 'blackbox');
      assert.equal(c.train.length, 100);
      assert.equal(c.test.length, 10);
      assert.equal(c.cosine.length, 0);
      assert.ok(c.train[0].y > c.train[99].y, 'fixture loss decreases');
      assert.match(c.title, /Decoder training/);
    });

    it('gives search loss and cosine for a white-box run, skipping non-finite values', () => {
      const lines = [0, 1, 2].map((s) => ({ time: 't', step: s, split: 'search' as const, loss: s === 1 ? NaN : 1 - s * 0.1, cosine: 0.2 + s * 0.1 }));
      const c = curves(lines, 'whitebox');
      assert.deepEqual(c.search.map((p) => p.x), [0, 2]);
      assert.deepEqual(c.cosine.map((p) => p.y.toFixed(1)), ['0.2', '0.3', '0.4']);
      assert.match(c.title, /cosine/);
    });

    it('downsamples to at most max points, keeping first and last exactly and the mean', () => {
      const pts = Array.from({ length: 10_000 }, (_, i) => ({ x: i, y: i % 2 }));
      const d = downsample(pts, 100);
      assert.ok(d.length <= 100 && d.length >= 98, `got ${d.length}`);
      assert.deepEqual(d[0], pts[0]);
      assert.deepEqual(d[d.length - 1], pts[pts.length - 1]);
      for (const p of d.slice(1, -1)) assert.ok(Math.abs(p.y - 0.5) < 0.02, `bucket mean ${p.y}`);
      assert.equal(downsample(pts.slice(0, 50), 100).length, 50);
      assert.throws(() => downsample(pts, 2), /max must be ≥ 3/);
    });
  });

  describe('sarTable', () => {
    it('is null without a report', () => assert.equal(sarTable(null), null));

    it('puts the attacked encoder first, marks transfer, formats rates, shows — for undefined type II', () => {
      const t = sarTable({
        createdAt: 't', run: 'r1', attackedEncoderId: 'arc', route: 'blackbox', identities: 5, images: 6, identitiesWithoutTypeII: 2, ssim: 0.41234, psnr: 17.84, items: [],
        scores: [
          { encoderId: 'zz-transfer', transfer: true, thresholds: { fmr1e2: 0.4, fmr1e3: 0.5 }, typeI: { fmr1e2: 0.5, fmr1e3: 0.25 }, typeII: { fmr1e2: 0.1, fmr1e3: null }, rank1: 0.2, meanCosine: 0.3, notEmbedded: 2, count: 6 },
          { encoderId: 'arc', transfer: false, thresholds: { fmr1e2: 0.3, fmr1e3: 0.4 }, typeI: { fmr1e2: 0.8333, fmr1e3: 0.6667 }, typeII: { fmr1e2: 0.6, fmr1e3: 0.4 }, rank1: 0.5, meanCosine: 0.6123, notEmbedded: 0, count: 6 },
        ],
      });
      assert.ok(t);
      assert.deepEqual(t.rows.map((r) => [r.encoderId, r.role]), [['arc', 'attacked'], ['zz-transfer', 'transfer']]);
      assert.equal(t.rows[0].typeI1e2, '83.3 %');
      assert.equal(t.rows[0].typeI1e3, '66.7 %');
      assert.equal(t.rows[1].typeII1e3, '—');
      assert.equal(t.rows[1].notEmbedded, '2 of 6 not embedded');
      assert.equal(t.rows[0].notEmbedded, '');
      assert.equal(t.rows[0].meanCosine, '0.612');
      assert.equal(t.ssim, '0.412');
      assert.equal(t.psnr, '17.8 dB');
      assert.match(t.note, /2 identities/);
    });

    it('formatRate handles null and non-finite', () => {
      assert.equal(formatRate(null), '—');
      assert.equal(formatRate(NaN), '—');
      assert.equal(formatRate(1), '100.0 %');
    });
  });

  it('faceCards joins evaluation items by id (success, cosine, identity)', () => {
    const r = run({
      evaluation: {
        createdAt: 't', run: 'r1', attackedEncoderId: 'arc', route: 'blackbox', identities: 2, images: 2, identitiesWithoutTypeII: 0, ssim: 0, psnr: 0, scores: [],
        items: [{ id: 'b', identity: 'Bob', cosine: 0.71234, success1e3: true }],
      },
    });
    const cards = faceCards(r);
    assert.equal(cards[0].success, undefined);
    assert.equal(cards[0].caption, 'cos 0.400');
    assert.equal(cards[1].success, true);
    assert.equal(cards[1].identity, 'Bob');
    assert.equal(cards[1].caption, 'cos 0.712');
  });

  it('historyRows marks the selected run and describes kind, encoder, evaluation', () => {
    const rows = historyRows([
      { name: 'new', dir: '/n', kind: 'whitebox', encoderId: 'e1', state: 'running', createdAt: '2026-11-27T12:34:56.000Z', hasReport: false },
      { name: 'old', dir: '/o', state: 'unknown', createdAt: 'garbage', hasReport: true, problem: 'run.json: missing' },
    ], 'old');
    assert.deepEqual(rows.map((r) => r.selected), [false, true]);
    assert.equal(rows[0].detail, 'white box · e1');
    assert.equal(rows[0].time, '2026-11-27 12:34');
    assert.equal(rows[1].time, 'garbage');
    assert.equal(rows[1].detail, 'evaluated');
    assert.equal(rows[1].problem, 'run.json: missing');
  });

  it('jobLine and progressFraction', () => {
    assert.equal(jobLine(null), '');
    assert.equal(jobLine({ jobId: 'j', state: 'running', step: 30, total: 200, metrics: { loss: 0.123456, imgPerSec: 45.12 } }), 'running · step 30 / 200 (15 %) · loss 0.1235 · imgPerSec 45.12');
    assert.equal(progressFraction(run({ job: { jobId: 'j', state: 'running', step: 50, total: 200 } })), 0.25);
    assert.equal(progressFraction(run()), 1);
    assert.equal(progressFraction(run({ manifest: null })), null);
  });

  it('progress against the budget: a finished 5-minute run is done, says why, and shows no "epoch 0 / 30"', () => {
    const timed = manifest('q', {
      progress: { step: 149, totalSteps: 5310, epoch: 0, totalEpochs: 30, budget: { kind: 'minutes', used: 5.01, limit: 5 } },
      stopReason: 'budget of 5 min reached', trainSeconds: 301,
    });
    const p = runProgress(run({ manifest: timed }));
    assert.equal(p.fraction, 1);
    assert.equal(p.text, 'budget of 5 min reached · 5.01 / 5 min · step 149 of 5310 planned · 0.84 of 30 epochs');
    assert.equal(p.missing, undefined);
    // Still running (no daemon job known): the budget's fraction.
    const mid = runProgress(run({ manifest: { ...timed, state: 'running', stopReason: undefined, progress: { ...timed.progress!, budget: { kind: 'minutes', used: 1.25, limit: 5 } } } }));
    assert.equal(mid.fraction, 0.25);
    assert.equal(mid.text, '1.25 / 5 min · step 149 · 0.84 of 30 epochs');
    // A running daemon job speaks first: its budget, step and ETA.
    const job = { jobId: 'j', state: 'running' as const, step: 75, total: 5310, metrics: { loss: 0.2 }, budget: { kind: 'minutes' as const, used: 2.5, limit: 5 }, etaSeconds: 150 };
    assert.equal(progressFraction(run({ manifest: timed, job })), 0.5);
    assert.equal(jobLine(job), 'running · 2.5 / 5 min (50 %) · step 75 · loss 0.2000 · ETA 2m30s');
    assert.equal(jobLine({ ...job, state: 'succeeded', stopReason: 'budget of 5 min reached', etaSeconds: undefined }), 'succeeded · 2.5 / 5 min (50 %) · step 75 · loss 0.2000 · budget of 5 min reached');
  });

  it('run.json of an older version: shows its steps, names what it lacks, no 3 % bar for a finished run', () => {
    const old = manifest('old', { progress: { step: 149, totalSteps: 5310, epoch: 0, totalEpochs: 30 } });
    const p = runProgress(run({ manifest: old }));
    assert.equal(p.fraction, 1, 'finished');
    assert.equal(p.text, 'step 149 / 5310 · 0.84 of 30 epochs');
    assert.equal(p.missing, 'budget and stop reason not recorded (run.json of an older version)');
    const running = runProgress(run({ manifest: { ...old, state: 'running' } }));
    assert.ok(Math.abs((running.fraction ?? 0) - 149 / 5310) < 1e-9);
    assert.equal(running.missing, 'budget not recorded (run.json of an older version)');
    // A run kind that records no progress claims nothing.
    const wb = runProgress(run({ manifest: manifest('wb', { kind: 'whitebox', progress: undefined }) }));
    assert.deepEqual(wb, { fraction: null, text: '' });
  });

  it('restoreViewState accepts its own shape and defaults anything else', () => {
    assert.deepEqual(restoreViewState({ run: 'r1', enlarged: 'a', logScale: true }), { run: 'r1', enlarged: 'a', logScale: true });
    assert.deepEqual(restoreViewState(undefined), { logScale: false });
    assert.deepEqual(restoreViewState({ run: 5, logScale: 'yes' }), { logScale: false });
  });
});
