/**
 * Data shaping of the dashboard webview (webview/src/dashboardData.ts), pure functions under Node.
 */
import * as assert from 'node:assert/strict';
import type { DashboardState, RunView } from '../../../daemon/protocol/webview';
import { DaemonMessage, EvaluationMessage, FaceImagesMessage, FacesMessage, JobMessage, MetricsMessage, RunRemovedMessage, RunsMessage, StateMessage } from '../../../daemon/protocol/webview';
import {
  applyMessage, bannerText, curves, downsample, faceCards, formatRate, historyRows, jobLine, progressFraction, restoreViewState, runProgress, sarTable,
} from '../../../webview/src/dashboardData';
import { manifest, metricsLines, syntheticReport } from './fixture';
import { runHeadline } from '../../../daemon/protocol/report';

const ids6 = ['a', 'b', 'c', 'd', 'e', 'f'].map((x) => ({ id: x, identity: x.toUpperCase() }));

function run(over: Partial<RunView> = {}): RunView {
  return {
    name: 'r1', dir: '/ws/runs/r1', manifest: manifest('r1'), metrics: metricsLines(20), evaluation: null, job: null, problems: [], removed: false,
    faces: [
      { id: 'a', identity: 'Ann', imageUri: 'data:image/png;base64,YQ==', hasOriginal: true, originalUri: 'data:image/png;base64,YW8=', cosine: 0.4 },
      { id: 'b', hasOriginal: false },
    ],
    ...over,
  };
}

