/**
 * One inversion for every entry point: `invertTargets(plan, model, targets, start, hooks)` carries out an
 * `AttackPlan` (./plan.ts) on a batch of templates — the white box's gradient search through E (with its
 * restarts and the detector's choice among them, ./search/whiteboxRestarts.ts), or the black box's query
 * search (./search/querySearch.ts: the encoder as an oracle under the per-target budget, a surrogate prior
 * when the plan has one), or, without a search, the start itself. The run, the audit and `faceinv invert`
 * differ only in what they report (the hooks) and how they store the answers.
 */
import type { Encoder } from '../encoders/types';
import { loadEncoder } from '../encoders/load';
import { defaultCacheDir } from '../data/pipeline';
import type { StepInfo } from '../nets/latentSearch';
import type { EngineDecision } from '../ort/engineChoice';
import { makeFaceCheck } from './faceCheck';
import type { FaceModel } from './faceModel/types';
import type { AttackPlan } from './plan';
import { searchesByQueries, usesFaceDetector } from './plan';
import { QueryOracle, type RemoteAnswer } from './search/oracle';
import type { PaceDecision } from './search/pacer';
import { querySearch, type SearchStep } from './search/querySearch';
import { openSurrogatePrior, type AttackerPhotos, type SurrogatePrior } from './search/surrogatePrior';
import { whiteboxWithRestarts } from './search/whiteboxRestarts';
import { cosine, designProbes, fitTemplatePrior, recoveredAt, recoverTemplate, scoreNoiseVariance, type HeldTemplate, type ProbeDesign } from './oracle/scoreRecovery';
import { recoverFromScores, type ScoreOracle } from './oracle/scoreOracle';
import { seededShuffle } from '../data/split';
import { probeCount } from '../protocol/threatModel';
import type { SearchMethod } from '../protocol/runConfig';
import { firstAccepts, type DecideFn } from './oracle/decisionSearch';
import { walkAfterFirstAccept, type DecisionWalk } from './oracle/decisionWalk';
import { fitOracleProbeMap, probeStarts, warmedProbeStarts, type OwnPhotos, type ProbeSetup, type WarmStarts } from './oracle/scoreSearch';

export type DetectFn = (latents: Float32Array, n: number) => Promise<boolean[]>;

export interface InvertHooks {
  signal: AbortSignal;
  workspaceDir: string;
  log(level: 'info' | 'warn', msg: string): void;
  /** The searches' seed (default the plan's): the audit seeds each chunk apart. */
  seed?: number;
  /** A face detector the caller keeps open across calls (openFaceDetector); else opened here when the plan uses one. */
  detect?: DetectFn;
  /** The encoder the query search asks (the audit's 8-bit front of it); else the plan's encoder, loaded here. */
  queryEncoder?: Encoder;
  /** The attacker's own photos, which a surrogate prior's template map is fitted on (PCA face model only). */
  photos?: AttackerPhotos;
  cacheDir?: string;
  /** The query search's wall-clock budget in minutes, and when its clock started (Date.now() units). */
  minutes?: number;
  startedAt?: number;
  /** Before a surrogate prior's warm-up steps (they cost no queries). */
  onWarmup?(surrogateId: string, steps: number): void;
  onWhiteboxStep?(batch: number, batches: number, s: StepInfo): void;
  onSearchStep?(s: SearchStep, oracle: QueryOracle): void | Promise<void>;
  /** Whose answers the query search climbs: the encoder's (default), rounded as a score oracle rounds, or a live service's. */
  answers?: SearchAnswers;
  /** The system's thresholds: the search records, per target, the queries at which its best answer first passed each. */
  acceptAt?: readonly number[];
}

/** The system the query search asks (issue 25): the encoder against the targets, its scores rounded, or a remote service. */
export type SearchAnswers = { decimals?: number } | { remote: RemoteAnswer };

/** What the prior did, for the run manifest. */
export interface PriorRecord { encoderId: string; weight: number; mapCosine: number; map: string; mapLambda: number; evaluations: number; seconds: number }

