import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { trainBlackBox } from '../../../daemon/decoder/train';
import { tf } from '../../../daemon/tfjs/tf';
import { evaluateRun } from '../../../daemon/evaluation/evaluate';
import type { JobContext } from '../../../daemon/jobs/context';
import { Value } from '@sinclair/typebox/value';
import { EvaluationReportSchema } from '../../../daemon/protocol/report';
import { EvaluationReport, RUN_FILES } from '../../../daemon/protocol/runFolder';
import { readManifest, readMetrics } from '../../../daemon/runs/runFolder';
import type { ProgressExtras } from '../../../daemon/protocol/budget';
import { makeTinyWorkspace, useTinyWorkspace } from '../../fixtures/tinyWorkspace';

function testContext(workspaceDir: string, abortAtStep?: number): JobContext & { steps: number[]; reports: ProgressExtras[] } {
  const abort = new AbortController();
  const steps: number[] = [];
  const reports: ProgressExtras[] = [];
  return {
    jobId: 't', signal: abort.signal, workspaceDir, steps, reports,
    progress: (step, _total, _m, _msg, extras) => {
      steps.push(step); reports.push(extras ?? {});
      if (abortAtStep !== undefined && step >= abortAtStep) abort.abort();
    },
    log: () => undefined,
    setRunDir: () => undefined,
  };
}

