/**
 * Where each target's search begins (and, without a search, the answer):
 * - `ridge`: the closed-form ridge map from template to face-model latent (ridge.ts), fitted on the
 *   attacker's own training pairs — the seed's learned inverse in its cheapest form;
 * - `nearest`: the mean latent of the attacker's top-5 training faces by cosine to the target (Park et al.,
 *   ICIP 2023, initialise from a top-k latent ensemble);
 * - `decoder`: the decoder's own answer (decoder face model: the latent is the target template itself).
 */
import type { RunConfig } from '../protocol/runConfig';
import { applyRidge, fitRidge } from '../math/ridge';

export interface AttackerPairs {
  /** [n, dim] unit-norm templates of the attacker's training photos. */
  templates: Float32Array;
  dim: number;
  /** [n, latentDim] their latents in the face model (PCA: projections; decoder: the templates). */
  latents: Float32Array;
  latentDim: number;
  n: number;
}

export const RIDGE_LAMBDA = 0.1;
export const NEAREST_K = 5;

/** Top-k rows of `pool` by dot product with `t` (k ≤ pool rows). */
function topK(t: Float32Array, pool: Float32Array, dim: number, k: number): number[] {
  const n = pool.length / dim;
  const best: { row: number; s: number }[] = [];
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let i = 0; i < dim; i++) s += t[i] * pool[r * dim + i];
    if (best.length < k || s > best[best.length - 1].s) {
      best.push({ row: r, s });
      best.sort((a, b) => b.s - a.s);
      if (best.length > k) best.pop();
    }
  }
  return best.map((b) => b.row);
}

export function startLatents(kind: RunConfig['start'], targets: readonly Float32Array[], pairs: AttackerPairs): Float32Array {
  return startFrom(kind, pairs)(targets);
}

/** The start as a function of the targets, fitted once on the attacker's pairs (the audit starts chunk by chunk). */
export function startFrom(kind: RunConfig['start'], pairs: AttackerPairs): (targets: readonly Float32Array[]) => Float32Array {
  const { dim, latentDim } = pairs;
  if (kind === 'decoder') {
    if (latentDim !== dim) throw new Error(`start "decoder" needs a face model whose latent is the template (${dim}-d), this one takes ${latentDim}-d latents`);
    return (targets) => {
      const out = new Float32Array(targets.length * latentDim);
      targets.forEach((t, i) => out.set(t, i * dim));
      return out;
    };
  }
  if (kind === 'ridge') {
    const map = fitRidge(pairs.templates, pairs.latents, pairs.n, dim, latentDim, RIDGE_LAMBDA);
    return (targets) => {
      const flat = new Float32Array(targets.length * dim);
      targets.forEach((t, i) => flat.set(t, i * dim));
      return applyRidge(map, flat, targets.length);
    };
  }
  if (pairs.n < NEAREST_K) throw new Error(`start "nearest" averages the ${NEAREST_K} nearest training faces, the attacker has ${pairs.n}`);
  return (targets) => {
    const out = new Float32Array(targets.length * latentDim);
    targets.forEach((t, i) => {
      for (const r of topK(t, pairs.templates, dim, NEAREST_K)) {
        for (let c = 0; c < latentDim; c++) out[i * latentDim + c] += pairs.latents[r * latentDim + c] / NEAREST_K;
      }
    });
    return out;
  };
}
