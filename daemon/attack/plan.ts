/**
 * The attack, decided once: which encoder config is attacked (its registry entry), by which route (the
 * judge), on which engine, with which face model, from which start, and with which search settings. The run,
 * the audit and `faceinv invert` each describe their attack as an `AttackSpec` from their own config, and
 * `planAttack` turns it into the one `AttackPlan` that `invertTargets` (./invert.ts) carries out, so the
 * three cannot drift apart (nor `faceinv protect`'s face step, the fourth caller); a new threat model is a new spec field decided here, not a branch in three places.
 */
import type { EncoderConfig } from '../protocol/encoderConfig';
import type { AuditConfig } from '../protocol/auditConfig';
import type { ProtectConfig } from '../protocol/protectConfig';
import { finishes } from './faceModel/detail';
import { defaultWhitebox, type FaceFinish, type RunConfig, type SearchConfig, type WhiteboxConfig } from '../protocol/runConfig';
import { findEncoderConfig, scopeOf, type EncoderConfigEntry } from '../encoders/registry';
import { judgeOracle, judgeRoute, type OracleDecision, type RouteDecision, type RouteRequest } from '../encoders/judge';
import { defaultThreatModel, probeCount, type ThreatModel } from '../protocol/threatModel';
import { engineRequest, type EngineRequest } from '../ort/engineChoice';

export type FaceModelPlan =
  /** `finish`: what the final faces borrow from the attacker's nearest photos (none when absent). */
  | { kind: 'pca'; components: number; clamp: number; finish?: FaceFinish; size?: number }
  /** `run`: a finished decoder run to borrow (relative to the workspace); none = trained by this run. */
  | { kind: 'decoder'; run?: string };

export type StartKind = RunConfig['start'];

/** The black box's per-target query search; `queries` is the budget per target, the start included. */
export type SearchPlan = Pick<SearchConfig, 'queries' | 'directions' | 'sigma' | 'learningRate' | 'population' | 'detectorCheck' | 'minutes' | 'surrogate' | 'secant'> & {
  method: SearchConfig['method'];
};

/** What an entry point's config says about its attack. */
export interface AttackSpec {
  encoder: string;
  route: RouteRequest;
  /** The config's engine choice; 'auto' or none lets FACEINV_ENGINE decide (daemon/protocol/env.ts). */
  engine?: EngineRequest;
  faceModel: FaceModelPlan;
  start: StartKind;
  whitebox: WhiteboxConfig;
  search: SearchPlan;
  seed: number;
  /** What the system answers and what the attacker holds (issue 25); none = a stolen template (today). */
  threat?: ThreatModel;
}

export interface AttackPlan {
  entry: EncoderConfigEntry;
  enc: EncoderConfig;
  decision: RouteDecision;
  engine: EngineRequest;
  faceModel: FaceModelPlan;
  start: StartKind;
  whitebox: WhiteboxConfig;
  search: SearchPlan;
  seed: number;
  threat: ThreatModel;
  /** The attack the threat model calls for (the judge's `judgeOracle`). */
  oracle: OracleDecision;
}

/** The one place an attack is decided: encoder entry, route, engine; the rest as the spec says. */
export function planAttack(spec: AttackSpec, workspaceDir: string): AttackPlan {
  const entry = findEncoderConfig(spec.encoder, scopeOf(workspaceDir));
  const threat = spec.threat ?? defaultThreatModel();
  const oracle = judgeOracle(threat);
  if (!oracle.implemented) throw new Error(`threat model: ${oracle.reason}`);
  const answersOnly = oracle.attack === 'score-search' || oracle.attack === 'decision-search';
  if (answersOnly && spec.search.method === 'secant') throw new Error(`search.method "secant" reads the templates an embedding oracle answers; under this threat model the system answers only ${oracle.oracle === 'decision' ? 'accept / reject' : 'scores'} (${oracle.attack}): use "zeroth-order"`);
  return {
    threat, oracle,
    entry, enc: entry.config, decision: answersOnly ? answersOnlyRoute(spec.route, oracle) : judgeRoute(entry.config, spec.route), engine: engineRequest(spec.engine),
    faceModel: spec.faceModel, start: spec.start, whitebox: spec.whitebox, seed: spec.seed,
    // The score search spends what the probe set leaves of the attacker's queries (a small reference set may take fewer probes: fewer queries in all).
    search: oracle.attack === 'score-search' ? { ...spec.search, queries: Math.max(1, threat.attacker.queries - probeCount(threat.attacker)) } : spec.search,
  };
}

/** A face finish that changes something, as the plan carries it (none otherwise, so equal attacks plan equal). */
function finishOf(f: FaceFinish | undefined): { finish?: FaceFinish } {
  return finishes(f) ? { finish: f } : {};
}

