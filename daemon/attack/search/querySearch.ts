/**
 * Black-box search per target in the face model's latent space, using only the encoder's answers (never its
 * gradients), from a learned start, under a query budget per target — and, with `minutes`, a wall-clock
 * budget that lowers it to what this machine affords (./pacer.ts) — all targets together so every encoder
 * call carries many candidates. Methods: `zeroth-order` (./zerothOrder.ts, optionally guided by a
 * surrogate encoder: ./surrogatePrior.ts), `genetic` (./genetic.ts) and `secant` (./secant.ts: reads the whole template
 * each query answers; its forward model, ./forwardModel.ts, is fitted here first). Objective: cosine to the target
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
import type { SearchMethod } from '../../protocol/runConfig';
import { DRAWS_PER_COMPONENT, FORWARD_MODEL_DEFAULTS, ForwardModel, ForwardModelOptions } from './forwardModel';
import { cachedForwardModel } from './forwardModelCache';
import { SECANT_DEFAULTS, secantSearch } from './secant';

export type { SearchStep } from './searchState';

export interface QuerySearchOptions extends SearchHooks {
  method: Exclude<SearchMethod, 'none'>;
  /** secant: trust radius, window and the forward model's latent draws (./secant.ts, ./forwardModel.ts). */
  secant?: { radius?: number; window?: number; draws?: number; metricLambda?: number };
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
  /** secant: where its forward model is kept between runs (./forwardModelCache.ts); fitted every time when undefined. */
  cacheDir?: string;
  /** Says what a long one-off step is doing (the secant search's forward model). */
  log?: (message: string) => void;
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
  /** secant: the forward model's held-out explained variance and the attacker's own queries it took. */
  forward?: { explained: number; queries: number; seconds: number; cached: boolean };
}

export async function querySearch(oracle: QueryOracle, model: FaceModel, start: Float32Array, o: QuerySearchOptions): Promise<SearchResult> {
  const k = model.latentDim;
  const n = start.length / k;
  if (!Number.isInteger(n) || n < 1) throw new Error(`query search: start latents (${start.length} values) are not rows of ${k}`);
  if (!(o.sigma > 0) || !(o.learningRate > 0)) throw new Error('query search: sigma and learningRate must be > 0');
  if (o.prior && o.method !== 'zeroth-order') throw new Error(`query search: a surrogate prior guides the zeroth-order search, not "${o.method}"`);
  // The secant search's forward model is one-off work: it counts against the minutes, not as a per-query cost.
  const tFit = Date.now();
  let forward: ForwardModel | undefined;
  let forwardCached = false;
  if (o.method === 'secant') {
    const draws = o.secant?.draws ?? DRAWS_PER_COMPONENT * k;
    const fit: ForwardModelOptions = { ...FORWARD_MODEL_DEFAULTS, draws, metricLambda: o.secant?.metricLambda ?? FORWARD_MODEL_DEFAULTS.metricLambda, seed: o.seed ?? 0 };
    o.log?.(`secant search: its forward model on ${draws} of the attacker's own queries (not any target's)${o.cacheDir === undefined ? '' : ', from the cache when an earlier run fitted it'}`);
    ({ forward, cached: forwardCached } = await cachedForwardModel(model, (z) => oracle.setupTemplates(z), fit, o.cacheDir));
  }
  const fitSeconds = (Date.now() - tFit) / 1000;
  const pacer = new QueryPacer(oracle.budget, o.minutes !== undefined ? o.minutes * 60 : undefined, Date.now, o.startedAt ?? tFit);
  const state = await SearchState.open(oracle, model, start, o, pacer, o.method === 'secant');
  const startCos = Float32Array.from(state.bestCos);
  const aborted = await METHODS[o.method](state, model, oracle, o, forward);
  await state.accept(null);
  await state.report();
  return {
    bestLatents: state.best, bestCos: state.bestCos, startCos, queries: Int32Array.from(oracle.used), failure: oracle.failure.slice(),
    detected: state.detected, aborted, pace: pacer.current,
    ...(forward ? { forward: { explained: forward.explained, queries: forward.queries, seconds: fitSeconds, cached: forwardCached } } : {}),
  };
}

type MethodRun = (state: SearchState, model: FaceModel, oracle: QueryOracle, o: QuerySearchOptions, forward?: ForwardModel) => Promise<boolean>;

/** Each search method's loop, given the opened state; returns whether it was aborted. */
const METHODS: Record<QuerySearchOptions['method'], MethodRun> = {
  'zeroth-order': (state, model, _oracle, o) => zerothOrder(state, model, { sigma: o.sigma, learningRate: o.learningRate, directions: o.directions, seed: o.seed, prior: o.prior, signal: o.signal }),
  genetic: (state, model, _oracle, o) => genetic(state, model, { sigma: o.sigma, population: o.population, seed: o.seed, signal: o.signal }),
  secant: (state, model, oracle, o, forward) => secantSearch(state, model, forward!, Array.from({ length: state.n }, (_, t) => oracle.target(t)),
    { radius: o.secant?.radius ?? SECANT_DEFAULTS.radius, window: o.secant?.window ?? SECANT_DEFAULTS.window, signal: o.signal }),
};