export interface Inversion {
  latents: Float32Array;
  /** The optimiser's own cosine to each target (absent without a search). */
  cosine?: number[];
  /** Queries each target spent (query search only). */
  queries?: number[];
  /** Why a target's search stopped early (its best so far is kept). */
  failures: (string | undefined)[];
  /** Whether the face detector finds each answer (where it took part). */
  detected?: boolean[];
  /** White box: targets whose loss became non-finite (stopped; the best so far kept). */
  diverged?: boolean[];
  aborted: boolean;
  /** White box: the engine it ran on, and why. */
  engine?: EngineDecision;
  /** Query search: the start's cosine, the pace it ended with, and the prior's record. */
  search?: { startCos: Float32Array; pace: PaceDecision; prior?: PriorRecord; forward?: { explained: number; queries: number; seconds: number; cached: boolean } };
  /** With `acceptAt`: per target and threshold, the search queries spent when its best answer first passed it (at the end of that step), or null. */
  firstAccepts?: (number | null)[][];
}

/** The face detector the plan uses (the white box's choice among restarts, the black box's acceptance test), or null. */
export async function openFaceDetector(plan: AttackPlan, model: FaceModel): Promise<{ detect: DetectFn; dispose(): Promise<void> } | null> {
  return usesFaceDetector(plan) ? makeFaceCheck(model) : null;
}

export async function invertTargets(plan: AttackPlan, model: FaceModel, targets: readonly Float32Array[], start: Float32Array, hooks: InvertHooks): Promise<Inversion> {
  if (plan.decision.route === 'whitebox') return whitebox(plan, model, targets, start, hooks);
  if (searchesByQueries(plan)) return queries(plan, model, targets, start, hooks);
  return { latents: start, failures: targets.map(() => undefined), aborted: false };
}

async function whitebox(plan: AttackPlan, model: FaceModel, targets: readonly Float32Array[], start: Float32Array, h: InvertHooks): Promise<Inversion> {
  const own = h.detect ? null : await openFaceDetector(plan, model);
  const detect = h.detect ?? own?.detect;
  try {
    const res = await whiteboxWithRestarts(model, plan.enc, targets, start, plan.whitebox, {
      ...(detect ? { detect } : {}), seed: h.seed ?? plan.seed, signal: h.signal, engine: plan.engine, workspaceDir: h.workspaceDir,
      warn: (m) => h.log('warn', m), ...(h.onWhiteboxStep ? { onStep: h.onWhiteboxStep } : {}),
    });
    const failures = res.diverged.map((d) => (d ? 'diverged: the gradient search met a non-finite loss; its best result is kept' : undefined));
    return { latents: res.latents, cosine: res.cosine, failures, ...(detect ? { detected: res.detected } : {}), diverged: res.diverged, aborted: res.aborted, engine: res.engine };
  } finally {
    await own?.dispose();
  }
}

/** The most of a timed search's minutes the surrogate warm-up may take (the queries need the rest). */
export const WARMUP_SHARE = 0.25;

