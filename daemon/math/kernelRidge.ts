/**
 * Kernel ridge regression kept small by the Nyström method: the subset-of-regressors solution on m landmark
 * inputs (Williams & Seeger, "Using the Nyström method to speed up kernel machines", NIPS 2001; Smola &
 * Schölkopf 2000), with a Gaussian (RBF) kernel on L2-normalised inputs. f(x) = k(x, L)·α with
 * α = (K_nmᵀK_nm + λ·K_mm)⁻¹ K_nmᵀ Y: an m×m system instead of n×n, so 10⁴ pairs and 10³ landmarks cost seconds.
 *
 * Optionally on top of a linear ridge map (`linear`): the kernel part then fits what the linear map leaves
 * (its residuals), so the combination never has to relearn the linear trend from local bumps — the template→
 * surrogate relation is mostly linear (the linear adapter of Shahreza, George & Marcel 2024) with a nonlinear rest.
 */
import { cholesky, choleskySolve } from './linalg';
import { applyRidge, fitRidge, type RidgeMap } from './ridge';

export interface KernelRidgeOptions {
  /** Landmarks (at most the number of pairs); a seeded choice of the training inputs. */
  landmarks: number;
  /** RBF width on unit rows: k(x, y) = exp(−γ‖x − y‖²) = exp(−2γ(1 − cos)). */
  gamma: number;
  /** Penalty of the kernel part. */
  lambda: number;
  /** λ of a linear ridge map fitted first (the kernel part fits its residuals); absent: kernel alone. */
  linear?: number;
  seed: number;
}

export interface KernelRidgeMap {
  inputDim: number;
  outputDim: number;
  /** [m, inputDim] unit landmark rows. */
  landmarks: Float32Array;
  /** [m, outputDim] kernel weights. */
  alpha: Float64Array;
  gamma: number;
  linear?: RidgeMap;
}

export function fitKernelRidge(inputs: Float32Array, outputs: Float32Array, n: number, inputDim: number, outputDim: number, o: KernelRidgeOptions): KernelRidgeMap {
  checkPairs('kernel ridge', inputs, outputs, n, inputDim, outputDim);
  if (!(Number.isInteger(o.landmarks) && o.landmarks >= 1)) throw new Error(`kernel ridge: landmarks must be an integer ≥ 1, got ${o.landmarks}`);
  for (const [k, v] of [['γ', o.gamma], ['λ', o.lambda]] as const) if (!(v > 0) || !Number.isFinite(v)) throw new Error(`kernel ridge: ${k} must be a finite number > 0, got ${v}`);
  const { linear, target } = linearPart(inputs, outputs, n, inputDim, outputDim, o.linear);
  const unit = unitRows(inputs, inputDim);
  const m = Math.min(o.landmarks, n);
  const landmarks = pickRows(unit, inputDim, seededChoice(n, m, o.seed));
  const Knm = kernelRows(unit, n, landmarks, m, inputDim, o.gamma);
  const A = gramOf(Knm, n, m);
  const Kmm = kernelRows(landmarks, m, landmarks, m, inputDim, o.gamma);
  // λ·K_mm is only semi-definite when landmarks nearly coincide: a relative jitter keeps Cholesky defined.
  const jitter = 1e-8 * (trace(A, m) / m + 1);
  for (let i = 0; i < m * m; i++) A[i] += o.lambda * Kmm[i];
  for (let i = 0; i < m; i++) A[i * m + i] += jitter;
  const B = crossOf(Knm, target, n, m, outputDim);
  const alpha = choleskySolve(cholesky(A, m, 'kernel ridge (raise λ)'), B, m, outputDim);
  return { inputDim, outputDim, landmarks, alpha, gamma: o.gamma, ...(linear ? { linear } : {}) };
}

/** Applies the map to [n, inputDim] rows → [n, outputDim]. */
export function applyKernelRidge(map: KernelRidgeMap, inputs: Float32Array, n: number): Float32Array {
  if (inputs.length !== n * map.inputDim) throw new Error(`kernel ridge: [${inputs.length}] inputs are not ${n} rows of ${map.inputDim}`);
  const m = map.alpha.length / map.outputDim, od = map.outputDim;
  const K = kernelRows(unitRows(inputs, map.inputDim), n, map.landmarks, m, map.inputDim, map.gamma);
  const out = map.linear ? applyRidge(map.linear, inputs, n) : new Float32Array(n * od);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < m; j++) {
      const k = K[r * m + j];
      for (let c = 0; c < od; c++) out[r * od + c] += k * map.alpha[j * od + c];
    }
  }
  return out;
}

