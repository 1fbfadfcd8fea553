/**
 * Zeroth-order search (Park, Park, Dong & Teoh, ICIP 2023, "Face reconstruction … black-box", their
 * reconstruct.py): a gradient estimate from `directions` antithetic Gaussian probe pairs around the current
 * point, f(u ± σd), plus the point itself (4 + 1 queries a step for 2 pairs), fed to Adam; every candidate
 * scored may become the answer.
 *
 * With a surrogate prior (./surrogatePrior.ts) the attacker's own differentiable encoder guides it, at no
 * query cost: (1) the first probe pair runs along the surrogate's gradient instead of a random direction,
 * so the attacked encoder's answers measure — and correct the sign and size of — the one direction most
 * likely to help (prior-guided random-gradient-free estimation, Cheng et al., NeurIPS 2019, with the prior
 * always sampled rather than mixed by an estimated alignment: with 2 probe pairs in 512 dimensions a random
 * pair sees almost none of the gradient, so the prior pair carries the step); (2) the surrogate's gradient
 * itself is added with `weight`, so the step climbs cos_E + weight·cos_F: the attacked encoder's score and the
 * identity a second face model sees, which is what makes the face pass systems the attack never queried.
 */
import { ADAM_DEFAULTS, adamUpdate } from '../../nets/layers/adam';
import type { FaceModel } from '../faceModel/types';
import { gaussian } from './gaussian';
import type { SearchState } from './searchState';
import type { SurrogatePrior } from './surrogatePrior';

export interface ZerothOrderOptions {
  /** Probe radius in latent standard deviations. */
  sigma: number;
  /** Adam step size in latent standard deviations. */
  learningRate: number;
  /** Antithetic direction pairs per step. */
  directions: number;
  seed?: number;
  prior?: SurrogatePrior;
  signal?: AbortSignal;
}

/** Runs until no target can afford a step; returns whether it was aborted. */
export async function zerothOrder(state: SearchState, model: FaceModel, o: ZerothOrderOptions): Promise<boolean> {
  const { k, n, oracle } = state;
  const q = o.directions;
  const per = 2 * q + 1;
  const randn = gaussian(o.seed ?? 0);
  const u = Float32Array.from(state.best);
  const m1 = new Float32Array(n * k), v1 = new Float32Array(n * k);
  const sigma = o.sigma * model.latentScale;
  const adam = { learningRate: o.learningRate * model.latentScale, beta1: ADAM_DEFAULTS.beta1, beta2: ADAM_DEFAULTS.beta2, epsilon: 1e-12 };
  for (let step = 1; ; step++) {
    if (o.signal?.aborted) return true;
    const live = state.live(per);
    if (!live.length) return false;
    const prior = o.prior ? await o.prior.gradient(gatherRows(u, live, k), live) : null;
    const dirs = new Float32Array(live.length * q * k);
    for (let i = 0; i < live.length; i++) {
      for (let j = 0; j < q; j++) {
        const d = dirs.subarray((i * q + j) * k, (i * q + j + 1) * k);
        if (j === 0 && prior) setScaled(d, prior.subarray(i * k, (i + 1) * k), Math.sqrt(k));
        else for (let c = 0; c < k; c++) d[c] = randn();
      }
    }
    const { cand, owners } = probes(u, live, dirs, q, k, sigma);
    model.clampLatents(cand);
    const f = await oracle.score(cand, owners);
    live.forEach((t, i) => {
      if (oracle.failure[t]) return;
      for (let s = 0; s < per; s++) state.take(t, cand, (i * per + s) * k, f[i * per + s]);
      const g = new Float32Array(k);
      for (let j = 0; j < q; j++) {
        const w = (f[i * per + 1 + 2 * j] - f[i * per + 2 + 2 * j]) / (2 * sigma * q);
        const d = dirs.subarray((i * q + j) * k, (i * q + j + 1) * k);
        for (let c = 0; c < k; c++) g[c] += w * d[c];
      }
      if (prior && o.prior!.weight > 0) {
        const p = prior.subarray(i * k, (i + 1) * k);
        for (let c = 0; c < k; c++) g[c] += o.prior!.weight * p[c];
      }
      // Ascent on the cosine: Adam descends on −g.
      for (let c = 0; c < k; c++) g[c] = -g[c];
      const row = (a: Float32Array) => a.subarray(t * k, (t + 1) * k);
      adamUpdate(row(u), row(m1), row(v1), g, adam, step);
    });
    model.clampLatents(u);
    await state.afterStep(live, per, u);
  }
}

/** The base point and its ± probes for every live target, rows in that order, with their owners. */
function probes(u: Float32Array, live: number[], dirs: Float32Array, q: number, k: number, sigma: number): { cand: Float32Array; owners: number[] } {
  const per = 2 * q + 1;
  const cand = new Float32Array(live.length * per * k);
  const owners: number[] = [];
  live.forEach((t, i) => {
    cand.set(u.subarray(t * k, (t + 1) * k), i * per * k);
    owners.push(t);
    for (let j = 0; j < q; j++) {
      const d = dirs.subarray((i * q + j) * k, (i * q + j + 1) * k);
      for (const [sgn, slot] of [[1, 1 + 2 * j], [-1, 2 + 2 * j]] as const) {
        const off = (i * per + slot) * k;
        for (let c = 0; c < k; c++) cand[off + c] = u[t * k + c] + sgn * sigma * d[c];
        owners.push(t);
      }
    }
  });
  return { cand, owners };
}

function gatherRows(a: Float32Array, rows: number[], k: number): Float32Array {
  const out = new Float32Array(rows.length * k);
  rows.forEach((r, i) => out.set(a.subarray(r * k, (r + 1) * k), i * k));
  return out;
}

/** dst = src scaled to norm `norm` (a Gaussian direction's typical length), or a zero row left random-free. */
function setScaled(dst: Float32Array, src: Float32Array, norm: number): void {
  let s = 0;
  for (let c = 0; c < src.length; c++) s += src[c] * src[c];
  const f = s > 0 ? norm / Math.sqrt(s) : 0;
  for (let c = 0; c < src.length; c++) dst[c] = src[c] * f;
}
