/**
 * The audit's side of a threat model with an oracle (issue 25): the system the attack asks — simulated over the
 * audit's own template store with the stated rounding / noise / threshold, or a live verification service — made
 * once per process, and what each subject's row records (the oracle queries, the query at which the system first
 * accepted it, its error). The attack itself is the plan's, through attack/invert.ts (`attackerTargets`,
 * `invertTargets`). Mitigations (threat.mitigations) re-run the same attack against a simulated system that
 * applies them, on the same subjects, recording only when each was first accepted.
 */
import type { AuditConfig } from '../protocol/auditConfig';
import { mitigatedThreat, type Mitigation, type ThreatModel } from '../protocol/threatModel';
import type { AttackPlan } from '../attack/plan';
import { attackerTargets, designOracleProbes, fitOracleSearch, invertTargets, type OracleHooks } from '../attack/invert';
import type { ProbeSetup, WarmStarts } from '../attack/oracle/scoreSearch';
import { PROBE_WARMUP, probeCropsKey, warmProbeStarts, type ProbeAnswerPhotos } from '../attack/oracle/probeSurrogate';
import { fitOwnViewOnPhotos, OWN_VIEW, searchOwnView, type OwnViewFit } from '../attack/oracle/ownView';
import { resolveSurrogate } from '../decoder/surrogate';
import { serviceScoreOracle, serviceSearchAnswers, simulatedScoreOracle } from '../attack/oracle/scoreOracle';
import { decisionOrder, serviceAcceptFaces, serviceDecide, simulatedAcceptFaces, simulatedDecide } from '../attack/oracle/decisionOracle';
import type { DecisionWalk } from '../attack/oracle/decisionWalk';
import type { PcaFaceModel } from '../attack/faceModel/pca';
import { curveBudgets } from './oracleCurve';
import { eightBit } from './quantise';
import { cosine, type HeldTemplate } from '../attack/oracle/scoreRecovery';
import type { FaceModel } from '../attack/faceModel/types';
import type { Encoder } from '../encoders/types';
import { VerifierClient } from '../encoders/verifierClient';
import type { Calibration } from './calibration';
import type { ReferenceEmbeddings } from './reference';
import type { TemplateResult } from './reportSchema';
import type { TemplateStore } from './templateStore';

/** A threshold at which first accepts are recorded: an operating point's (fmr), or a decision system's own (fmr null when it was given, not calibrated). */
export interface AcceptPoint { fmr: number | null; threshold: number }

/** The oracle of one attack (the audit's, or a mitigation's re-run) and the points it records first accepts at. */
export interface OracleRun { plan: AttackPlan; hooks: OracleHooks; points: AcceptPoint[]; mitigation?: Mitigation }

export interface OracleSetup {
  run: OracleRun;
  /** Re-runs for the mitigations that change what the system answers (simulated oracle only). */
  mitigations: OracleRun[];
}

export interface OracleInputs {
  config: AuditConfig; plan: AttackPlan; store: TemplateStore; refA: ReferenceEmbeddings; refLatents: Float32Array; latentDim: number;
  calibration: Calibration; signal: AbortSignal; secrets?: Readonly<Record<string, string>>;
  /** The attacker's face model (the decision walk moves in it) and the system's encoder (a simulated system's answers to rendered faces). */
  model: PcaFaceModel; encoder: Encoder;
  /** The plan of the same audit under another threat model (a mitigation's). */
  planFor(threat: ThreatModel): AttackPlan;
  /** Where workspace encoder configs live (the attacker's other encoder may be one). */
  workspaceDir?: string;
  log(msg: string): void;
}

/** The oracle of the audit's threat model, and its mitigations' re-runs; null for a stolen template. */
export function oracleSetup(i: OracleInputs): OracleSetup | null {
  if (i.plan.oracle.attack === 'template-inversion') return null;
  const run = oracleRun(i, i.plan, true);
  const o = i.plan.threat.oracle;
  const mitigations: OracleRun[] = [];
  for (const m of i.plan.threat.mitigations ?? []) {
    const t = mitigatedThreat(i.plan.threat, m);
    if (!t || t.limit !== undefined) continue;
    if (o.service) { i.log(`mitigation ${m}: not re-run — a live service answers as it is set up; only its own setting is measured`); continue; }
    // A re-run keeps only the first accepts: the decision walk, or the held templates, would be spent for nothing.
    mitigations.push({ ...oracleRun(i, i.planFor(t.threat), false), mitigation: m });
  }
  return { run, mitigations };
}

