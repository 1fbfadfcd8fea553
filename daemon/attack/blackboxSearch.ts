/**
 * The black box's per-target stage of a run: the encoder as a query oracle, the optional surrogate prior
 * (warm-up on the surrogate alone, then its gradients inside the zeroth-order steps), the face detector's
 * acceptance test, the wall-clock budget, and what all of it reports — live progress, metrics, snapshots
 * of the current faces, and the run manifest's record of queries, pacing and surrogate work.
 */
import type { RunConfig } from '../protocol/runConfig';
import type { EncoderConfig } from '../protocol/encoderConfig';
import { loadEncoder } from '../encoders/load';
import type { AttackContext } from '../runs/context';
import { JobCancelledError } from '../runs/context';
import { MetricsWriter, updateManifest } from '../runs/runFolder';
import type { FaceModel } from './faceModel/types';
import { makeFaceCheck } from './faceCheck';
import { QueryOracle } from './search/oracle';
import { querySearch, type SearchStep } from './search/querySearch';
import { AttackerPhotos, openSurrogatePrior, type SurrogatePrior } from './search/surrogatePrior';

/** Targets whose live progress is drawn per target on the dashboard. */
const SHOWN_TARGETS = 6;
/** Seconds between live snapshots of the current best faces during a query search. */
const SNAPSHOT_SECONDS = 45;

export interface BlackboxSearchInput {
  config: RunConfig;
  enc: EncoderConfig;
  model: FaceModel;
  targets: Float32Array[];
  ids: string[];
  start: Float32Array;
  runDir: string;
  metrics: MetricsWriter;
  /** The attacker's own photos (PCA face model only): what a surrogate's template map is fitted on. */
  photos?: AttackerPhotos;
  cacheDir?: string;
  /** When the run's wall-clock budget ends (config.minutes), Date.now() units. */
  deadline?: number;
  writeSnapshot(latents: Float32Array, cosine: number[], queries: number[]): Promise<void>;
}

export interface BlackboxSearchOutput { latents: Float32Array; cosine: number[]; queries: number[] }

/** Share of a run's wall-clock budget kept for the evaluation after the search. */
export const EVALUATION_SHARE = 0.25;
/** The least a search gets under a run budget that setup has already spent (start and a few steps). */
export const MIN_SEARCH_MINUTES = 0.5;

/**
 * The search's minutes: search.minutes, capped by what the run's budget leaves after setup less the
 * evaluation's share; when even the floor does not fit, the run says so now, and what it cuts.
 */
export function searchMinutes(config: RunConfig, deadline: number | undefined, now: number, warn: (m: string) => void): number | undefined {
  const own = config.search.minutes;
  if (deadline === undefined || config.minutes === undefined) return own;
  const left = (deadline - now) / 60_000 - EVALUATION_SHARE * config.minutes;
  const spentOnSetup = config.minutes - (deadline - now) / 60_000;
  if (left < MIN_SEARCH_MINUTES) {
    warn(`this run cannot keep its budget of ${config.minutes} min on this machine: setup took ${spentOnSetup.toFixed(1)} min; ` +
      `the search gets its floor of ${MIN_SEARCH_MINUTES} min (fewer queries per target; the report says how many) and the evaluation its ${(EVALUATION_SHARE * config.minutes).toFixed(1)} min share`);
    return MIN_SEARCH_MINUTES;
  }
  const m = own !== undefined ? Math.min(own, left) : left;
  if (own === undefined || left < own) warn(`the search gets ${m.toFixed(1)} min of the run's ${config.minutes} (setup took ${spentOnSetup.toFixed(1)} min; ${(EVALUATION_SHARE * config.minutes).toFixed(1)} min kept for the evaluation)`);
  return m;
}

