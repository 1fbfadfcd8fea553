/**
 * One progress model per job with phases. A run's search that stopped on its budget is not
 * the run being done: the status bar and the notification say "run 3/3 evaluation", never "run 100 %", while
 * the evaluation runs; a phase that counts photos says its count once; the tracker takes a new phase's
 * reports although their steps start again from 0.
 */
import * as assert from 'node:assert/strict';
import { announcePhase, runPhases } from '../../../daemon/attack/phases';
import type { JobInfo, JobProgress } from '../../../daemon/protocol/daemon';
import type { ProgressExtras } from '../../../daemon/protocol/budget';
import { progressMessage, statusBarView } from '../../../extension/format';
import { JobTracker, percentOf } from '../../../extension/jobTracker';

function reports(): JobProgress[] {
  const out: JobProgress[] = [];
  let phase: ProgressExtras['phase'];
  // As the daemon's queue does: a report without a phase belongs to the last phase announced.
  const ctx = {
    progress: (step: number, total: number, metrics: Record<string, number>, message?: string, extras?: ProgressExtras) => {
      if (extras?.phase) phase = extras.phase;
      out.push({ step, total, metrics, ...(message ? { message } : {}), ...extras, ...(phase ? { phase } : {}) });
    },
  };
  const phases = runPhases(true);
  announcePhase(ctx, { ...phases('setup', "embedding the attacker's photos"), done: 3200, total: 10678 });
  announcePhase(ctx, phases('attack', 'query search'));
  ctx.progress(400, 400, { cosine: 0.7 }, 'query search done', { budget: { kind: 'queries', used: 400, limit: 400 }, stopReason: 'budget of 40 queries per target reached' });
  announcePhase(ctx, phases('evaluation', 'evaluating the reconstructions'));
  ctx.progress(1, 1, {}, 'done');
  return out;
}

const job = (progress: JobProgress): JobInfo => ({ id: 'j1', kind: 'run', label: 'run fresh-run', state: 'running', createdAt: '2026-12-06T00:00:00Z', progress });

describe('job phases in the extension', () => {
  it('says the phase and its count once, and the percent of the phase', () => {
    const [setup] = reports();
    assert.equal(progressMessage(setup), "1/3 embedding the attacker's photos 3,200 / 10,678");
    assert.equal(percentOf(job(setup)), 29);
    assert.match(statusBarView('connected', { backend: 'cpu' }, job(setup), false).text, /faceinv: cpu · run 1\/3 setup 29%$/);
  });

  it('never says 100 % while the evaluation runs after a search that reached its budget', () => {
    const r = reports();
    const searchDone = r[2];
    assert.equal(searchDone.phase?.id, 'attack');
    // 100 % of the search, said as such: the run has a phase to go.
    assert.equal(statusBarView('connected', { backend: 'cpu' }, job(searchDone), false).text, '$(pulse) faceinv: cpu · run 2/3 attack 100%');
    const evaluating = r[3];
    assert.equal(statusBarView('connected', { backend: 'cpu' }, job(evaluating), false).text, '$(pulse) faceinv: cpu · run 3/3 evaluation');
    assert.equal(progressMessage(evaluating), '3/3 evaluating the reconstructions');
    assert.equal(percentOf(job(r[4])), 100, 'the last phase done is the job done');
  });

  it('the tracker takes a new phase whose steps start from 0 again', () => {
    const tracker = new JobTracker();
    const r = reports();
    tracker.reset([job(r[2])]);
    tracker.applyProgress('j1', r[3]);
    assert.equal(tracker.all()[0].progress?.phase?.id, 'evaluation');
    tracker.applyProgress('j1', { ...r[3], step: 0 });
    tracker.applyProgress('j1', r[4]);
    assert.equal(tracker.all()[0].progress?.step, 1);
  });
});