describe('black-box attack end to end (tiny LFW subset)', function () {
  this.timeout(600_000);
  const tiny = useTinyWorkspace();

  it('trains, is interrupted, resumes from its checkpoint, then evaluates', async () => {
    const before = tf.memory().numTensors;
    const first = testContext(tiny.ws.dir, 3);
    await assert.rejects(trainBlackBox(tiny.ws.config, first, { cacheDir: tiny.ws.cacheDir }), /cancelled/);
    const runDir = path.join(tiny.ws.dir, 'runs', 'tiny');
    assert.ok(fs.existsSync(path.join(runDir, RUN_FILES.checkpoints, 'latest')), 'checkpoint written on cancel');
    assert.equal(tf.memory().numTensors, before, 'no tensors left after a cancelled run');

    assert.match(readManifest(runDir).stopReason ?? '', /^cancelled at step 3 /);

    const second = testContext(tiny.ws.dir);
    const out = await trainBlackBox(tiny.ws.config, second, { cacheDir: tiny.ws.cacheDir });
    assert.equal(second.steps[0], 4, 'resumed right after the checkpointed step');
    // No time budget: the epochs are the budget; the last report and run.json say they were used up.
    assert.equal(second.reports[0].budget?.kind, 'epochs');
    assert.deepEqual(second.reports.at(-1)?.budget, { kind: 'epochs', used: 3, limit: 3 });
    assert.equal(second.reports.at(-1)?.stopReason, 'budget of 3 epochs reached');
    const manifest = readManifest(runDir);
    assert.equal(manifest?.state, 'finished');
    assert.equal(manifest?.stopReason, 'budget of 3 epochs reached');
    assert.deepEqual(manifest?.progress?.budget, { kind: 'epochs', used: 3, limit: 3 });
    assert.ok(out.steps > 3);
    assert.ok(Number.isFinite(out.testLoss) && out.testLoss < 0.5, `held-out L1 ${out.testLoss}`);
    const metrics = readMetrics(path.join(runDir, RUN_FILES.metrics));
    assert.deepEqual(metrics.filter((m) => m.split === 'train').map((m) => m.step), Array.from({ length: out.steps }, (_, i) => i + 1));
    assert.ok(fs.existsSync(path.join(runDir, RUN_FILES.model, 'meta.json')));
    assert.equal(tf.memory().numTensors, before, 'no tensors left after training');

    const report: EvaluationReport = await evaluateRun(runDir, testContext(tiny.ws.dir), { cacheDir: tiny.ws.cacheDir });
    assert.ok(Value.Check(EvaluationReportSchema, report), 'the report matches its schema');
    assert.deepEqual(report.thresholds.map((t) => t.encoderId), ['arcface512-faceplugin', 'faceapi-resnet128'], 'the transfer encoder scores too');
    assert.ok(report.probes > 0);
    // 4 subjects (attack, two baselines, the real-crop control) × 3 protocols (direct, redetect, independent) × 2 encoders.
    assert.equal(report.rows.length, 24);
    assert.deepEqual(report.protocols?.map((p) => p.protocol), ['direct', 'redetect', 'independent']);
    for (const row of report.rows) {
      assert.equal(row.typeI.length, report.operatingPoints.length);
      for (const t of row.typeI) assert.ok(t.trials === report.probes && t.successes <= t.trials);
    }
    const transfer = report.rows.filter((r) => r.transfer);
    assert.ok(transfer.length === 12 && transfer.every((r) => r.encoderId === 'faceapi-resnet128' && r.role === 'transfer'));
    // The nearest-face baseline under `direct` by the attacked encoder is its stored template's cosine: the
    // same picture in the same frame, so its cosine equals the nearest training template's.
    for (const it of report.items) assert.ok(it.nearestFace.direct.cosine !== null && it.nearestFace.rel.split('/')[0] !== it.identity);
    assert.ok(!JSON.stringify(report).includes('NaN'));
    for (const f of [RUN_FILES.evaluationReport, RUN_FILES.evaluationMarkdown, RUN_FILES.evaluationGrid, RUN_FILES.reconstructionIndex]) {
      assert.ok(fs.existsSync(path.join(runDir, f)), `${f} written`);
    }
  });

  it('a time-budgeted run reports minutes, not its planned epochs, and says the budget stopped it', async () => {
    // 1000 planned epochs, 3 seconds of budget: the old view said "epoch 0 / 1000 · step 12 / 12000", a 0 % bar
    // and an ETA of hours.
    const timed = makeTinyWorkspace({ name: 'timed', training: { epochs: 1000, maxMinutes: 0.05, checkpointEvery: 1000, evalEvery: 1000 } });
    try {
      const ctx = testContext(timed.dir);
      const t0 = Date.now();
      const out = await trainBlackBox(timed.config, ctx, { cacheDir: timed.cacheDir });
      assert.ok(out.stoppedEarly);
      const running = ctx.reports.slice(0, -1);
      assert.ok(running.length > 0);
      for (const r of running) {
        assert.equal(r.budget?.kind, 'minutes');
        assert.equal(r.budget?.limit, 0.05);
        assert.ok(r.etaSeconds !== undefined && r.etaSeconds <= 3.01, `ETA ${r.etaSeconds} s for a 3-second budget`);
      }
      const last = ctx.reports.at(-1)!;
      assert.equal(last.stopReason, 'budget of 0.05 min reached');
      assert.equal(last.budget?.kind, 'minutes');
      assert.ok((last.budget?.used ?? 0) >= 0.05 && (last.budget?.used ?? 0) <= (Date.now() - t0) / 60_000);
      const m = readManifest(path.join(timed.dir, 'runs', 'timed'));
      assert.equal(m?.state, 'finished');
      assert.equal(m?.stopReason, 'budget of 0.05 min reached');
      assert.equal(m?.progress?.budget?.kind, 'minutes');
      assert.equal(m?.progress?.step, out.steps);
      assert.ok((m?.progress?.totalSteps ?? 0) > out.steps, 'stopped before its planned steps');
    } finally {
      timed.cleanup();
    }
  });

  it('refuses a different config in the same run folder', async () => {
    const changed = { ...tiny.ws.config, decoder: { ...tiny.ws.config.decoder, loss: 'l2' as const } };
    await assert.rejects(trainBlackBox(changed, testContext(tiny.ws.dir), { cacheDir: tiny.ws.cacheDir }), /already holds a different config/);
  });
});
