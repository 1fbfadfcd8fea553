/**
 * The bench line (daemon/bench/line.ts): one line with the date, the machine, the load around the run and each
 * figure measured, in the order the README quotes them; parts not measured are left out, not printed as zeros.
 */
import * as assert from 'node:assert/strict';
import { benchLine } from '../../../daemon/bench/line';

describe('bench line', () => {
  const base = { loadBefore: 1.04, loadAfter: 2.5, date: '2026-12-06', machine: '2 cores AMD EPYC' };

  it('sums every figure measured, with the ratios that travel between machines', () => {
    const line = benchLine({
      ...base,
      queries: { encoder: 'arcface512-faceplugin', projectQps: 161.4, plainQps: 40.2, ratio: 4.015 },
      pipeline: { projectIps: 120.6, plainIps: 80.1, lfwSeconds: 109.7 },
      w1OrtMs: 558, torchMs: 4300,
      whitebox: { targets: 16, msPerStep: 888 },
    });
    assert.equal(line, 'bench line: 2026-12-06 · 2 cores AMD EPYC · load 1.0→2.5 · arcface512-faceplugin 161 queries/s = ×4.01 plain ORT (40/s) · ' +
      'LFW pipeline 121 photos/s (all LFW ≈ 110 s; plain ORT 80/s) · W1 step 558 ms = ×0.130 PyTorch · white-box 888 ms/step (16 targets)');
  });

  it('leaves out what was not measured', () => {
    const line = benchLine({ ...base, queries: null, pipeline: null, w1OrtMs: 300, torchMs: null, whitebox: null });
    assert.equal(line, 'bench line: 2026-12-06 · 2 cores AMD EPYC · load 1.0→2.5 · W1 step 300 ms');
  });
});
