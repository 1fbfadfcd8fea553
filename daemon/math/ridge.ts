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
  const A = new Float64Array(m * m);
  const B = new Float64Array(m * outputDim);
  const x = new Float64Array(m);
  x[inputDim] = 1;
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < inputDim; i++) x[i] = inputs[r * inputDim + i];
    for (let i = 0; i < m; i++) {
      const xi = x[i];
      if (xi === 0) continue;
      const ai = i * m;
      for (let j = 0; j <= i; j++) A[ai + j] += xi * x[j];
      const bi = i * outputDim;
      const o = r * outputDim;
      for (let c = 0; c < outputDim; c++) B[bi + c] += xi * outputs[o + c];
    }
  }
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) A[i * m + j] = A[j * m + i];
  for (let i = 0; i < inputDim; i++) A[i * m + i] += lambda;
  const L = cholesky(A, m, 'ridge regression (add training pairs or raise λ)');
  return { inputDim, outputDim, weights: choleskySolve(L, B, m, outputDim), lambda };
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
