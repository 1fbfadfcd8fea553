/**
 * Black-box search per target in the face model's latent space, using only the encoder's answers (never its
 * gradients), from a learned start, under a query budget per target — and, with `minutes`, a wall-clock
 * budget that lowers it to what this machine affords (./pacer.ts) — all targets together so every encoder
 * call carries many candidates. Methods: `zeroth-order` (./zerothOrder.ts, optionally guided by a
 * surrogate encoder: ./surrogatePrior.ts) and `genetic` (./genetic.ts). Objective: cosine to the target
 * template; every candidate scored may become the answer; the face detector's acceptance test and the
 * per-target bests live in ./searchState.ts.
 */
import type { FaceModel } from '../faceModel/types';
import { genetic } from './genetic';
import { QueryOracle } from './oracle';
import { PaceDecision, QueryPacer } from './pacer';
import { SearchHooks, SearchState } from './searchState';
import type { SurrogatePrior } from './surrogatePrior';
import { zerothOrder } from './zerothOrder';

export type { SearchStep } from './searchState';

export interface QuerySearchOptions extends SearchHooks {
  method: 'zeroth-order' | 'genetic';
  /** Latent standard deviations: probe radius (zeroth-order) or initial mutation scale (genetic). */
  sigma: number;
  /** zeroth-order: Adam step size in latent standard deviations. */
  learningRate: number;
  directions: number;
  population: number;
  seed?: number;
  /** Wall-clock budget of the search (start, steps, acceptance tests, surrogate work), minutes. */
  minutes?: number;
  /** When the budgeted work began (Date.now() units), if before this call: a surrogate warm-up counts too. */
  startedAt?: number;
  /** zeroth-order: a surrogate encoder's gradients as prior (no queries). */
  prior?: SurrogatePrior;
  signal?: AbortSignal;
}

export interface SearchResult {
  bestLatents: Float32Array;
  bestCos: Float32Array;
  startCos: Float32Array;
  queries: Int32Array;
  failure: (string | undefined)[];
  /** Whether each answer passed the last acceptance test (true everywhere without one). */
  detected: boolean[];
  aborted: boolean;
  /** The per-target budget the search ended with, and why it is below the configured one when it is. */
  pace: PaceDecision;
}

export async function querySearch(oracle: QueryOracle, model: FaceModel, start: Float32Array, o: QuerySearchOptions): Promise<SearchResult> {
  const k = model.latentDim;
  const n = start.length / k;
  if (!Number.isInteger(n) || n < 1) throw new Error(`query search: start latents (${start.length} values) are not rows of ${k}`);
  if (!(o.sigma > 0) || !(o.learningRate > 0)) throw new Error('query search: sigma and learningRate must be > 0');
  if (o.prior && o.method !== 'zeroth-order') throw new Error(`query search: a surrogate prior guides the zeroth-order search, not "${o.method}"`);
  const pacer = new QueryPacer(oracle.budget, o.minutes !== undefined ? o.minutes * 60 : undefined, Date.now, o.startedAt);
  const state = await SearchState.open(oracle, model, start, o, pacer);
  const startCos = Float32Array.from(state.bestCos);
  const aborted = o.method === 'zeroth-order'
    ? await zerothOrder(state, model, { sigma: o.sigma, learningRate: o.learningRate, directions: o.directions, seed: o.seed, prior: o.prior, signal: o.signal })
    : await genetic(state, model, { sigma: o.sigma, population: o.population, seed: o.seed, signal: o.signal });
  await state.accept(null);
  await state.report();
  return {
    bestLatents: state.best, bestCos: state.bestCos, startCos, queries: Int32Array.from(oracle.used), failure: oracle.failure.slice(),
    detected: state.detected, aborted, pace: pacer.current,
  };
}