/** `holds`: the audit's own run, which walks after a decision search's first accepts and keeps the templates recovered by each budget. */
function oracleRun(i: OracleInputs, plan: AttackPlan, holds: boolean): OracleRun {
  const { store, refA } = i;
  const o = plan.threat.oracle;
  const byId = new Map<string, Float32Array>();
  store.ids.forEach((id, r) => { if (!byId.has(id)) byId.set(id, store.vectors.subarray(r * store.dim, (r + 1) * store.dim)); });
  const client = o.service ? new VerifierClient(o.service, { secrets: i.secrets }) : null;
  const crops = refA.crops as Uint8Array, size = plan.enc.alignment.size;
  const where = client ? `asked of the service at ${o.service!.url}` : `simulated over the store${o.decimals !== undefined ? `, rounded to ${o.decimals} decimals` : ''}${o.noise ? `, noise sd ${o.noise}` : ''}`;
  const base = { signal: i.signal };
  if (plan.oracle.attack === 'decision-search') {
    const first = i.calibration.points[0];
    // A live service decides at its own threshold, whatever FMR that is: its accepts are not tied to an operating point.
    const point: AcceptPoint = o.threshold !== undefined || client ? { fmr: null, threshold: o.threshold ?? first.threshold } : { fmr: first.fmr, threshold: first.threshold };
    const t0 = Date.now();
    const order = decisionOrder({ templates: refA.embeddings, dim: refA.dim, ids: refA.identities }, plan.threat.attacker.encoder === 'copy', point.threshold, plan.seed);
    const decide = client ? serviceDecide(client, crops, size) : simulatedDecide(byId, refA.embeddings, refA.dim, point.threshold);
    const walk = holds ? decisionWalk(i, plan, byId, client, point.threshold) : undefined;
    i.log(`threat model: ${plan.oracle.reason}; ${order.length} photos ordered in ${((Date.now() - t0) / 1000).toFixed(1)} s; accept / reject ${client ? where : `simulated over the store at ${point.threshold.toFixed(4)}${point.fmr !== null ? ` (FMR ${point.fmr})` : ''}`}` +
      (walk ? `; then the boundary walk from each first accept with ${walk.limit !== undefined ? `at most ${walk.limit} of ` : ''}the queries left` : ''));
    return { plan, points: [point], hooks: { ...base, decide: decide.decide, order, thresholds: [point.threshold], ...(walk ? { walk } : {}) } };
  }
  const points = i.calibration.points.filter((p) => p.attainable).map((p) => ({ fmr: p.fmr, threshold: p.threshold }));
  const scoreOracle = client ? serviceScoreOracle(client, crops, size) : simulatedScoreOracle(byId, refA.embeddings, refA.dim, { decimals: o.decimals, noise: o.noise, seed: i.config.seed });
  if (plan.oracle.attack === 'score-least-squares') {
    const design = designOracleProbes(plan, { templates: refA.embeddings, dim: refA.dim, n: refA.rels.length })!;
    i.log(`threat model: ${plan.oracle.reason}; ${design.indices.length} probes designed from ${refA.rels.length} reference photos (prior variance left ${design.residual[design.residual.length - 1].toFixed(4)}); the scores ${where}`);
    // Its first accepts are template level: the exact cosine of the running estimate to the enrolled template.
    const checkpoints = holds ? { checkpoints: curveBudgets(plan.threat.attacker.queries) } : {};
    return { plan, points, hooks: { ...base, design, scoreOracle, thresholds: points.map((p) => p.threshold), ...checkpoints } };
  }
  // A rounded answer counts as an accept only when it proves the exact score passed: above the threshold by half a rounding step.
  const half = o.decimals !== undefined ? 0.5 * 10 ** -o.decimals : 0;
  const thresholds = points.map((p) => p.threshold + half);
  const probeMap = fitOracleSearch(plan, { templates: refA.embeddings, dim: refA.dim, latents: i.refLatents, latentDim: i.latentDim, n: refA.rels.length })!;
  const searchAnswers = client ? (subjects: readonly string[]) => ({ remote: serviceSearchAnswers(client, subjects) }) : () => ({ decimals: o.decimals });
  i.log(`threat model: ${plan.oracle.reason}; ${probeMap.probes.length} probe photos, the map fitted on the other ${refA.rels.length - probeMap.probes.length} reference photos; the scores ${where}${o.noise && !client ? ' (the search\'s answers are rounded, not noised)' : ''}`);
  const warmStarts = otherEncoderWarmup(i, plan, probeMap) ?? ownViewWarmup(i, plan, probeMap);
  return { plan, points, hooks: { ...base, scoreOracle, probeMap, searchAnswers, thresholds, ...(warmStarts ? { warmStarts } : {}) } };
}