export async function blackboxSearch(ctx: AttackContext, p: BlackboxSearchInput): Promise<BlackboxSearchOutput> {
  const { config, targets } = p;
  const sc = { ...config.search };
  const startedAt = Date.now();
  const minutes = searchMinutes(config, p.deadline, startedAt, (m) => ctx.log('warn', m));
  if (minutes !== undefined) sc.minutes = minutes;
  let start = p.start;
  const prior = sc.surrogate ? await openPrior(ctx, p) : null;
  const encoder = await loadEncoder(p.enc, { workspaceDir: ctx.workspaceDir });
  const check = sc.detectorCheck ? await makeFaceCheck(p.model) : null;
  try {
    if (prior && sc.surrogate!.warmupSteps > 0) {
      ctx.progress(0, 1, {}, `surrogate ${prior.id}: ${sc.surrogate!.warmupSteps} warm-up steps (no queries)`);
      start = await prior.warmup(start, sc.surrogate!.warmupSteps, sc.surrogate!.warmupLearningRate);
      p.model.clampLatents(start);
    }
    const oracle = new QueryOracle(encoder, p.model, targets, sc.queries);
    const progress = searchProgress(ctx, p, oracle);
    const res = await querySearch(oracle, p.model, start, {
      method: sc.method as 'zeroth-order' | 'genetic', sigma: sc.sigma, learningRate: sc.learningRate,
      directions: sc.directions, population: sc.population, seed: config.training.seed,
      ...(sc.minutes !== undefined ? { minutes: sc.minutes, startedAt } : {}), ...(prior ? { prior } : {}),
      ...(check ? { detect: check.detect } : {}), signal: ctx.signal, onStep: progress,
    });
    if (res.aborted) throw new JobCancelledError();
    const failed = res.failure.filter(Boolean).length;
    if (failed) ctx.log('warn', `${failed} targets failed during the search (${res.failure.find(Boolean)}); their best result so far is kept`);
    const undetected = res.detected.filter((d) => !d).length;
    if (undetected) ctx.log('warn', `${undetected} answers are not found by the face detector (no detectable candidate was reached)`);
    const queries = Array.from(res.queries);
    const spent = queries.reduce((a, b) => a + b, 0);
    const mean = (a: ArrayLike<number>) => Array.from(a).filter(Number.isFinite).reduce((x, y) => x + y, 0) / Math.max(1, a.length);
    const why = res.pace.cut ?? `budget of ${sc.queries} queries per target reached`;
    const stopReason = `${why} (${(spent / targets.length).toFixed(0)} spent on average: a step that would overrun it is not taken)`;
    const total = targets.length * sc.queries;
    ctx.progress(spent, total, {}, 'query search done', { budget: { kind: 'queries', used: spent, limit: total }, stopReason });
    updateManifest(p.runDir, {
      progress: { step: spent, totalSteps: total, budget: { kind: 'queries', used: spent, limit: total } }, stopReason,
      ...(prior ? { searchSurrogate: { encoderId: prior.id, weight: prior.weight, mapCosine: prior.mapCosine, evaluations: prior.stats.evaluations, seconds: prior.stats.seconds } } : {}),
    });
    if (res.pace.cut) ctx.log('warn', `query search: ${res.pace.cut}`);
    if (prior) ctx.log('info', `surrogate ${prior.id}: ${prior.stats.evaluations} gradient evaluations in ${prior.stats.seconds.toFixed(0)} s (not queries)`);
    ctx.log('info', `query search: mean cosine to the targets ${mean(res.startCos).toFixed(3)} at the start → ${mean(res.bestCos).toFixed(3)} after ${mean(res.queries).toFixed(0)} queries per target (the optimiser's own figure)`);
    return { latents: res.bestLatents, cosine: Array.from(res.bestCos), queries };
  } finally {
    encoder.dispose();
    await check?.dispose();
    await prior?.dispose();
  }
}

/** The surrogate prior, or null with the reason logged when it cannot be trusted (the search then runs on queries alone). */
async function openPrior(ctx: AttackContext, p: BlackboxSearchInput): Promise<SurrogatePrior | null> {
  const s = p.config.search.surrogate!;
  if (!p.photos) throw new Error(`search.surrogate needs faceModel.kind "pca" (its map is fitted on the attacker's photos in the face model's frame)`);
  try {
    return await openSurrogatePrior(p.model, p.enc, p.targets, p.photos, { surrogate: s.encoder, weight: s.weight, fitPhotos: s.fitPhotos, seed: p.config.training.seed },
      { workspaceDir: ctx.workspaceDir, cacheDir: p.cacheDir, log: (m) => ctx.log('info', m) });
  } catch (e) {
    const msg = (e as Error).message;
    // A surrogate that is refused by identity (the attacked model) is a config error; one that fits badly is a measured fact.
    if (!/fits badly/.test(msg)) throw e;
    ctx.log('warn', `${msg}; the search falls back to queries only`);
    return null;
  }
}

function searchProgress(ctx: AttackContext, p: BlackboxSearchInput, oracle: QueryOracle): (s: SearchStep) => Promise<void> {
  const { targets, ids, metrics } = p;
  const total = targets.length * p.config.search.queries;
  const t0 = Date.now();
  let lastSnap = Date.now();
  let announced = false;
  return async (s) => {
    if (!announced && oracle.budget < p.config.search.queries) {
      // Said as soon as the first steps show it, not at the end: the user learns at once what this machine affords.
      announced = true;
      ctx.log('warn', `query search: this machine affords ${oracle.budget} of the ${p.config.search.queries} queries per target within its time; the search is cut to fit (the report says so)`);
    }
    const valid = Array.from(s.best).filter((c) => Number.isFinite(c));
    const mean = valid.reduce((a, b) => a + b, 0) / Math.max(1, valid.length);
    const time = new Date().toISOString();
    metrics.append({ time, step: Math.round(s.queriesPerTarget), split: 'search', loss: 1 - mean, cosine: mean });
    for (let t = 0; t < Math.min(SHOWN_TARGETS, targets.length); t++) {
      if (Number.isFinite(s.best[t])) metrics.append({ time, step: oracle.used[t], split: 'search', loss: 1 - s.best[t], cosine: s.best[t], target: ids[t] });
    }
    // The pacer may lower the budget while the search runs: progress is against what it now allows.
    const limit = Math.min(total, targets.length * oracle.budget);
    const used = Math.min(limit, s.queriesPerTarget * targets.length);
    const elapsed = (Date.now() - t0) / 1000;
    const etaSeconds = used > 0 ? (elapsed / used) * Math.max(0, limit - used) : undefined;
    const budget = { kind: 'queries' as const, used: Math.round(used), limit };
    ctx.progress(Math.round(used), limit, { cosine: mean, queriesPerTarget: s.queriesPerTarget }, `query search: ${s.activeTargets} targets still searching`,
      { budget, ...(etaSeconds !== undefined ? { etaSeconds } : {}) });
    updateManifest(p.runDir, { progress: { step: Math.round(used), totalSteps: limit, budget } });
    if (Date.now() - lastSnap > SNAPSHOT_SECONDS * 1000) {
      lastSnap = Date.now();
      await p.writeSnapshot(s.bestLatents, Array.from(s.best), Array.from(oracle.used));
    }
  };
}
