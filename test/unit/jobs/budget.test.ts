/**
 * Budgets in progress (daemon/protocol/budget.ts) and every view of them: the CLI bar and ETA, `faceinv
 * status`, the editor's progress text and percentage, the dashboard header's data. The case of the issue: a
 * 5-minute run planned for 30 epochs (5310 steps) must not show "10h03m", a 3 % bar, or "epoch 0 / 30".
 */
import * as assert from 'node:assert/strict';
import { progressLine } from '../../../daemon/jobs/consoleContext';
import { Type } from '@sinclair/typebox';
import { defineJobKind } from '../../../daemon/jobs/defineJobKind';
import { cleanExtras, JobQueue } from '../../../daemon/jobs/queue';
import { jobStatusLine } from '../../../daemon/cli/commands/status';
import {
  budgetFraction, budgetReached, formatBudget, formatSeconds, governingBudget, progressFraction, type Budget,
} from '../../../daemon/protocol/budget';
import { JobProgressSchema, type JobInfo, type JobProgress } from '../../../daemon/protocol/daemon';
import { validate } from '../../../daemon/protocol/validate';
import { progressMessage } from '../../../extension/format';
import { percentOf } from '../../../extension/jobTracker';

const STEPS_PER_EPOCH = 177;

/** The quick-attack run after `minutes` of its 5-minute budget, at 0.5 steps/s. */
function quickAttack(minutes: number) {
  const step = Math.round(minutes * 60 * 0.5);
  return governingBudget([
    { kind: 'epochs', used: step / STEPS_PER_EPOCH, limit: 30, usedAtStart: 0 },
    { kind: 'minutes', used: minutes, limit: 5 },
  ], minutes * 60);
}

describe('budgets: structure and formatting', () => {
  it('formats used / limit in the unit of the budget', () => {
    assert.equal(formatBudget({ kind: 'minutes', used: 2.5, limit: 5 }), '2.5 / 5 min');
    assert.equal(formatBudget({ kind: 'epochs', used: 2.4, limit: 30 }), '2.4 / 30 epochs');
    assert.equal(formatBudget({ kind: 'steps', used: 120, limit: 200 }), '120 / 200 steps');
    assert.equal(formatBudget({ kind: 'queries', used: 1200, limit: 5000 }), '1200 / 5000 queries');
    assert.equal(formatBudget({ kind: 'minutes', used: 0.0312, limit: 0.05 }), '0.03 / 0.05 min');
    assert.equal(budgetReached({ kind: 'minutes', limit: 5 }), 'budget of 5 min reached');
    assert.equal(budgetReached({ kind: 'queries', limit: 1 }), 'budget of 1 query reached');
    assert.equal(formatSeconds(150), '2m30s');
    assert.equal(formatSeconds(undefined), '?');
  });

  it('fraction is the budget\'s, clamped, and step / total without one', () => {
    assert.equal(budgetFraction({ kind: 'minutes', used: 5.2, limit: 5 }), 1);
    assert.equal(progressFraction({ step: 149, total: 5310, budget: { kind: 'minutes', used: 2.5, limit: 5 } }), 0.5);
    assert.equal(progressFraction({ step: 50, total: 200 }), 0.25);
    assert.equal(progressFraction({ step: 0, total: 0 }), null);
    assert.equal(progressFraction(undefined), null);
  });

  it('the governing budget is the one that runs out first at the rate so far', () => {
    const q = quickAttack(2.5);
    assert.deepEqual(q.budget, { kind: 'minutes', used: 2.5, limit: 5 });
    assert.equal(q.etaSeconds, 150);
    // A short run planned for 2 epochs of 100 steps with a 60-minute cap: the epochs end first.
    const short = governingBudget([{ kind: 'epochs', used: 1, limit: 2, usedAtStart: 0 }, { kind: 'minutes', used: 1, limit: 60 }], 60);
    assert.equal(short.budget.kind, 'epochs');
    assert.equal(short.etaSeconds, 60);
    // A resumed run: the rate counts this session's progress only.
    const resumed = governingBudget([{ kind: 'steps', used: 150, limit: 200, usedAtStart: 100 }], 50);
    assert.equal(resumed.etaSeconds, 50);
    // No progress yet: no ETA, still a budget.
    assert.deepEqual(governingBudget([{ kind: 'queries', used: 0, limit: 5000 }], 0), { budget: { kind: 'queries', used: 0, limit: 5000 } });
  });

  it('the daemon queue carries a job\'s budget, ETA and stop reason into its progress notifications', async () => {
    const kind = defineJobKind({
      kind: 'budgeted', summary: 's', params: Type.Object({}), label: () => 'budgeted',
      async run(_p, ctx) {
        ctx.progress(1, 100, { loss: 1 }, undefined, { budget: { kind: 'queries', used: 10, limit: 20 }, etaSeconds: 5 });
        ctx.progress(2, 100, { loss: 1 }, undefined, { budget: { kind: 'queries', used: 20, limit: 20 }, stopReason: budgetReached({ kind: 'queries', limit: 20 }) });
        return null;
      },
    });
    const queue = new JobQueue(new Map([['budgeted', kind as never]]), '/tmp');
    const seen: JobProgress[] = [];
    queue.listen({ state: () => undefined, log: () => undefined, progress: (_id, p) => { seen.push(p); } });
    const job = queue.submit('budgeted', {});
    await queue.idle();
    assert.deepEqual(seen.map((p) => [p.budget?.used, p.etaSeconds, p.stopReason]), [[10, 5, undefined], [20, undefined, 'budget of 20 queries reached']]);
    assert.equal(queue.get(job.id).job.progress?.stopReason, 'budget of 20 queries reached');
    for (const p of seen) assert.deepEqual(validate(JobProgressSchema, p), []);
  });

  it('the protocol carries budget, ETA and stop reason; malformed extras are dropped, not sent', () => {
    const p = { step: 149, total: 5310, metrics: {}, budget: { kind: 'minutes', used: 5, limit: 5 }, stopReason: 'budget of 5 min reached', etaSeconds: 0 };
    assert.deepEqual(validate(JobProgressSchema, p), []);
    assert.ok(validate(JobProgressSchema, { ...p, budget: { kind: 'hours', used: 1, limit: 2 } }).length > 0);
    assert.deepEqual(cleanExtras({ budget: { kind: 'minutes', used: NaN, limit: 5 }, etaSeconds: Infinity, stopReason: '' }), {});
    assert.deepEqual(cleanExtras({ budget: { kind: 'hours' as Budget['kind'], used: 1, limit: 2 } }), {});
    assert.deepEqual(cleanExtras({ budget: { kind: 'steps', used: -1, limit: 10 }, etaSeconds: -2 }), { budget: { kind: 'steps', used: 0, limit: 10 }, etaSeconds: 0 });
  });
});