/**
 * attacker.encoder "other": the score search's starts moved through the attacker's other encoder
 * (../attack/oracle/probeSurrogate.ts), fitted on the reference photos the probe map was fitted on. One the engine
 * cannot differentiate in the face model's frame, or whose map fits badly, is said once and the probe map's starts stand.
 */
function otherEncoderWarmup(i: OracleInputs, plan: AttackPlan, setup: ProbeSetup): WarmStarts | undefined {
  const other = plan.threat.attacker.encoder === 'other' ? plan.threat.attacker.otherEncoder : undefined;
  if (!other) return undefined;
  const S = i.model.frame.size;
  const why = S !== plan.enc.alignment.size ? `the face model's ${S}-px frame is not the reference photos' ${plan.enc.alignment.size}-px crops` : otherEncoderObstacle(other, plan, i);
  if (why) { i.log(`the attacker's other encoder ${other} cannot guide the score search's start (${why}); the probe map's starts stand`); return undefined; }
  let own: ProbeAnswerPhotos | null = null;
  let badFit: string | null = null;
  return async (starts, answers, n) => {
    if (badFit) return starts;
    // Built at the first chunk (a copy of the reference crops), its cache key hashed once for every chunk.
    own ??= ownAnswerPhotos(i.refA, setup, S);
    try {
      const w = await warmProbeStarts(i.model, plan.enc, other, own, answers, starts, n, { workspaceDir: i.workspaceDir });
      i.log(`the attacker's other encoder ${other}: map from the ${setup.probes.length} answers (held-out cosine ${w.mapCosine.toFixed(3)}), ${PROBE_WARMUP.steps} warm-up steps for ${n} subjects, ${w.evaluations} evaluations in ${w.seconds.toFixed(1)} s (no query)`);
      return w.latents;
    } catch (e) {
      if (!/fits badly/.test((e as Error).message)) throw e;
      badFit = (e as Error).message;
      i.log(`${badFit}; the probe map's starts stand`);
      return starts;
    }
  };
}

/**
 * attacker.ownEnrolments (no encoder): the score search's starts searched on the system's answers against identities
 * the attacker enrolled itself (../attack/oracle/ownView.ts), before any query to the subject. The enrolments are
 * reference photos, their answers the reference templates' cosines rounded as the system rounds (as the probe map's
 * own answers are); the view's evaluations run the system's encoder on the 8-bit rendered faces, against the
 * predicted template they fold into (a live attacker reads the same numbers as `ownEnrolments` answers per face).
 */
function ownViewWarmup(i: OracleInputs, plan: AttackPlan, setup: ProbeSetup): WarmStarts | undefined {
  const K = plan.threat.attacker.ownEnrolments;
  if (!K) return undefined;
  const d = i.refA.dim, decimals = plan.threat.oracle.decimals;
  const identities = new Set(setup.fit.rows.map((r) => i.refA.identities[r])).size;
  if (identities < K) throw new Error(`attacker.ownEnrolments ${K}: the attacker's photos hold only ${identities} identities to enrol`);
  if (K < d) i.log(`attacker.ownEnrolments ${K} is below the template's ${d} dimensions: the answers against them cannot hold every direction of a template`);
  let fit: OwnViewFit | null = null;
  return async (starts, answers, n) => {
    // Fitted at the first chunk, kept for the others.
    fit ??= fitOwnViewOnPhotos(i.refA.embeddings, d, i.refA.identities, setup.fit.rows, setup.fit.answers, setup.probes.length, K, decimals);
    const r = await searchOwnView(eightBit(i.encoder), i.model, fit, answers, starts, [OWN_VIEW.evaluations], { seed: plan.seed, signal: i.signal });
    i.log(`own view: the answers against ${K} own enrolments, ${OWN_VIEW.evaluations} evaluations for each of ${n} subjects (${OWN_VIEW.evaluations * K} queries to the attacker's own identities each, none to the subject), ${r.seconds.toFixed(1)} s`);
    return r.held[0].latents;
  };
}

