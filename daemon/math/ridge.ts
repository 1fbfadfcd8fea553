/**
 * The cheapest learned inverse (the seed's "component trained on (image, embedding) pairs" in closed form):
 * ridge regression from a template (plus a bias) to the face model's latent, fitted on the attacker's own
 * training pairs. W = (EᵀE + λI)⁻¹ EᵀZ with E = [templates | 1] and Z the latents of the same faces; the
 * bias is not penalised. Seconds for 10⁴ pairs of 512-d templates and 512-d latents.
 */
import { cholesky, choleskySolve } from './linalg';

export interface RidgeMap {
  inputDim: number;
  outputDim: number;
  /** [(inputDim + 1), outputDim] row-major; the last row is the bias. */
  weights: Float64Array;
  lambda: number;
}

export function fitRidge(inputs: Float32Array, outputs: Float32Array, n: number, inputDim: number, outputDim: number, lambda: number): RidgeMap {
  if (inputs.length !== n * inputDim || outputs.length !== n * outputDim) throw new Error(`ridge: ${n} pairs do not fit [${inputs.length}] inputs and [${outputs.length}] outputs`);
  if (!(lambda >= 0) || !Number.isFinite(lambda)) throw new Error(`ridge: λ must be a finite number ≥ 0, got ${lambda}`);
  const m = inputDim + 1;
  const { A, B } = normalEquations(inputs, outputs, n, inputDim, outputDim);
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) A[i * m + j] = A[j * m + i];
  for (let i = 0; i < inputDim; i++) A[i * m + i] += lambda;
  const L = cholesky(A, m, 'ridge regression (add training pairs or raise λ)');
  return { inputDim, outputDim, weights: choleskySolve(L, B, m, outputDim), lambda };
}

/** Rows per block of the normal equations: a block's columns (64 float64 each) stay in cache while every pair is dotted. */
const BLOCK_ROWS = 64;

/**
 * EᵀE (lower triangle, [m, m]) and EᵀZ ([m, outputDim]) with E = [inputs | 1], m = inputDim + 1, in float64. Rows
 * are taken a block at a time and stored column by column, so each entry adds one contiguous dot product of a
 * block's length: about twice as fast as a rank-one update per row (10⁴ rows of 512-d → 128: 3.1 s against 6.9 s
 * on a 2-core machine), which the run's ridge start and surrogate map pay for on every run.
 */
function normalEquations(inputs: Float32Array, outputs: Float32Array, n: number, inputDim: number, outputDim: number): { A: Float64Array; B: Float64Array } {
  const m = inputDim + 1, R = BLOCK_ROWS;
  const A = new Float64Array(m * m);
  const B = new Float64Array(m * outputDim);
  const X = new Float64Array(m * R), Y = new Float64Array(outputDim * R);
  for (let r0 = 0; r0 < n; r0 += R) {
    const rows = Math.min(R, n - r0);
    X.fill(0);
    Y.fill(0);
    for (let r = 0; r < rows; r++) {
      const xi = (r0 + r) * inputDim, yi = (r0 + r) * outputDim;
      for (let i = 0; i < inputDim; i++) X[i * R + r] = inputs[xi + i];
      X[inputDim * R + r] = 1;
      for (let c = 0; c < outputDim; c++) Y[c * R + r] = outputs[yi + c];
    }
    for (let i = 0; i < m; i++) {
      const xi = i * R;
      for (let j = 0; j <= i; j++) {
        const xj = j * R;
        A[i * m + j] += dotBlock(X, xi, X, xj);
      }
      for (let c = 0; c < outputDim; c++) {
        const yc = c * R;
        B[i * outputDim + c] += dotBlock(X, xi, Y, yc);
      }
    }
  }
  return { A, B };
}

/**
 * Σ a[i + r]·b[j + r] over a whole block (a partial last block is zero-filled), in four running sums: one sum's
 * chain of dependent additions, not the multiplications, is what held a single-sum loop back.
 */
function dotBlock(a: Float64Array, i: number, b: Float64Array, j: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (let r = 0; r < BLOCK_ROWS; r += 4) {
    s0 += a[i + r] * b[j + r];
    s1 += a[i + r + 1] * b[j + r + 1];
    s2 += a[i + r + 2] * b[j + r + 2];
    s3 += a[i + r + 3] * b[j + r + 3];
  }
  return (s0 + s1) + (s2 + s3);
}

/** Applies the map to [n, inputDim] rows → [n, outputDim]. */
export function applyRidge(map: RidgeMap, inputs: Float32Array, n: number): Float32Array {
  const { inputDim, outputDim, weights } = map;
  const out = new Float32Array(n * outputDim);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < outputDim; c++) {
      let s = weights[inputDim * outputDim + c];
      for (let i = 0; i < inputDim; i++) s += inputs[r * inputDim + i] * weights[i * outputDim + c];
      out[r * outputDim + c] = s;
    }
  }
  return out;
}
