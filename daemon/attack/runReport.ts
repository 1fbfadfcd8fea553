/**
 * What a run reports while its targets are inverted (./invert.ts does the inverting): live progress, the
 * metrics file, snapshots of the current faces, the log, and run.json's record of queries, pacing, the
 * surrogate's work and the white box's engine. The audit reports per chunk instead (daemon/audit/run.ts).
 */
import type { RunConfig } from '../protocol/runConfig';
import type { AttackContext } from '../runs/attackContext';
import { MetricsWriter, updateManifest } from '../runs/runFolder';
import type { Inversion, InvertHooks } from './invert';
import type { QueryOracle } from './search/oracle';
import type { SearchStep } from './search/querySearch';

/** Targets whose live progress is drawn per target on the dashboard. */
const SHOWN_TARGETS = 6;
/** Seconds between live snapshots of the current best faces during a query search. */
const SNAPSHOT_SECONDS = 45;

export interface QueryReportInput {
  config: RunConfig;
  targets: readonly Float32Array[];
  ids: string[];
  runDir: string;
  metrics: MetricsWriter;
  writeSnapshot(latents: Float32Array, cosine: number[], queries: number[]): Promise<void>;
}

/**
 * Share of a run's wall-clock budget kept for the evaluation after the search: the main job's first run on a
 * quiet 2-core machine spent 3.0 min evaluating (three protocols, two scoring encoders, the bootstrap) where
 * 0.25 of 10 min had kept 2.5.
 */
export const EVALUATION_SHARE = 0.3;
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

/** The hooks that report a run's query search as it goes. */
export function queryReportHooks(ctx: AttackContext, p: QueryReportInput): Pick<InvertHooks, 'onWarmup' | 'onSearchStep'> {
  let step: ((s: SearchStep) => Promise<void>) | undefined;
  return {
    onWarmup: (id, steps) => ctx.progress(0, 1, {}, `surrogate ${id}: ${steps} warm-up steps (no queries)`),
    onSearchStep: (s, oracle) => (step ??= searchProgress(ctx, p, oracle))(s),
  };
}

/** After a run's query search: the warnings, the final progress and run.json's record of the search. */
export function reportQuerySearch(ctx: AttackContext, p: QueryReportInput, res: Inversion): void {
  const { targets } = p;
  const sc = p.config.search;
  const search = res.search!;
  const failed = res.failures.filter(Boolean).length;
  if (failed) ctx.log('warn', `${failed} targets failed during the search (${res.failures.find(Boolean)}); their best result so far is kept`);
  const undetected = (res.detected ?? []).filter((d) => !d).length;
  if (undetected) ctx.log('warn', `${undetected} answers are not found by the face detector (no detectable candidate was reached)`);
  const queries = res.queries ?? [];
  const spent = queries.reduce((a, b) => a + b, 0);
  const mean = (a: ArrayLike<number>) => Array.from(a).filter(Number.isFinite).reduce((x, y) => x + y, 0) / Math.max(1, a.length);
  const why = search.pace.cut ?? `budget of ${sc.queries} queries per target reached`;
  const stopReason = `${why} (${(spent / targets.length).toFixed(0)} spent on average: a step that would overrun it is not taken)`;
  const total = targets.length * sc.queries;
  ctx.progress(spent, total, {}, 'query search done', { budget: { kind: 'queries', used: spent, limit: total }, stopReason });
  const prior = search.prior;
  updateManifest(p.runDir, {
    progress: { step: spent, totalSteps: total, budget: { kind: 'queries', used: spent, limit: total } }, stopReason,
    ...(prior ? { searchSurrogate: prior } : {}), ...(search.forward ? { searchForwardModel: search.forward } : {}),
  });
  const f = search.forward;
  if (f) ctx.log('info', `secant search: forward model ${f.cached ? `from the cache (fitted on ${f.queries} own queries in an earlier run; ${f.seconds.toFixed(0)} s now)` : `fitted on ${f.queries} own queries (not any target's) in ${f.seconds.toFixed(0)} s`}; it explains ${(100 * f.explained).toFixed(1)} % of the template's held-out variance`);
  if (search.pace.cut) ctx.log('warn', `query search: ${search.pace.cut}`);
  if (prior) ctx.log('info', `surrogate ${prior.encoderId}: ${prior.evaluations} gradient evaluations in ${prior.seconds.toFixed(0)} s (not queries)`);
  ctx.log('info', `query search: mean cosine to the targets ${mean(search.startCos).toFixed(3)} at the start → ${mean(res.cosine ?? []).toFixed(3)} after ${mean(queries).toFixed(0)} queries per target (the optimiser's own figure)`);
}

/** The hook that reports a run's white-box steps (metrics and progress against the step budget). */
export function whiteboxReportHooks(ctx: AttackContext, config: RunConfig, metrics: MetricsWriter): Pick<InvertHooks, 'onWhiteboxStep'> {
  let step = 0;
  return {
    onWhiteboxStep: (b, batches, s) => {
      step++;
      metrics.append({ time: new Date().toISOString(), step, split: 'search', loss: s.loss, cosine: s.meanCosine });
      const used = b * config.whitebox.steps + s.step, limit = batches * config.whitebox.steps;
      ctx.progress(used, limit, { loss: s.loss, cosine: s.meanCosine, batch: b + 1 }, undefined,
        { budget: { kind: 'steps', used, limit }, ...(used === limit ? { stopReason: `budget of ${config.whitebox.steps} gradient steps × ${config.whitebox.restarts} restart(s) per target reached` } : {}) });
    },
  };
}

/** After a run's white box: the warnings and run.json's record of the engine. */
export function reportWhitebox(ctx: AttackContext, config: RunConfig, runDir: string, res: Inversion): void {
  const undetected = (res.detected ?? []).filter((d) => !d).length;
  if (res.detected && undetected) ctx.log('warn', `${undetected} white-box answers are not found by the face detector in any of the ${config.whitebox.restarts} restart(s)`);
  const diverged = (res.diverged ?? []).filter(Boolean).length;
  if (diverged) ctx.log('warn', `${diverged} targets diverged (non-finite loss) and were stopped; their best result so far is kept`);
  ctx.log('info', `white box on ${res.engine!.chosen} (${res.engine!.reason})`);
  updateManifest(runDir, { engine: res.engine });
}

function searchProgress(ctx: AttackContext, p: QueryReportInput, oracle: QueryOracle): (s: SearchStep) => Promise<void> {
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
