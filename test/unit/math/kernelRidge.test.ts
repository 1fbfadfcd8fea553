/** The nonlinear template maps (daemon/math/kernelRidge.ts: Nyström kernel ridge; daemon/math/knnMap.ts) against ridge. */
import * as assert from 'node:assert/strict';
import { mulberry32 } from '../../../daemon/data/split';
import { applyKernelRidge, fitKernelRidge, unitRows } from '../../../daemon/math/kernelRidge';
import { applyKnnMap, fitKnnMap } from '../../../daemon/math/knnMap';
import { applyRidge, fitRidge } from '../../../daemon/math/ridge';

const D = 6, OD = 3;

/** Unit inputs and a known nonlinear relation: a linear part plus a quadratic and a sine of projections. */
function nonlinearPairs(n: number, seed: number): { x: Float32Array; y: Float32Array } {
  const r = mulberry32(seed);
  const x = unitRows(Float32Array.from({ length: n * D }, () => r() * 2 - 1), D);
  const y = new Float32Array(n * OD);
  for (let i = 0; i < n; i++) {
    const p = (j: number) => x[i * D + j];
    y[i * OD] = p(0) + 2 * p(1) * p(2);
    y[i * OD + 1] = Math.sin(4 * p(3)) - p(4);
    y[i * OD + 2] = p(5) ** 2 + 0.5 * p(0);
  }
  return { x, y };
}

function mse(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
}

describe('math/kernelRidge and knnMap', () => {
  const train = nonlinearPairs(800, 1), held = nonlinearPairs(200, 2);
  const ridgeErr = mse(applyRidge(fitRidge(train.x, train.y, 800, D, OD, 1e-3), held.x, 200), held.y);

  it('kernel ridge fits a known nonlinear relation that ridge cannot, on held-out points', () => {
    for (const linear of [undefined, 1e-3]) {
      const m = fitKernelRidge(train.x, train.y, 800, D, OD, { landmarks: 200, gamma: 2, lambda: 1e-3, seed: 0, ...(linear !== undefined ? { linear } : {}) });
      const err = mse(applyKernelRidge(m, held.x, 200), held.y);
      assert.ok(err < ridgeErr / 5, `linear ${linear}: kernel ${err} vs ridge ${ridgeErr}`);
      assert.ok(err < 0.01, `held-out MSE ${err}`);
    }
  });

  it('with a linear relation, kernel ridge on ridge\'s residuals keeps ridge\'s fit', () => {
    const r = mulberry32(3);
    const A = Float32Array.from({ length: D * OD }, () => r() * 2 - 1);
    const lin = (x: Float32Array, n: number) => { const y = new Float32Array(n * OD); for (let i = 0; i < n; i++) for (let c = 0; c < OD; c++) for (let j = 0; j < D; j++) y[i * OD + c] += x[i * D + j] * A[j * OD + c]; return y; };
    const m = fitKernelRidge(train.x, lin(train.x, 800), 800, D, OD, { landmarks: 100, gamma: 1, lambda: 1e-2, linear: 1e-6, seed: 0 });
    assert.ok(mse(applyKernelRidge(m, held.x, 200), lin(held.x, 200)) < 1e-6);
  });

  it('the kNN map predicts held-out points better than ridge on the nonlinear relation, alone and on ridge\'s residuals', () => {
    for (const linear of [undefined, 1e-3]) {
      const m = fitKnnMap(train.x, train.y, 800, D, OD, { k: 8, temperature: 0.01, ...(linear !== undefined ? { linear } : {}) });
      const err = mse(applyKnnMap(m, held.x, 200), held.y);
      assert.ok(err < ridgeErr, `linear ${linear}: kNN ${err} vs ridge ${ridgeErr}`);
    }
    // k = 1 on a training point returns its own output.
    const one = fitKnnMap(train.x, train.y, 800, D, OD, { k: 1, temperature: 1 });
    assert.deepEqual(Array.from(applyKnnMap(one, train.x.slice(5 * D, 6 * D), 1)), Array.from(train.y.slice(5 * OD, 6 * OD)));
  });

  it('bad shapes and non-finite numbers are refused with what is wrong', () => {
    const o = { landmarks: 10, gamma: 1, lambda: 0.1, seed: 0 };
    assert.throws(() => fitKernelRidge(train.x, train.y, 799, D, OD, o), /kernel ridge: 799 pairs do not fit \[4800\] inputs and \[2400\] outputs/);
    assert.throws(() => fitKernelRidge(new Float32Array(0), new Float32Array(0), 0, D, OD, o), /kernel ridge: needs at least one pair/);
    const nan = Float32Array.from(train.x); nan[3 * D + 2] = NaN;
    assert.throws(() => fitKernelRidge(nan, train.y, 800, D, OD, o), /kernel ridge: input 3 holds a non-finite number \(NaN\)/);
    const inf = Float32Array.from(train.y); inf[7 * OD] = Infinity;
    assert.throws(() => fitKnnMap(train.x, inf, 800, D, OD, { k: 3, temperature: 1 }), /kNN map: output 7 holds a non-finite number \(Infinity\)/);
    assert.throws(() => fitKernelRidge(train.x, train.y, 800, D, OD, { ...o, gamma: 0 }), /γ must be a finite number > 0, got 0/);
    assert.throws(() => fitKernelRidge(train.x, train.y, 800, D, OD, { ...o, landmarks: 0.5 }), /landmarks must be an integer ≥ 1/);
    assert.throws(() => fitKnnMap(train.x, train.y, 800, D, OD, { k: 0, temperature: 1 }), /k must be an integer ≥ 1, got 0/);
    const m = fitKernelRidge(train.x, train.y, 800, D, OD, o);
    assert.throws(() => applyKernelRidge(m, held.x, 199), /\[1200\] inputs are not 199 rows of 6/);
  });
});