/**
 * The fit photos' crops, copied once per reference set: the audit's own run and each mitigation's re-run fit on the
 * same rows (only their answers differ), and a copy is hundreds of megabytes with its hash.
 */
const fitCropsOf = new WeakMap<ReferenceEmbeddings, { rows: readonly number[]; crops: Uint8Array; cacheKey: string }>();

/** The reference photos the probe map was fitted on, with their answers, as the other encoder's map fits on them. */
function ownAnswerPhotos(refA: ReferenceEmbeddings, setup: ProbeSetup, S: number): ProbeAnswerPhotos {
  const rows = setup.fit.rows;
  let kept = fitCropsOf.get(refA);
  if (!kept || kept.rows.length !== rows.length || kept.rows.some((r, k) => r !== rows[k])) {
    const D = S * S * 3, refCrops = refA.crops as Uint8Array;
    const crops = new Uint8Array(rows.length * D);
    rows.forEach((r, k) => crops.set(refCrops.subarray(r * D, (r + 1) * D), k * D));
    kept = { rows: [...rows], crops, cacheKey: probeCropsKey(crops) };
    fitCropsOf.set(refA, kept);
  }
  return { answers: setup.fit.answers, probes: setup.probes.length, crops: kept.crops, rels: rows.map((r) => refA.rels[r]), identities: rows.map((r) => refA.identities[r]), cacheKey: kept.cacheKey };
}