function state(over: Partial<DashboardState> = {}): DashboardState {
  return { runsRoot: '/ws/runs', runs: [], selected: run(), daemon: { connected: true, url: 'ws://127.0.0.1:1', remote: false }, ...over };
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
      const withProblem = applyMessage(s, EvaluationMessage.create({ run: 'r1', evaluation: null, problem: 'report.json comes from an older version' }));
      assert.equal(withProblem?.selected?.evaluationProblem, 'report.json comes from an older version');
      const fixed = applyMessage(withProblem, EvaluationMessage.create({ run: 'r1', evaluation: syntheticReport('r1', ids6) }));
      assert.equal(fixed?.selected?.evaluationProblem, undefined, 'a readable report clears the problem');
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

  it('fills in pictures as pages arrive, leaving the other faces (and slices) the same objects', () => {
    const s: DashboardState = state({ selected: run({ faces: [{ id: 'a', hasOriginal: true }, { id: 'b', hasOriginal: false }, { id: 'c', hasOriginal: false }] }) });
    const uri = 'data:image/png;base64,iVBORw0KGgo=';
    const next = applyMessage(s, FaceImagesMessage.create({ run: 'r1', images: [{ id: 'a', imageUri: uri }, { id: 'zzz', imageUri: uri }] }));
    const faces = next?.selected?.faces ?? [];
    assert.equal(faces[0].imageUri, uri);
    assert.equal(faces[0].originalUri, undefined, 'the original is still on its way');
    assert.equal(faces[1], s.selected!.faces[1], 'faces without news stay identical');
    assert.equal(next?.selected?.metrics, s.selected!.metrics);
    const both = applyMessage(next, FaceImagesMessage.create({ run: 'r1', images: [{ id: 'a', originalUri: uri }] }));
    assert.deepEqual([both?.selected?.faces[0].imageUri, both?.selected?.faces[0].originalUri], [uri, uri]);
    assert.equal(applyMessage(s, FaceImagesMessage.create({ run: 'other', images: [{ id: 'a', imageUri: uri }] })), s, 'another run\'s pictures are ignored');
    assert.equal(FaceImagesMessage.is(FaceImagesMessage.create({ run: 'r1', images: [{ id: 'a', imageUri: 'https://evil.example/x.png' }] })), false, 'only data: URIs of PNG/JPEG pass');
  });

  it('the banner says why the daemon is not live, then the view\'s own message', () => {
    const s = state();
    assert.equal(bannerText(s), '');
    const lost = applyMessage(s, DaemonMessage.create({ connected: false, url: 'ws://gpu:7391', remote: true, problem: 'Lost the daemon at ws://gpu:7391; reconnecting…' }));
    assert.equal(lost?.daemon.connected, false);
    assert.equal(lost?.selected, s.selected, 'what was shown stays');
    assert.equal(bannerText(lost), 'Lost the daemon at ws://gpu:7391; reconnecting…');
    const gone = applyMessage(lost, RunRemovedMessage.create({ run: 'r1', message: 'Run folder gone.' }));
    assert.equal(bannerText(gone), 'Lost the daemon at ws://gpu:7391; reconnecting… Run folder gone.');
    assert.equal(bannerText(applyMessage(gone, DaemonMessage.create({ connected: true, url: 'ws://gpu:7391', remote: true }))), 'Run folder gone.');
    assert.equal(bannerText(null), '');
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

    it('gives a black-box query search its mean best cosine and each shown target\'s against queries', () => {
      const lines = [1, 6, 11].flatMap((q, k) => [
        { time: 't', step: q, split: 'search' as const, loss: 0.5 - k * 0.05, cosine: 0.5 + k * 0.05 },
        { time: 't', step: q, split: 'search' as const, loss: 0.4, cosine: 0.6 + k * 0.02, target: 'Ann/Ann_0001.jpg' },
        { time: 't', step: q, split: 'search' as const, loss: 0.6, cosine: 0.4 + k * 0.01, target: 'Bob/Bob_0002.jpg' },
      ]);
      const c = curves(lines, 'blackbox');
      assert.equal(c.xLabel, 'queries per target');
      assert.match(c.title, /Query search/);
      assert.deepEqual(c.cosine.map((p) => p.x), [1, 6, 11]);
      assert.deepEqual(c.targets.map((t) => [t.id, t.points.length]), [['Ann/Ann_0001.jpg', 3], ['Bob/Bob_0002.jpg', 3]]);
      assert.equal(c.search.length, 0, 'no loss curve for a query search: the cosine is the objective');
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

    it('one table per protocol, redetect first; the attacked encoder first; each attack row above its baselines', () => {
      const t = sarTable(syntheticReport('r1', ids6));
      assert.ok(t && !t.problem);
      assert.deepEqual(t.points, ['1e-2', '1e-3', '1e-4', '1e-5']);
      assert.deepEqual(t.tables.map((x) => x.protocol), ['redetect', 'direct']);
      const red = t.tables[0].rows;
      assert.deepEqual(red.map((r) => [r.subject, r.encoderId, r.role]), [
        ['attack', 'arcface512-faceplugin', 'attacked'], ['nearest-face', 'arcface512-faceplugin', 'attacked'], ['mean-face', 'arcface512-faceplugin', 'attacked'],
        ['attack', 'faceapi-resnet128', 'transfer'], ['nearest-face', 'faceapi-resnet128', 'transfer'], ['mean-face', 'faceapi-resnet128', 'transfer'],
      ]);
      assert.deepEqual(red[0].typeI.map((c) => c.text), ['83.3 %', '66.7 %', '50.0 %', '16.7 %']);
      assert.match(red[0].typeI[1].title, /4 of 6 \(95 % interval 30\.0 % – 90\.3 %\)/);
      assert.equal(red[0].failed, '1 of 6 failed (1 no-face)');
      assert.equal(t.tables[1].rows[0].failed, '');
      assert.equal(red[3].typeI[3].lowSupport, true, 'faceapi @1e-5 is flagged in the fixture');
      assert.match(t.note, /Weakly supported thresholds.*faceapi-resnet128 @1e-5/);
      assert.match(t.caption, /6 targets of 6 held-out identities · 96 queries per target · 5\.3 min/);
      assert.equal(t.ssim, '0.412');
      assert.equal(t.ssimReferences, 'mean face 0.481 · another photo of the person 0.383');
      assert.equal(t.psnr, '17.8 dB');
    });

    it('shows the independent protocol when the report has it, and a surrogate under its role, not as attacked or transfer', () => {
      const rep = syntheticReport('r1', ids6);
      const extra = rep.rows.filter((r) => r.protocol === 'redetect').map((r) => ({ ...r, protocol: 'independent' as const }));
      rep.rows = [...rep.rows, ...extra].map((r) => (r.encoderId === 'faceapi-resnet128' ? { ...r, transfer: false, role: 'surrogate' as const } : r));
      const t = sarTable(rep);
      assert.deepEqual(t?.tables.map((x) => x.protocol), ['redetect', 'independent', 'direct']);
      assert.match(t!.tables[1].title, /Independent detector/);
      assert.deepEqual([...new Set(t!.tables[0].rows.map((r) => `${r.encoderId}:${r.role}`))], ['arcface512-faceplugin:attacked', 'faceapi-resnet128:surrogate']);
    });

    it('says when a protocol was not scored, and why (a run time budget)', () => {
      const rep = syntheticReport('r1', ids6);
      rep.protocols = [{ protocol: 'independent', detector: 'faceapi-ssd-mobilenetv1-landmark68', usedByAttack: false, notFound: {}, notScored: 'the run\'s time budget: 877 of its 877 images are not in the detection cache' }];
      const t = sarTable(rep);
      assert.deepEqual(t?.tables.map((x) => x.protocol), ['redetect', 'direct']);
      assert.match(t!.note, /Protocol "independent" not scored: the run's time budget: 877 of its 877 images/);
    });

    it('names a report of an older version and what it lacks, instead of drawing nothing', () => {
      const old = { createdAt: 't', run: 'r1', attackedEncoderId: 'arc', route: 'blackbox', images: 6, scores: [], items: [] };
      const t = sarTable(old as never);
      assert.ok(t?.problem);
      assert.match(t.problem, /older version.*missing: version 2, operatingPoints, thresholds, rows/);
    });

    it('formatRate handles null and non-finite', () => {
      assert.equal(formatRate(null), '—');
      assert.equal(formatRate(NaN), '—');
      assert.equal(formatRate(1), '100.0 %');
    });
  });

  it('faceCards joins evaluation items by id: verdict at the strictest FMR passed, no face, no match', () => {
    const report = syntheticReport('r1', [{ id: 'b', identity: 'Bob' }, { id: 'c', identity: 'Cy' }]);
    report.items[0].passesAt = 1e-4;
    report.items[0].attack.redetect = { cosine: 0.71234 };
    report.items[1].passesAt = null;
    const r = run({ evaluation: report, faces: [...run().faces, { id: 'c', imageUri: 'data:image/png;base64,', hasOriginal: false }] });
    const cards = faceCards(r);
    assert.equal(cards[0].verdict, undefined);
    assert.equal(cards[0].caption, 'cos 0.400');
    assert.equal(cards[1].verdict, 'hit');
    assert.equal(cards[1].passesAt, '1e-4');
    assert.equal(cards[1].identity, 'Bob');
    assert.equal(cards[1].caption, 'cos 0.712');
    assert.equal(cards[2].verdict, 'no-face');
    assert.equal(cards[2].failure, 'no-face');
    assert.match(cards[2].caption, /no face found/);
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

  it('the run history shows each evaluated run\'s headline figures, so methods compare', () => {
    const h = runHeadline(syntheticReport('r', ids6));
    const rows = historyRows([{ name: 'r', dir: '/r', state: 'finished', createdAt: 't', hasReport: true, headline: h }], undefined);
    assert.equal(rows[0].figures, 'type I @1e-4 50.0 % (lookalike 16.7 %) · type II @1e-3 66.7 % · faceapi-resnet128 @1e-3 33.3 % · 96 queries/target');
  });

  it('restoreViewState accepts its own shape and defaults anything else', () => {
    assert.deepEqual(restoreViewState({ run: 'r1', enlarged: 'a', logScale: true }), { run: 'r1', enlarged: 'a', logScale: true });
    assert.deepEqual(restoreViewState(undefined), { logScale: false });
    assert.deepEqual(restoreViewState({ run: 5, logScale: 'yes' }), { logScale: false });
  });
});