async function queries(plan: AttackPlan, model: FaceModel, targets: readonly Float32Array[], start: Float32Array, h: InvertHooks): Promise<Inversion> {
  const s = plan.search;
  const prior = s.surrogate ? await openPrior(plan, model, targets, h) : null;
  const encoder = h.queryEncoder ?? await loadEncoder(plan.enc, { workspaceDir: h.workspaceDir });
  const own = h.detect || !s.detectorCheck ? null : await makeFaceCheck(model);
  const detect = h.detect ?? own?.detect;
  try {
    let from = start;
    if (prior && s.surrogate!.warmupSteps > 0) {
      h.onWarmup?.(prior.id, s.surrogate!.warmupSteps);
      // Under a time budget the warm-up may take WARMUP_SHARE of the search's minutes (its clock includes the warm-up).
      const budget = h.minutes !== undefined ? { seconds: WARMUP_SHARE * h.minutes * 60, cut: (m: string) => h.log('warn', m) } : undefined;
      from = await prior.warmup(start, s.surrogate!.warmupSteps, s.surrogate!.warmupLearningRate, budget);
      model.clampLatents(from);
    }
    const oracle = new QueryOracle(encoder, model, targets, s.queries);
    if (h.answers && 'remote' in h.answers) oracle.answerBy(h.answers.remote);
    else oracle.roundAnswers(h.answers?.decimals);
    const firsts = h.acceptAt?.map(() => targets.map((): number | null => null));
    const onStep = async (step: SearchStep) => {
      firsts?.forEach((f, k) => f.forEach((q, i) => { if (q === null && step.best[i] > h.acceptAt![k]) f[i] = oracle.used[i]; }));
      await h.onSearchStep?.(step, oracle);
    };
    // The secant search reads whole templates; the surrogate has already given it its warm-up start.
    const guides = prior && s.method === 'zeroth-order' ? { prior } : {};
    const res = await querySearch(oracle, model, from, {
      method: s.method as Exclude<SearchMethod, 'none'>, sigma: s.sigma, learningRate: s.learningRate, directions: s.directions, population: s.population,
      ...(s.secant ? { secant: s.secant } : {}),
      seed: h.seed ?? plan.seed, ...(h.minutes !== undefined ? { minutes: h.minutes, startedAt: h.startedAt } : {}), ...guides,
      ...(detect ? { detect } : {}), signal: h.signal, onStep, log: (m) => h.log('info', m), cacheDir: h.cacheDir ?? defaultCacheDir(),
    });
    const record = prior ? { encoderId: prior.id, weight: prior.weight, mapCosine: prior.mapCosine, map: prior.map, mapLambda: prior.mapLambda, evaluations: prior.stats.evaluations, seconds: prior.stats.seconds } : undefined;
    return {
      latents: res.bestLatents, cosine: Array.from(res.bestCos), queries: Array.from(res.queries), failures: res.failure, detected: res.detected,
      aborted: res.aborted, search: { startCos: res.startCos, pace: res.pace, ...(record ? { prior: record } : {}), ...(res.forward ? { forward: res.forward } : {}) },
      ...(firsts ? { firstAccepts: targets.map((_, i) => firsts.map((f) => f[i])) } : {}),
    };
  } finally {
    if (!h.queryEncoder) encoder.dispose();
    await own?.dispose();
    await prior?.dispose();
  }
}

/** The surrogate prior, or null with the reason logged when it cannot be trusted (the search then runs on queries alone). */
async function openPrior(plan: AttackPlan, model: FaceModel, targets: readonly Float32Array[], h: InvertHooks): Promise<SurrogatePrior | null> {
  const s = plan.search.surrogate!;
  if (!h.photos) throw new Error(`search.surrogate needs faceModel.kind "pca" (its map is fitted on the attacker's photos in the face model's frame)`);
  try {
    return await openSurrogatePrior(model, plan.enc, targets, h.photos, { surrogate: s.encoder, weight: s.weight, fitPhotos: s.fitPhotos, seed: plan.seed, map: s.map, mapLambda: s.mapLambda },
      { workspaceDir: h.workspaceDir, cacheDir: h.cacheDir, log: (m) => h.log('info', m) });
  } catch (e) {
    const msg = (e as Error).message;
    // A surrogate refused by identity (the attacked model) is a config error; one that fits badly is a measured fact.
    if (!/fits badly/.test(msg)) throw e;
    h.log('warn', `${msg}; the search falls back to queries only`);
    return null;
  }
}

