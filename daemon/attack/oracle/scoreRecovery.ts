/**
 * Score oracle, attacker holds a copy of the encoder: recover the enrolled template t from the scores the
 * system answers for probe images whose embeddings e_i the attacker computes with its copy. For a cosine score
 * of unit vectors, s_i = ⟨e_i, t⟩ — one linear equation per query (the score-leak attack on encrypted matching,
 * Frontiers in Imaging 2025, fimag.2025.1476377: 50–192 scores recover the template; sources in
 * ../shared/reviews/threat-models-and-protection.md). With fewer queries than dimensions the face model's prior
 * fills the rest: t ~ N(μ, Σ), the mean and covariance of the attacker's own face embeddings, and the answer is
 * the Gaussian posterior mean (Bayesian linear regression; rounding to q = 10^-decimals is noise of variance
 * q²/12, added noise its own variance). Normalised, it is a template `invertTargets` can invert.
 *
 * The posterior covariance does not depend on the answers, so the probe set is designed once for every subject
 * (greedy: the next probe is the pool image along which the posterior is widest, eᵀΣe) and the Kalman gains are
 * shared: per subject, recovery costs O(queries · dim). Shapes: embeddings row-major [n, dim] float32, unit rows.
 */

export interface TemplatePrior {
  dim: number;
  /** [dim] mean of the attacker's face embeddings. */
  mean: Float64Array;
  /** [dim, dim] covariance, row-major, with a small ridge on the diagonal. */
  cov: Float64Array;
}

/** Mean and covariance of `n` embeddings [n, dim] (the attacker's reference faces); `ridge` is added to the diagonal. */
export function fitTemplatePrior(embeddings: Float32Array, n: number, dim: number, ridge = 1e-4): TemplatePrior {
  if (n < 2) throw new Error(`fitTemplatePrior: needs at least 2 reference embeddings, got ${n}`);
  if (embeddings.length !== n * dim) throw new Error(`fitTemplatePrior: ${embeddings.length} values is not ${n} × ${dim}`);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += embeddings[i * dim + j] / n;
  const cov = new Float64Array(dim * dim);
  const x = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) x[j] = embeddings[i * dim + j] - mean[j];
    for (let a = 0; a < dim; a++) {
      const xa = x[a] / (n - 1);
      if (xa === 0) continue;
      const row = a * dim;
      for (let b = a; b < dim; b++) cov[row + b] += xa * x[b];
    }
  }
  for (let a = 0; a < dim; a++) {
    cov[a * dim + a] += ridge;
    for (let b = 0; b < a; b++) cov[a * dim + b] = cov[b * dim + a];
  }
  return { dim, mean, cov };
}

/** Variance of the answer's error: rounding to `decimals` (uniform, q²/12) plus Gaussian noise of sd `noise`; a floor keeps the solve stable. */
export function scoreNoiseVariance(o: { decimals?: number; noise?: number }): number {
  const q = o.decimals === undefined ? 0 : 10 ** -o.decimals;
  return Math.max(1e-8, (q * q) / 12 + (o.noise ?? 0) ** 2);
}

/** The probe set and the shared gains: probe k's answer moves the estimate by gains[k] · (s_k − ⟨e_k, m⟩). */
export interface ProbeDesign {
  dim: number;
  /** Rows of the pool chosen, in query order. */
  indices: number[];
  /** [count, dim] the chosen probes' embeddings. */
  probes: Float64Array;
  /** [count, dim] Kalman gains. */
  gains: Float64Array;
  /** Posterior variance left (trace of Σ) after each probe: how much of the template the scores have not pinned down. */
  residual: Float64Array;
  mean: Float64Array;
}

/**
 * Chooses `count` probes from `pool` ([poolN, dim], unit rows) greedily by posterior width and returns the
 * gains. Costs O(count · (dim² + poolN · dim)).
 */
