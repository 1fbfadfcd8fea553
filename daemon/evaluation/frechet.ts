/**
 * Realism measured: the Fréchet distance between two sets of face embeddings, each taken
 * as a Gaussian — ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁^½ Σ₂ Σ₁^½)^½) (Fréchet 1957; Dowson & Landau 1982; as FID,
 * Heusel et al., "GANs trained by a two time-scale update rule converge to a local Nash equilibrium",
 * NeurIPS 2017, computes it on Inception features). Here the features are a face encoder's, so the distance
 * says how far the reconstructions sit from real faces *as a face system sees them*.
 *
 * With a few hundred samples the sample covariance is noisy (and singular when there are fewer samples than
 * dimensions), so each covariance is shrunk toward a scaled identity with the Ledoit–Wolf intensity
 * (Ledoit & Wolf, "A well-conditioned estimator for large-dimensional covariance matrices", J. Multivariate
 * Analysis 2004), and the distance is reported with an identity-bootstrap interval (bootstrap.ts).
 * The trace term needs only eigenvalues (of Lᵀ Σ₂ L, L the Cholesky factor of Σ₁: see frechetDistance), from
 * daemon/math/linalg.ts's Householder + QL decomposition.
 */
import { cholesky, symmetricEigen, symmetricEigenvalues } from '../math/linalg';

/** Mean and covariance (d×d, row-major) of n rows of `x` ([n, d]). */
export interface Gaussian { mean: Float64Array; cov: Float64Array; dim: number; shrinkage: number }

/**
 * Mean and Ledoit–Wolf shrunk covariance of the rows of `x`: Σ = α·ν·I + (1 − α)·S, S the (1/n) sample
 * covariance, ν = tr(S)/d, α = min(β̄², δ²)/δ² (δ² = ‖S − νI‖²/d, β̄² = Σₖ‖xₖxₖᵀ − S‖²/(n² d)).
 */
export function shrunkGaussian(x: Float32Array | Float64Array, n: number, dim: number): Gaussian {
  if (n < 2) throw new Error(`Fréchet distance: needs at least 2 samples, got ${n}`);
  if (x.length !== n * dim) throw new Error(`Fréchet distance: ${x.length} values are not ${n} rows of ${dim}`);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let k = 0; k < dim; k++) mean[k] += x[i * dim + k] / n;
  const c = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) for (let k = 0; k < dim; k++) c[i * dim + k] = x[i * dim + k] - mean[k];
  const S = new Float64Array(dim * dim);
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    for (let p = 0; p < dim; p++) {
      const v = c[o + p];
      if (v === 0) continue;
      const row = p * dim;
      for (let q = p; q < dim; q++) S[row + q] += v * c[o + q];
    }
  }
  for (let p = 0; p < dim; p++) for (let q = p; q < dim; q++) { S[p * dim + q] /= n; S[q * dim + p] = S[p * dim + q]; }
  let tr = 0;
  for (let p = 0; p < dim; p++) tr += S[p * dim + p];
  const nu = tr / dim;
  let d2 = 0, s2 = 0;
  for (let p = 0; p < dim; p++) for (let q = 0; q < dim; q++) { const v = S[p * dim + q]; s2 += v * v; d2 += (v - (p === q ? nu : 0)) ** 2; }
  d2 /= dim;
  // Σₖ‖xₖxₖᵀ − S‖² = Σₖ (‖xₖ‖⁴ − 2 xₖᵀ S xₖ) + n‖S‖², and Σₖ xₖᵀ S xₖ = tr(S · nS) = n‖S‖²: so Σₖ‖xₖ‖⁴ − n‖S‖²,
  // O(n·d) where the per-sample quadratic forms (a Gram matrix) cost O(n²·d) — most of a bootstrap's time.
  let bsum = -n * s2;
  for (let a = 0; a < n; a++) {
    let norm2 = 0;
    for (let k = 0; k < dim; k++) norm2 += c[a * dim + k] ** 2;
    bsum += norm2 * norm2;
  }
  const b2 = Math.min(bsum / (n * n * dim), d2);
  // Identical rows leave only rounding noise in S (and can make the estimate of β̄² a hair negative): clamp.
  const alpha = d2 > 1e-12 * Math.max(1, nu * nu) ? Math.min(1, Math.max(0, b2 / d2)) : 1;
  const cov = new Float64Array(dim * dim);
  for (let p = 0; p < dim; p++) for (let q = 0; q < dim; q++) cov[p * dim + q] = (1 - alpha) * S[p * dim + q] + (p === q ? alpha * nu : 0);
  return { mean, cov, dim, shrinkage: alpha };
}