/** Why `other` cannot be differentiated in the face model's frame on ONNX Runtime (resolveSurrogate's refusal), or null. */
function otherEncoderObstacle(other: string, plan: AttackPlan, i: OracleInputs): string | null {
  try {
    resolveSurrogate(other, plan.enc.id, 'onnxruntime', i.model.frame.size, i.workspaceDir, 'threat.attacker.otherEncoder', i.model.frame.template);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The decision walk after the first accept, unless attacker.walkQueries is 0; its faces are answered by the same system as the photos. */
function decisionWalk(i: OracleInputs, plan: AttackPlan, byId: ReadonlyMap<string, Float32Array>, client: VerifierClient | null, threshold: number): DecisionWalk | undefined {
  const limit = plan.threat.attacker.walkQueries;
  if (limit === 0) return undefined;
  const size = plan.enc.alignment.size;
  if (i.model.frame.size !== size) throw new Error(`the decision walk renders faces in the face model's ${i.model.frame.size}-px frame, but the system's photos are ${size}-px crops`);
  return {
    model: i.model, crops: i.refA.crops as Uint8Array, checkpoints: curveBudgets(plan.threat.attacker.queries), seed: plan.seed, ...(limit !== undefined ? { limit } : {}),
    accepts: client ? serviceAcceptFaces(client) : simulatedAcceptFaces(byId, eightBit(i.encoder), threshold),
  };
}

/** What the attacker works from for the chunk's usable rows, and each row's oracle record. */
export interface OracleView {
  rows: number[];
  /** Templates to invert (stolen or recovered), or for the score search the simulated system's enrolled ones. */
  targets: Float32Array[];
  starts?: Float32Array[];
  /** decision-search: the photo (row of the reference set) each subject ends with. */
  photos?: number[];
  /** decision-search with the walk: the last accepted face per row (null where none was accepted: the photo stands). */
  faces?: (Uint8Array | null)[];
  /** decision-search with the walk: the face held at each curve checkpoint from the row's first accept on. */
  held?: { queries: number; face: Uint8Array }[][];
  /** score-least-squares (the audit's own run): the template recovered by each curve checkpoint, per row. */
  heldTargets?: HeldTemplate[][];
}

/** The attacker's view (attackerTargets) for `usable` rows; rows the oracle failed are marked and left out. */
export async function oracleView(run: OracleRun | null, store: TemplateStore, usable: number[], res: (row: number) => TemplateResult, plan: AttackPlan): Promise<OracleView> {
  const stolen = usable.map((r) => store.vectors.subarray(r * store.dim, (r + 1) * store.dim));
  const view = await attackerTargets(plan, usable.map((r) => store.ids[r]), stolen, run?.hooks ?? {});
  if (!run) return { rows: usable, targets: stolen };
  const out: Required<OracleView> = { rows: [], targets: [], starts: [], photos: [], faces: [], held: [], heldTargets: [] };
  usable.forEach((r, i) => {
    const t = view.targets?.[i];
    const row = res(r);
    row.oracle = {
      attack: plan.oracle.attack, queries: view.queries?.[i] ?? 0, ...(t ? { recoveredCosine: cosine(t, stolen[i]) } : {}), ...(view.errors[i] ? { error: view.errors[i] } : {}),
      ...(view.accepts ? { accepts: acceptsOf(run.points, view.accepts[i]) } : {}),
    };
    const start = view.starts?.[i];
    // A decision subject whose walk failed (a lock-out) still holds its last accepted face: it is scored, its error kept.
    const ok = t ?? start ?? (view.photos && (!view.errors[i] || view.faces?.[i]) ? true : null);
    if (!ok) { row.failure = `oracle: ${view.errors[i]}`; return; }
    out.rows.push(r);
    out.targets.push(t ?? stolen[i]);
    if (start) out.starts.push(start);
    // No accept within the budget: the attacker is left with its first submission (the most likely accepted photo).
    if (view.photos) out.photos.push(view.photos[i] >= 0 ? view.photos[i] : run.hooks.order![0]);
    if (view.faces) { out.faces.push(view.faces[i]); out.held.push(view.held?.[i] ?? []); }
    if (view.heldTargets) out.heldTargets.push(view.heldTargets[i]);
  });
  return {
    rows: out.rows, targets: out.targets, ...(view.starts ? { starts: out.starts } : {}), ...(view.photos ? { photos: out.photos } : {}),
    ...(view.faces ? { faces: out.faces, held: out.held } : {}), ...(view.heldTargets ? { heldTargets: out.heldTargets } : {}),
  };
}

const acceptsOf = (points: readonly AcceptPoint[], q: readonly (number | null)[]) => points.map((p, k) => ({ ...p, queries: q[k] ?? null }));

/** The score search's first accepts: a probe's own (already recorded) or the search's, offset by the probes answered. */
export function addSearchAccepts(row: TemplateResult, probes: number, search: readonly (number | null)[] | undefined, searchQueries: number, error?: string): void {
  const o = row.oracle;
  if (!o) return;
  o.queries = probes + searchQueries;
  if (error) o.error = error;
  o.accepts = o.accepts?.map((a, k) => (a.queries !== null || search?.[k] == null ? a : { ...a, queries: probes + (search[k] as number) }));
}

/** A chunk's re-runs under the mitigations: each row's first accepts and queries under each (no image is scored). */
export async function mitigationRuns(runs: readonly OracleRun[], a: { store: TemplateStore; rows: number[]; res: (row: number) => TemplateResult; model: FaceModel; queryEncoder: Encoder; seed: number; workspaceDir: string }): Promise<void> {
  for (const run of runs) {
    const scratch = new Map<number, TemplateResult>();
    const res = (r: number) => { let x = scratch.get(r); if (!x) { x = { row: r, id: a.store.ids[r] }; scratch.set(r, x); } return x; };
    const view = await oracleView(run, a.store, a.rows, res, run.plan);
    if (view.starts && view.rows.length) {
      const start = Float32Array.from(view.starts.flatMap((s) => Array.from(s)));
      a.model.clampLatents(start);
      const inv = await invertTargets(run.plan, a.model, view.targets, start, {
        seed: a.seed, signal: run.hooks.signal ?? new AbortController().signal, workspaceDir: a.workspaceDir, log: () => undefined, queryEncoder: a.queryEncoder,
        answers: run.hooks.searchAnswers!(view.rows.map((r) => a.store.ids[r])), acceptAt: run.hooks.thresholds,
      });
      view.rows.forEach((r, i) => addSearchAccepts(res(r), res(r).oracle?.queries ?? 0, inv.firstAccepts?.[i], inv.queries?.[i] ?? 0));
    }
    for (const r of a.rows) {
      const o = res(r).oracle;
      const row = a.res(r);
      if (!o || !row.oracle) continue;
      (row.oracle.mitigations ??= []).push({ mitigation: run.mitigation!, attack: o.attack, queries: o.queries, accepts: o.accepts ?? [], ...(o.error ? { error: o.error } : {}) });
    }
  }
}