export function designProbes(prior: TemplatePrior, pool: Float32Array, poolN: number, count: number, noiseVar: number): ProbeDesign {
  const d = prior.dim;
  if (pool.length !== poolN * d) throw new Error(`designProbes: pool of ${pool.length} values is not ${poolN} × ${d}`);
  if (count < 1 || count > poolN) throw new Error(`designProbes: ${count} probes from a pool of ${poolN}`);
  const S = Float64Array.from(prior.cov);
  // var[j] = p_jᵀ Σ p_j, kept up to date with rank-1 downdates.
  const v = new Float64Array(poolN);
  const Sp = new Float64Array(d);
  for (let j = 0; j < poolN; j++) {
    matVec(S, pool, j * d, d, Sp);
    let s = 0;
    for (let a = 0; a < d; a++) s += pool[j * d + a] * Sp[a];
    v[j] = s;
  }
  const used = new Uint8Array(poolN);
  const indices: number[] = [];
  const probes = new Float64Array(count * d);
  const gains = new Float64Array(count * d);
  const residual = new Float64Array(count);
  const Se = new Float64Array(d);
  for (let k = 0; k < count; k++) {
    let best = -1;
    for (let j = 0; j < poolN; j++) if (!used[j] && (best < 0 || v[j] > v[best])) best = j;
    used[best] = 1;
    indices.push(best);
    for (let a = 0; a < d; a++) probes[k * d + a] = pool[best * d + a];
    matVec(S, pool, best * d, d, Se);
    let eSe = 0;
    for (let a = 0; a < d; a++) eSe += pool[best * d + a] * Se[a];
    const denom = eSe + noiseVar;
    for (let a = 0; a < d; a++) gains[k * d + a] = Se[a] / denom;
    // Σ ← Σ − Se·Seᵀ / denom; var_j ← var_j − (p_jᵀ Se)² / denom.
    for (let a = 0; a < d; a++) {
      const f = Se[a] / denom;
      const row = a * d;
      for (let b = 0; b < d; b++) S[row + b] -= f * Se[b];
    }
    for (let j = 0; j < poolN; j++) {
      if (used[j]) continue;
      let c = 0;
      const o = j * d;
      for (let a = 0; a < d; a++) c += pool[o + a] * Se[a];
      v[j] -= (c * c) / denom;
    }
    let tr = 0;
    for (let a = 0; a < d; a++) tr += S[a * d + a];
    residual[k] = tr;
  }
  return { dim: d, indices, probes, gains, residual, mean: Float64Array.from(prior.mean) };
}

function matVec(S: Float64Array, x: Float32Array | Float64Array, off: number, d: number, out: Float64Array): void {
  for (let a = 0; a < d; a++) {
    let s = 0;
    const row = a * d;
    for (let b = 0; b < d; b++) s += S[row + b] * x[off + b];
    out[a] = s;
  }
}

/**
 * The recovered template (unit) after the first `used` answers (default all); `onStep(k, estimate)` sees the
 * unnormalised estimate after each answer (for success-vs-queries curves). Throws on a non-finite score.
 */
export function recoverTemplate(design: ProbeDesign, scores: ArrayLike<number>, used = scores.length, onStep?: (k: number, m: Float64Array) => void): Float32Array {
  const d = design.dim;
  const n = Math.min(used, scores.length, design.indices.length);
  const m = Float64Array.from(design.mean);
  for (let k = 0; k < n; k++) {
    const s = scores[k];
    if (!Number.isFinite(s)) throw new Error(`recoverTemplate: answer ${k} is not a finite score (${s})`);
    let pred = 0;
    for (let a = 0; a < d; a++) pred += design.probes[k * d + a] * m[a];
    const r = s - pred;
    for (let a = 0; a < d; a++) m[a] += design.gains[k * d + a] * r;
    onStep?.(k + 1, m);
  }
  return unit(m);
}

/** The template an attacker held at a query budget: recovered from the first `answers` scores (at most all it got). */
export interface HeldTemplate { queries: number; answers: number; template: Float32Array }

/**
 * The recovered template (unit) at each checkpoint (ascending budgets): from the first min(checkpoint, answers)
 * scores, so a checkpoint past the answers holds the final template, value for value; [] without an answer.
 */
export function recoveredAt(design: ProbeDesign, scores: ArrayLike<number>, checkpoints: readonly number[]): HeldTemplate[] {
  const n = Math.min(scores.length, design.indices.length);
  if (!n) return [];
  const wanted = new Set(checkpoints.map((q) => Math.min(q, n)));
  const at = new Map<number, Float32Array>();
  recoverTemplate(design, scores, n, (k, m) => { if (wanted.has(k)) at.set(k, unit(m)); });
  return checkpoints.map((q) => ({ queries: q, answers: Math.min(q, n), template: at.get(Math.min(q, n))! }));
}

export function unit(m: ArrayLike<number>): Float32Array {
  let nn = 0;
  for (let a = 0; a < m.length; a++) nn += m[a] * m[a];
  const inv = nn > 0 ? 1 / Math.sqrt(nn) : 0;
  const out = new Float32Array(m.length);
  for (let a = 0; a < m.length; a++) out[a] = m[a] * inv;
  return out;
}

/** Cosine of two vectors of equal length. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb);
}