/**
 * The threat model's first step (issue 25), before `invertTargets`: what the attacker has to invert, for each
 * attack the judge can pick —
 *  - template-inversion: the stolen template itself;
 *  - score-least-squares (score oracle, encoder copy): the template recovered from designed probes' scores;
 *  - score-search (score oracle, no encoder copy): a start latent from a non-adaptive probe set's answers
 *    (./oracle/scoreSearch.ts); `invertTargets` then searches on the system's answers (`searchAnswers`);
 *  - decision-search: the attacker's photos in hub (or random) order until a first accept (./oracle/decisionSearch.ts),
 *    then, with `walk`, the boundary walk from the accepted photo with the queries left (./oracle/decisionWalk.ts);
 *    the last accepted face is the face found, nothing is inverted.
 * A subject the oracle fails for (locked out, unknown, a bad answer, a changed threshold) gets its error and no
 * target; the rest go on. Every oracle query is counted per subject.
 */
export interface AttackerTargets {
  /** Templates to invert (stolen or recovered), null for a failed subject; absent for the searches. */
  targets?: (Float32Array | null)[];
  /** score-search: the start latent per subject, null when the subject failed. */
  starts?: (Float32Array | null)[];
  /** decision-search: the photo accepted per subject (a row of the attacker's photos), -1 when none was. */
  photos?: number[];
  /** decision-search with a walk: the last accepted face per subject (uint8 crop), null when none was accepted. */
  faces?: (Uint8Array | null)[];
  /** decision-search with a walk: the face held at each checkpoint from the first accept on (total queries). */
  held?: { queries: number; face: Uint8Array }[][];
  /** score-least-squares with `OracleHooks.checkpoints`: the template recovered by each checkpoint ([] for a failed subject). */
  heldTargets?: HeldTemplate[][];
  /** Oracle queries each subject cost so far (score and decision oracles). */
  queries?: number[];
  /** Per subject and `OracleHooks.thresholds` entry: the oracle query that first passed it, or null. */
  accepts?: (number | null)[][];
  errors: (string | undefined)[];
}

export interface OracleHooks {
  /** The system's answers (a simulation over the store, or a live service). */
  scoreOracle?: ScoreOracle;
  /** The probe design (`designOracleProbes`), made once per audit. */
  design?: ProbeDesign;
  /** score-search: the probe set and its map (fitOracleProbeMap), made once per audit. */
  probeMap?: ProbeSetup;
  /** score-search with another encoder the attacker owns: the probe map's starts moved through it (./oracle/probeSurrogate.ts). */
  warmStarts?: WarmStarts;
  /** score-search: the system's answers to the rendered faces, for a chunk's subjects. */
  searchAnswers?: (subjects: readonly string[]) => SearchAnswers;
  /** decision-search: the system's accept / reject and the attacker's submission order. */
  decide?: DecideFn;
  order?: Int32Array;
  /** decision-search: the walk after the first accept (absent: the accepted photo is the face). */
  walk?: DecisionWalk;
  /** The system's acceptance thresholds (score: one per operating point; decision: its own): first accepts are recorded at each. */
  thresholds?: readonly number[];
  /** score-least-squares: the curve's checkpoints (total queries) at which the template recovered so far is kept. */
  checkpoints?: readonly number[];
  signal?: AbortSignal;
}

/** The probe set the plan's score attack asks with: designed from the attacker's photos ([n, dim] embeddings under its copy). */
export function designOracleProbes(plan: AttackPlan, photos: { templates: Float32Array; dim: number; n: number }, poolSize = 4000): ProbeDesign | null {
  if (plan.oracle.attack !== 'score-least-squares') return null;
  const { templates, dim, n } = photos;
  const prior = fitTemplatePrior(templates, n, dim);
  const rows = seededShuffle(Array.from({ length: n }, (_, i) => i), plan.seed).slice(0, Math.min(poolSize, n));
  const pool = new Float32Array(rows.length * dim);
  rows.forEach((r, k) => pool.set(templates.subarray(r * dim, (r + 1) * dim), k * dim));
  const count = Math.min(plan.threat.attacker.queries, rows.length);
  const design = designProbes(prior, pool, rows.length, count, scoreNoiseVariance(plan.threat.oracle));
  // Probes are rows of the attacker's photos, not of the pool.
  return { ...design, indices: design.indices.map((i) => rows[i]) };
}

