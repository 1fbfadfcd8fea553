/**
 * A run's wall-clock budget (run config `minutes`): the query search gets what setup left, less the
 * evaluation's share, never more than search.minutes; a run that setup already ran out of is told so, with
 * what it cuts, and the search keeps its floor.
 */
import * as assert from 'node:assert/strict';
import { EVALUATION_SHARE, MIN_SEARCH_MINUTES, searchMinutes } from '../../../daemon/attack/runReport';
import { pacedWarmupSteps } from '../../../daemon/attack/search/surrogatePrior';
import type { RunConfig } from '../../../daemon/protocol/runConfig';

const config = (minutes: number | undefined, search: number | undefined) => ({ minutes, search: { minutes: search } }) as unknown as RunConfig;

describe('attack: a run\'s wall-clock budget', () => {
  const t0 = 1_000_000;
  const at = (min: number) => t0 + min * 60_000;

  it('without a run budget the search keeps its own minutes', () => {
    assert.equal(searchMinutes(config(undefined, 5), undefined, t0, () => assert.fail('nothing to say')), 5);
  });

  it('the search gets what setup left, less the evaluation\'s share, capped by search.minutes', () => {
    const said: string[] = [];
    // 10-minute run, deadline 10 min after start; setup took 4 min → 6 left − 3 for the evaluation = 3.
    assert.equal(searchMinutes(config(10, 5), at(10), at(4), (m) => said.push(m)), 3);
    assert.match(said[0], /the search gets 3.0 min of the run's 10 \(setup took 4.0 min; 3.0 min kept for the evaluation\)/);
    // A quick setup leaves more than search.minutes: the search keeps its own 5.
    assert.equal(searchMinutes(config(10, 5), at(10), at(1), () => assert.fail('nothing cut')), 5);
    assert.equal(EVALUATION_SHARE, 0.3);
  });

  it('a setup that ran past the budget is said at once, with what is cut; the search keeps its floor', () => {
    const said: string[] = [];
    assert.equal(searchMinutes(config(10, 5), at(10), at(7.4), (m) => said.push(m)), MIN_SEARCH_MINUTES);
    assert.match(said[0], /cannot keep its budget of 10 min on this machine: setup took 7.4 min; the search gets its floor of 0.5 min \(fewer queries per target/);
  });
});

describe('attack: the surrogate warm-up within its share of a timed search', () => {
  it('keeps the planned steps while the measured pace fits, then gives the targets left fewer, or none', () => {
    // 10 steps planned; 8 targets × 10 steps took 8 s (0.1 s per target-step).
    assert.equal(pacedWarmupSteps(10, 8, 80, 292, 400), 10, '292 × 10 × 0.1 = 292 s fits in the 392 s left');
    assert.equal(pacedWarmupSteps(10, 8, 80, 292, 100), 3, '92 s left for 292 targets: 3 steps each');
    assert.equal(pacedWarmupSteps(10, 8, 80, 292, 30), 0, 'less than one step each: none');
    assert.equal(pacedWarmupSteps(10, 40, 80, 292, 30), 0, 'already over its time');
    assert.equal(pacedWarmupSteps(10, 0, 0, 300, 30), 10, 'nothing measured yet: as planned');
  });
});