/** Shapes agree and every number is finite (a NaN would silently poison every weight of the solve). */
export function checkPairs(what: string, inputs: Float32Array, outputs: Float32Array, n: number, inputDim: number, outputDim: number): void {
  if (!(Number.isInteger(n) && n >= 1 && inputDim >= 1 && outputDim >= 1)) throw new Error(`${what}: needs at least one pair and positive dimensions, got n ${n}, ${inputDim} → ${outputDim}`);
  if (inputs.length !== n * inputDim || outputs.length !== n * outputDim) throw new Error(`${what}: ${n} pairs do not fit [${inputs.length}] inputs and [${outputs.length}] outputs`);
  const bad = (a: Float32Array) => a.findIndex((v) => !Number.isFinite(v));
  const bi = bad(inputs), bo = bad(outputs);
  if (bi >= 0) throw new Error(`${what}: input ${Math.floor(bi / inputDim)} holds a non-finite number (${inputs[bi]})`);
  if (bo >= 0) throw new Error(`${what}: output ${Math.floor(bo / outputDim)} holds a non-finite number (${outputs[bo]})`);
}

export function unitRows(a: Float32Array, d: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < a.length / d; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += a[r * d + j] ** 2;
    const f = 1 / (Math.sqrt(s) + 1e-12);
    for (let j = 0; j < d; j++) out[r * d + j] = a[r * d + j] * f;
  }
  return out;
}

/** exp(−γ‖x − y‖²) between unit rows: ‖x − y‖² = 2 − 2x·y. [n, m]. */
function kernelRows(X: Float32Array, n: number, L: Float32Array, m: number, d: number, gamma: number): Float64Array {
  const K = new Float64Array(n * m);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += X[r * d + i] * L[j * d + i];
      K[r * m + j] = Math.exp(-gamma * Math.max(0, 2 - 2 * s));
    }
  }
  return K;
}

/** KᵀK, [m, m]. */
function gramOf(K: Float64Array, n: number, m: number): Float64Array {
  const A = new Float64Array(m * m);
  for (let r = 0; r < n; r++) {
    const o = r * m;
    for (let i = 0; i < m; i++) {
      const ki = K[o + i];
      const ai = i * m;
      for (let j = 0; j <= i; j++) A[ai + j] += ki * K[o + j];
    }
  }
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) A[i * m + j] = A[j * m + i];
  return A;
}

/** KᵀY, [m, od]. */
function crossOf(K: Float64Array, Y: Float32Array, n: number, m: number, od: number): Float64Array {
  const B = new Float64Array(m * od);
  for (let r = 0; r < n; r++) for (let i = 0; i < m; i++) {
    const k = K[r * m + i];
    for (let c = 0; c < od; c++) B[i * od + c] += k * Y[r * od + c];
  }
  return B;
}

/**
 * The linear ridge map fitted first when `lambda` is given, and what is left for a nonlinear part to fit: its
 * residuals (or the outputs themselves without one).
 */
export function linearPart(inputs: Float32Array, outputs: Float32Array, n: number, inputDim: number, outputDim: number, lambda: number | undefined): { linear?: RidgeMap; target: Float32Array } {
  if (lambda === undefined) return { target: outputs };
  const linear = fitRidge(inputs, outputs, n, inputDim, outputDim, lambda);
  const fit = applyRidge(linear, inputs, n);
  return { linear, target: outputs.map((v, i) => v - fit[i]) };
}

function trace(A: Float64Array, m: number): number {
  let s = 0;
  for (let i = 0; i < m; i++) s += A[i * m + i];
  return s;
}

function pickRows(a: Float32Array, d: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(rows.length * d);
  rows.forEach((r, i) => out.set(a.subarray(r * d, (r + 1) * d), i * d));
  return out;
}

/** `m` distinct rows of `n`, seeded (a partial Fisher–Yates shuffle with a small LCG). */
function seededChoice(n: number, m: number, seed: number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  let s = (seed * 2654435761 + 1) >>> 0;
  for (let i = 0; i < m; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = i + (s % (n - i));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, m).sort((a, b) => a - b);
}