/** The score search's probe set and map, fitted on the attacker's own photos (null for other attacks). */
export function fitOracleSearch(plan: AttackPlan, own: OwnPhotos): ProbeSetup | null {
  if (plan.oracle.attack !== 'score-search') return null;
  return fitOracleProbeMap(own, probeCount(plan.threat.attacker, own.n), plan.threat.oracle.decimals, plan.seed);
}

export async function attackerTargets(plan: AttackPlan, subjects: readonly string[], stolen: readonly Float32Array[], h: OracleHooks): Promise<AttackerTargets> {
  const thresholds = h.thresholds ?? [];
  switch (plan.oracle.attack) {
    case 'template-inversion': return { targets: stolen.slice(), errors: stolen.map(() => undefined) };
    case 'score-least-squares': {
      if (!h.scoreOracle || !h.design) throw new Error('a score attack needs the system\'s score oracle and its probe design (designOracleProbes)');
      const rec = await recoverFromScores(h.design, h.scoreOracle, subjects, h.signal);
      // Template level, the auditor's measure: after how many answers the estimate passes each threshold against the enrolled template.
      const accepts = h.thresholds ? rec.map((r, i) => templateAccepts(h.design!, r.scores, stolen[i], thresholds)) : undefined;
      const heldTargets = h.checkpoints ? rec.map((r) => (r.template ? recoveredAt(h.design!, r.scores, h.checkpoints!) : [])) : undefined;
      return { targets: rec.map((r) => r.template), queries: rec.map((r) => r.queries), errors: rec.map((r) => r.error), ...(accepts ? { accepts } : {}), ...(heldTargets ? { heldTargets } : {}) };
    }
    case 'score-search': {
      if (!h.scoreOracle || !h.probeMap) throw new Error('the score search needs the system\'s score oracle and its probe map (fitOracleSearch)');
      const p = await probeStarts(h.probeMap, h.scoreOracle, subjects, thresholds, h.signal);
      const starts = h.warmStarts ? await warmedProbeStarts(p, h.warmStarts) : p.starts;
      return { starts, queries: p.queries, accepts: p.accepts, errors: p.errors };
    }
    case 'decision-search': {
      if (!h.decide || !h.order) throw new Error('the decision search needs the system\'s decisions and the submission order');
      const budget = Math.min(plan.threat.attacker.queries, h.order.length);
      const res = await firstAccepts(subjects, h.order, h.decide, budget, h.signal);
      if (h.signal?.aborted) throw new Error('cancelled');
      const out: AttackerTargets = {
        photos: res.map((r) => r.photo), queries: res.map((r) => r.queries), errors: res.map((r) => r.error),
        accepts: res.map((r) => thresholds.map(() => (r.photo >= 0 ? r.queries : null))),
      };
      if (!h.walk) return out;
      out.faces = [];
      out.held = [];
      for (const [i, r] of res.entries()) {
        const w = await walkAfterFirstAccept(r, plan.threat.attacker.queries, h.walk);
        if (h.signal?.aborted) throw new Error('cancelled');
        out.faces.push(w?.face ?? null);
        out.held.push(w?.held ?? []);
        out.queries![i] += w?.queries ?? 0;
        // A walk's error marks the subject; its last accepted face is still the face found.
        if (w?.error) out.errors[i] = w.error;
      }
      return out;
    }
  }
}

/** The first answer count at which the running estimate's cosine to `enrolled` is above each threshold, or null. */
function templateAccepts(design: ProbeDesign, scores: readonly number[], enrolled: Float32Array, thresholds: readonly number[]): (number | null)[] {
  const first: (number | null)[] = thresholds.map(() => null);
  if (scores.length) recoverTemplate(design, scores, scores.length, (k, m) => { const c = cosine(m, enrolled); thresholds.forEach((t, j) => { if (first[j] === null && c > t) first[j] = k; }); });
  return first;
}
