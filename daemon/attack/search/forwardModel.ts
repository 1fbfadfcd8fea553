/**
 * The attacked encoder's average response to the face model's latent: a linear model e ≈ A·z + b of the
 * unit template e of the rendered face, fitted by ridge regression on latents drawn from the model's own
 * prior (whitened, N(0, I), clamped). For Gaussian inputs the least-squares slope is the encoder's mean
 * Jacobian (Stein's lemma: E[f(z)·zᵀ] = E[∂f/∂z] for z ~ N(0, I)), so A is the best prior guess of the
 * local Jacobian at any face before a query there; the secant search (./secant.ts) corrects it per target
 * with what its own queries show.
 *
 * Also kept: P = (A·Aᵀ + λ·I)⁻¹ ([dim, dim]), the output-space metric of the Gauss–Newton step
 * d = Jᵀ·P·(t − e), so that a step asks for the template change it needs in every output direction rather
 * than climbing the cosine's gradient, which the few strongest directions of A dominate.
 */
import { cholesky, choleskySolve } from '../../math/linalg';
import { fitRidge } from '../../math/ridge';
import type { FaceModel } from '../faceModel/types';
import { gaussian } from './gaussian';

export interface ForwardModel {
  /** Latent length K. */
  k: number;
  /** Template length. */
  dim: number;
  /** Aᵀ, [K, dim] row-major: row i is the template's response to latent coordinate i. */
  slope: Float32Array;
  /** (A·Aᵀ + λ·I)⁻¹, [dim, dim]. */
  metric: Float32Array;
  /** Held-out share of the template's variance the linear model explains (the last fifth of the draws). */
  explained: number;
  /** Latents queried to fit it (the attacker's own queries, no target's). */
  queries: number;
}

export interface ForwardModelOptions {
  /** Latents drawn and queried (≥ 2·K keeps the fit determined). */
  draws: number;
  /** Ridge penalty of the slope. */
  lambda: number;
  /** The metric's λ as a share of A·Aᵀ's mean eigenvalue. */
  metricLambda: number;
  seed: number;
}

/**
 * Draws per latent coordinate by default: on the validation split (512 components, 30 queries per target) 4 per
 * coordinate explain 13.5 % of the held-out variance and end at cosine 0.778; 8 explain 28.9 % and reach 0.792;
 * 16 explain 35.0 % and reach 0.788 (docs/search.md, "The secant search").
 */
export const DRAWS_PER_COMPONENT = 8;

export const FORWARD_MODEL_DEFAULTS: ForwardModelOptions = { draws: 0, lambda: 1, metricLambda: 1, seed: 0 };

/** Draws `draws` latents from the model's prior, asks `templates` for their (unit) templates, fits the model. */
export async function fitForwardModel(model: FaceModel, templates: (latents: Float32Array) => Promise<Float32Array>, o: ForwardModelOptions): Promise<ForwardModel> {
  const k = model.latentDim;
  const n = o.draws;
  if (!(Number.isInteger(n) && n >= 2 * k)) throw new Error(`secant search: its forward model needs at least 2 × ${k} latent draws (the face model's size), got ${n}`);
  const randn = gaussian(o.seed + 7919);
  const z = Float32Array.from({ length: n * k }, () => randn() * model.latentScale);
  model.clampLatents(z);
  const e = await templates(z);
  const dim = e.length / n;
  const nFit = n - Math.floor(n / 5);
  const held = fitSlope(z, e, nFit, k, dim, o.lambda);
  const explained = explainedShare(held, z.subarray(nFit * k), e.subarray(nFit * dim), n - nFit, k, dim);
  const all = fitSlope(z, e, n, k, dim, o.lambda);
  return { k, dim, slope: all.slope, metric: outputMetric(all.slope, k, dim, o.metricLambda), explained, queries: n };
}

interface Slope { slope: Float32Array; bias: Float64Array }

function fitSlope(z: Float32Array, e: Float32Array, n: number, k: number, dim: number, lambda: number): Slope {
  const w = fitRidge(z.subarray(0, n * k), e.subarray(0, n * dim), n, k, dim, lambda).weights;
  return { slope: Float32Array.from(w.subarray(0, k * dim)), bias: w.slice(k * dim, (k + 1) * dim) };
}

function explainedShare(s: Slope, z: Float32Array, e: Float32Array, n: number, k: number, dim: number): number {
  const mean = new Float64Array(dim);
  for (let r = 0; r < n; r++) for (let c = 0; c < dim; c++) mean[c] += e[r * dim + c] / n;
  let res = 0, tot = 0;
  const pred = new Float64Array(dim);
  for (let r = 0; r < n; r++) {
    pred.set(s.bias);
    for (let i = 0; i < k; i++) {
      const zi = z[r * k + i];
      if (zi === 0) continue;
      for (let c = 0; c < dim; c++) pred[c] += zi * s.slope[i * dim + c];
    }
    for (let c = 0; c < dim; c++) { res += (e[r * dim + c] - pred[c]) ** 2; tot += (e[r * dim + c] - mean[c]) ** 2; }
  }
  return tot > 0 ? 1 - res / tot : 0;
}

function outputMetric(slope: Float32Array, k: number, dim: number, rel: number): Float32Array {
  const G = new Float64Array(dim * dim);
  for (let i = 0; i < k; i++) {
    const row = slope.subarray(i * dim, (i + 1) * dim);
    for (let a = 0; a < dim; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      for (let b = 0; b <= a; b++) G[a * dim + b] += ra * row[b];
    }
  }
  let trace = 0;
  for (let a = 0; a < dim; a++) trace += G[a * dim + a];
  const lambda = Math.max(1e-12, (rel * trace) / dim);
  for (let a = 0; a < dim; a++) { for (let b = 0; b < a; b++) G[b * dim + a] = G[a * dim + b]; G[a * dim + a] += lambda; }
  const I = new Float64Array(dim * dim);
  for (let a = 0; a < dim; a++) I[a * dim + a] = 1;
  return Float32Array.from(choleskySolve(cholesky(G, dim, 'secant search metric'), I, dim, dim));
}