/** Searches on the system's answers alone are black box whatever the encoder config declares: no gradient reaches the attacker. */
function answersOnlyRoute(requested: RouteRequest, oracle: OracleDecision): RouteDecision {
  if (requested === 'whitebox') throw new Error(`white box requested, but under this threat model the attacker sees only the system's answers (${oracle.attack}); use "route": "blackbox" (or "auto")`);
  return { route: 'blackbox', requested, reason: `${oracle.attack}: the attacker sees only the system's ${oracle.oracle === 'decision' ? 'accept / reject answers' : 'scores'}, so the search is on queries` };
}

/** A run config's attack. */
export function runAttackSpec(config: RunConfig): AttackSpec {
  const fm = config.faceModel;
  return {
    encoder: config.encoder, route: config.route, engine: config.training.engine,
    faceModel: fm.kind === 'pca' ? { kind: 'pca', components: fm.components, clamp: fm.clamp, ...finishOf(fm.finish), ...(fm.size ? { size: fm.size } : {}) } : { kind: 'decoder', ...(fm.run ? { run: fm.run } : {}) },
    start: config.start, whitebox: config.whitebox, search: searchOf(config.search, config.search.queries), seed: config.training.seed,
  };
}

/** An audit config's attack: a PCA face model of the reference faces, the budget as queries per template. */
export function auditAttackSpec(config: AuditConfig): AttackSpec {
  return {
    encoder: config.encoder, route: config.route,
    faceModel: { kind: 'pca', components: config.faceModel.components, clamp: config.faceModel.clamp, ...finishOf(config.faceModel.finish) },
    start: config.start, whitebox: config.whitebox, search: searchOf(config.search, config.budget), seed: config.seed, threat: config.threat,
  };
}

/** `faceinv invert`'s attack: a trained decoder from its own answer; the white box its single search through E. */
export function invertAttackSpec(o: { encoderId: string; route: RouteRequest; generator?: string; steps?: number }): AttackSpec {
  return {
    encoder: o.encoderId, route: o.route, faceModel: { kind: 'decoder', ...(o.generator ? { run: o.generator } : {}) }, start: 'decoder',
    whitebox: { ...defaultWhitebox(), ...(o.steps ? { steps: o.steps } : {}), restarts: 1, select: 'cosine' },
    search: { method: 'none', queries: 1, directions: 2, sigma: 0.5, learningRate: 0.1, population: 24, detectorCheck: false }, seed: 0,
  };
}

/**
 * `faceinv protect`'s face step: the embedding recovered from a protected template → a face, with the PCA face
 * model of the attacker's photos, the ridge start and `attack.whiteboxSteps` gradient steps through the encoder
 * (one restart, no detector: the step runs once per victim and scheme). With 0 steps, or an encoder the judge
 * keeps to the black box, the start is the answer (no per-target queries: the attacker of a protected store
 * has no oracle of the unprotected encoder to query).
 */
export function protectAttackSpec(config: ProtectConfig): AttackSpec {
  const steps = config.attack.whiteboxSteps;
  return {
    encoder: config.encoder, route: steps > 0 ? 'auto' : 'blackbox',
    faceModel: { kind: 'pca', components: PROTECT_FACE_MODEL.components, clamp: PROTECT_FACE_MODEL.clamp }, start: 'ridge',
    whitebox: { ...defaultWhitebox(), steps: Math.max(1, steps), restarts: 1, select: 'cosine' },
    search: { method: 'none', queries: 1, directions: 2, sigma: 0.5, learningRate: 0.1, population: 24, detectorCheck: false }, seed: config.seed,
  };
}

/** The face model of `faceinv protect` (its config has no field for it): shared through the PCA cache with runs of these settings. */
export const PROTECT_FACE_MODEL = { components: 512, clamp: 3 } as const;

function searchOf(s: Omit<SearchPlan, 'queries'>, queries: number): SearchPlan {
  return {
    method: s.method, queries, directions: s.directions, sigma: s.sigma, learningRate: s.learningRate, population: s.population, detectorCheck: s.detectorCheck,
    ...(s.minutes !== undefined ? { minutes: s.minutes } : {}), ...(s.surrogate ? { surrogate: s.surrogate } : {}), ...(s.secant ? { secant: s.secant } : {}),
  };
}

/** Whether the plan's attack queries the encoder per target (a black box with a search). */
export function searchesByQueries(plan: AttackPlan): boolean {
  // The decision search's queries are whole photos until a first accept (attackerTargets), not a latent search.
  return plan.decision.route === 'blackbox' && plan.search.method !== 'none' && plan.oracle.attack !== 'decision-search';
}

/** Whether the face detector takes part: the white box's choice among restarts, the black box's acceptance test. */
export function usesFaceDetector(plan: AttackPlan): boolean {
  return plan.decision.route === 'whitebox' ? plan.whitebox.select === 'detected' : searchesByQueries(plan) && plan.search.detectorCheck;
}
