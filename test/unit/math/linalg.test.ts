/** Small dense linear algebra (daemon/math/linalg.ts) and the ridge start (daemon/math/ridge.ts). */
import * as assert from 'node:assert/strict';
import { mulberry32 } from '../../../daemon/data/split';
import { cholesky, choleskySolve, invertUpper, symmetricEigen, symmetricEigenvalues } from '../../../daemon/math/linalg';
import { applyRidge, fitRidge } from '../../../daemon/math/ridge';

function randomMatrix(n: number, m: number, seed: number): Float64Array {
  const r = mulberry32(seed);
  return Float64Array.from({ length: n * m }, () => r() * 2 - 1);
}

describe('math/linalg', () => {
  it('solves an SPD system through its Cholesky factor', () => {
    const n = 12;
    const M = randomMatrix(n, n, 1);
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) { let s = i === j ? n : 0; for (let k = 0; k < n; k++) s += M[i * n + k] * M[j * n + k]; A[i * n + j] = s; }
    const X = randomMatrix(n, 3, 2);
    const B = new Float64Array(n * 3);
    for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) { let s = 0; for (let k = 0; k < n; k++) s += A[i * n + k] * X[k * 3 + c]; B[i * 3 + c] = s; }
    const got = choleskySolve(cholesky(A, n), B, n, 3);
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - X[i]) < 1e-9);
    assert.throws(() => cholesky(Float64Array.from([1, 2, 2, 1]), 2, 'here'), /here: the matrix is not positive definite/);
  });

  it('inverts an upper-triangular matrix', () => {
    const U = Float64Array.from([2, 1, 3, 0, 4, -1, 0, 0, 5]);
    const V = invertUpper(U, 3);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += U[i * 3 + k] * V[k * 3 + j];
      assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-12);
    }
  });

  it('decomposes a symmetric matrix: A·v = λ·v, λ descending, vectors orthonormal', () => {
    const n = 10;
    const M = randomMatrix(n, n, 3);
    const S = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) S[i * n + j] = M[i * n + j] + M[j * n + i];
    const { values, vectors } = symmetricEigen(S, n);
    for (let j = 1; j < n; j++) assert.ok(values[j] <= values[j - 1]);
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let k = 0; k < n; k++) av += S[i * n + k] * vectors[k * n + j];
        assert.ok(Math.abs(av - values[j] * vectors[i * n + j]) < 1e-8, `column ${j}`);
      }
      let norm = 0;
      for (let i = 0; i < n; i++) norm += vectors[i * n + j] ** 2;
      assert.ok(Math.abs(norm - 1) < 1e-10);
    }
  });

  it('eigenvalues of a matrix built from a known spectrum (sizes 1…300), alone and with the vectors; A·v = λ·v at 300', () => {
    for (const [n, seed] of [[1, 4], [2, 5], [7, 6], [33, 7], [128, 8], [300, 9]]) {
      // Q orthonormal (Gram–Schmidt of a random matrix), S = Q·diag(λ)·Qᵀ with λ spread over [−5, 5].
      const Q = randomMatrix(n, n, seed);
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < j; i++) { let dot = 0; for (let r = 0; r < n; r++) dot += Q[r * n + i] * Q[r * n + j]; for (let r = 0; r < n; r++) Q[r * n + j] -= dot * Q[r * n + i]; }
        let norm = 0; for (let r = 0; r < n; r++) norm += Q[r * n + j] ** 2; norm = Math.sqrt(norm);
        for (let r = 0; r < n; r++) Q[r * n + j] /= norm;
      }
      const lambda = Array.from({ length: n }, (_, i) => (n === 1 ? 2 : -5 + (10 * i) / (n - 1)));
      const S = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) { let v = 0; for (let k = 0; k < n; k++) v += Q[i * n + k] * lambda[k] * Q[j * n + k]; S[i * n + j] = v; }
      const want = [...lambda].sort((a, b) => b - a);
      const alone = symmetricEigenvalues(S, n);
      const { values, vectors } = symmetricEigen(S, n);
      for (let j = 0; j < n; j++) {
        assert.ok(Math.abs(alone[j] - want[j]) < 1e-9, `n ${n}, eigenvalue ${j}: ${alone[j]} vs ${want[j]}`);
        assert.ok(Math.abs(values[j] - want[j]) < 1e-9, `n ${n}, eigenvalue ${j} (with vectors): ${values[j]} vs ${want[j]}`);
      }
      if (n === 300) {
        for (const j of [0, 150, 299]) for (let i = 0; i < n; i++) {
          let av = 0;
          for (let k = 0; k < n; k++) av += S[i * n + k] * vectors[k * n + j];
          assert.ok(Math.abs(av - values[j] * vectors[i * n + j]) < 1e-9, `column ${j}`);
        }
      }
    }
    // diag(3, 3, 0, -1): a repeated and a zero eigenvalue in a matrix that is already diagonal.
    const D = Float64Array.from([3, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1]);
    assert.deepEqual(Array.from(symmetricEigenvalues(D, 4)), [3, 3, 0, -1]);
  });
});

describe('math/ridge', () => {
  it('recovers a linear map with a bias from noise-free pairs, and refuses a bad λ', () => {
    const n = 200, d = 6, k = 4;
    const W = randomMatrix(d, k, 5), b = [0.5, -1, 2, 0];
    const X = Float32Array.from(randomMatrix(n, d, 6));
    const Y = new Float32Array(n * k);
    for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) { let s = b[c]; for (let i = 0; i < d; i++) s += X[r * d + i] * W[i * k + c]; Y[r * k + c] = s; }
    const map = fitRidge(X, Y, n, d, k, 1e-9);
    const pred = applyRidge(map, X, n);
    for (let i = 0; i < pred.length; i++) assert.ok(Math.abs(pred[i] - Y[i]) < 1e-4, `${pred[i]} vs ${Y[i]}`);
    assert.throws(() => fitRidge(X, Y, n, d, k, -1), /λ must be a finite number ≥ 0/);
    assert.throws(() => fitRidge(X, Y, n + 1, d, k, 1), /do not fit/);
  });

  it('shrinks towards the bias as λ grows', () => {
    const n = 50, d = 3;
    const X = Float32Array.from(randomMatrix(n, d, 8));
    const Y = Float32Array.from({ length: n }, (_, r) => 2 * X[r * d] + 1);
    const big = applyRidge(fitRidge(X, Y, n, d, 1, 1e6), X, 1);
    assert.ok(Math.abs(big[0] - 1) < 0.05, `prediction ${big[0]} ≈ the mean of Y`);
  });
});
