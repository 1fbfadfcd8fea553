import * as assert from 'node:assert/strict';
import { runSoak, slope } from '../../daemon/bench/soak';
import { tf } from '../../daemon/tfjs/tf';

describe('robustness: soak (short)', function () {
  this.timeout(60_000);
  before(async () => { await tf.setBackend('cpu'); });

  it('least-squares slope', () => {
    assert.equal(slope([0, 1, 2, 3], [1, 3, 5, 7]), 2);
    assert.equal(slope([0, 1], [5, 5]), 0);
    assert.equal(slope([1], [1]), 0);
  });

  it('repeated small jobs through a real daemon leave the tensor count flat', async () => {
    const report = await runSoak({ minutes: 0.1, jobSteps: 5, size: 16, sampleEverySec: 0.5 });
    assert.ok(report.jobs > 10, `${report.jobs} jobs ran`);
    assert.equal(report.jobsFailed, 0);
    assert.ok(report.samples.length >= 8, `${report.samples.length} samples`);
    assert.equal(report.tensorsEnd, report.tensorsStart, 'no tensor growth');
    assert.equal(report.tensorSlopePerMin, 0);
    assert.ok(Number.isFinite(report.rssSlopeMiBPerMin));
    assert.ok(report.samples.every((s, i) => i === 0 || s.t >= report.samples[i - 1].t), 'samples in time order');
  });
});