/** Symmetric positive semi-definite square root (negative rounding noise in eigenvalues clipped to 0). */
export function sqrtPsd(m: Float64Array, d: number): Float64Array {
  const { values, vectors } = symmetricEigen(m, d);
  const out = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const s = Math.sqrt(Math.max(0, values[k]));
    if (s === 0) continue;
    for (let i = 0; i < d; i++) {
      const vi = vectors[i * d + k] * s;
      if (vi === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j] += vi * vectors[j * d + k];
    }
  }
  return out;
}

function matmul(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) {
    const aik = a[i * d + k];
    if (aik === 0) continue;
    for (let j = 0; j < d; j++) out[i * d + j] += aik * b[k * d + j];
  }
  return out;
}

/**
 * Fréchet distance between two Gaussians of the same dimension: |μ₁ − μ₂|² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^½ Σ₂ Σ₁^½)^½.
 * The last trace is Σ √λ over the eigenvalues of Σ₁Σ₂, which are those of Lᵀ Σ₂ L for Σ₁ = L Lᵀ: one Cholesky
 * factor and one eigenvalue-only decomposition instead of two full eigen-decompositions (≈ 20× less work at
 * 128 dimensions, which the identity bootstrap repeats per resample). A Σ₁ that is not positive definite
 * (unshrunk, rank-deficient) takes the square-root route.
 */
export function frechetDistance(g1: Pick<Gaussian, 'mean' | 'cov' | 'dim'>, g2: Pick<Gaussian, 'mean' | 'cov' | 'dim'>): number {
  const d = g1.dim;
  if (g2.dim !== d) throw new Error(`Fréchet distance: dimensions differ (${d} vs ${g2.dim})`);
  let mu = 0, tr = 0;
  for (let k = 0; k < d; k++) { mu += (g1.mean[k] - g2.mean[k]) ** 2; tr += g1.cov[k * d + k] + g2.cov[k * d + k]; }
  let trSqrt = 0;
  for (const v of productEigenvalues(g1.cov, g2.cov, d)) trSqrt += Math.sqrt(Math.max(0, v));
  return Math.max(0, mu + tr - 2 * trSqrt);
}

/** Eigenvalues of A·B for symmetric PSD A, B (those of Lᵀ B L, or of √A B √A when A has no Cholesky factor). */
function productEigenvalues(A: Float64Array, B: Float64Array, d: number): Float64Array {
  let inner: Float64Array;
  try {
    const L = cholesky(A, d, 'Fréchet distance');
    const Lt = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) Lt[i * d + j] = L[j * d + i];
    inner = matmul(matmul(Lt, B, d), L, d);
  } catch (e) {
    if (!/not positive definite/.test((e as Error).message)) throw e;
    const r = sqrtPsd(A, d);
    inner = matmul(matmul(r, B, d), r, d);
  }
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) { const s = (inner[i * d + j] + inner[j * d + i]) / 2; inner[i * d + j] = s; inner[j * d + i] = s; }
  return symmetricEigenvalues(inner, d);
}

/** Rows `idx` of [n, dim] `x`, stacked. */
export function takeRows(x: Float32Array, dim: number, idx: readonly number[]): Float32Array {
  const out = new Float32Array(idx.length * dim);
  idx.forEach((r, i) => out.set(x.subarray(r * dim, (r + 1) * dim), i * dim));
  return out;
}