describe('budgets: what the views show', () => {
  const metrics = { loss: 0.1234 };
  it('CLI: a 5-minute run shows minutes and an ETA in minutes, and why it stopped', () => {
    const mid = quickAttack(2.5);
    const line = progressLine({ step: 75, total: 5310, metrics, ...mid }, 150);
    assert.match(line, /^\[##########----------\] 2\.5 \/ 5 min {2}step 75 {2}loss 0\.123 {2}ETA 2m30s$/);
    assert.doesNotMatch(line, /\dh\d\dm/);
    const end = progressLine({ step: 149, total: 5310, metrics, budget: { kind: 'minutes', used: 5.01, limit: 5 }, stopReason: 'budget of 5 min reached' }, 301);
    assert.match(end, /^\[####################\] 5\.01 \/ 5 min {2}step 149 .*stopped: budget of 5 min reached$/);
    // Without a budget: step / total as before.
    assert.match(progressLine({ step: 50, total: 200, metrics: {} }, 10), /^\[#####---------------\] 50\/200 {2}ETA 30s$/);
  });

  it('faceinv status: the budget\'s percentage, ETA or stop reason', () => {
    const job = (progress: JobInfo['progress'], state: JobInfo['state'] = 'running'): JobInfo => ({ id: 'ab12', kind: 'train', label: 'train quick.json', state, createdAt: '', progress });
    assert.equal(jobStatusLine(job({ step: 75, total: 5310, metrics, ...quickAttack(2.5) })), 'job ab12 train      running 50% (2.5 / 5 min, ETA 2m30s)  train quick.json');
    assert.equal(jobStatusLine(job({ step: 149, total: 5310, metrics, budget: { kind: 'minutes', used: 5, limit: 5 }, stopReason: 'budget of 5 min reached' }, 'succeeded')),
      'job ab12 train      succeeded 100% (5 / 5 min, budget of 5 min reached)  train quick.json');
    assert.equal(jobStatusLine(job({ step: 30, total: 120, metrics })), 'job ab12 train      running 25%  train quick.json');
  });

  it('editor: progress text and percentage follow the budget', () => {
    const p = { step: 75, total: 5310, metrics, ...quickAttack(2.5) };
    assert.equal(progressMessage(p), '2.5 / 5 min · step 75 · loss 0.1234 · ETA 2m30s');
    const job: JobInfo = { id: 'j', kind: 'train', label: 'l', state: 'running', createdAt: '', progress: p };
    assert.equal(percentOf(job), 50);
    const done = { step: 149, total: 5310, metrics, budget: { kind: 'minutes' as const, used: 4.99, limit: 5 }, stopReason: 'budget of 5 min reached' };
    assert.equal(percentOf({ ...job, progress: done }), 100);
    assert.equal(progressMessage(done), '4.99 / 5 min · step 149 · loss 0.1234 · budget of 5 min reached');
    assert.equal(progressMessage({ step: 3, total: 12, metrics: {} }), 'step 3/12');
  });
});
