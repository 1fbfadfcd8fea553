/**
 * A score oracle and no encoder at all (issue 25, item 3): the system itself as the attacker's encoder, seen through
 * identities the attacker enrols. The probe map (./probeMap.ts) already assumes the attacker enrols its own photos
 * and reads the system's answers for them (Kim et al. 2025's assumption too). With K own enrolments, the answers of
 * any face x against them, f(x) = E·e(x) (E: the K enrolled templates, [K, d]), are a linear view of x's template
 * that the attacker reads for any face it renders: K queries to its own identities, none to the subject.
 *
 * The subject's score of x is ⟨e(x), t⟩. The attacker predicts g = E·t — the subject's answers against its own
 * enrolments — from the subject's P probe answers, by a ridge map fitted on its own photos (their P probe answers
 * and their K answers against the enrolled ones), and scores a face by ŝ(x) = f(x)ᵀ·c with c = (G + λI)⁻¹·ĝ and
 * G = E·Eᵀ (the enrolled photos' answers against each other). Because f(x)ᵀ·c = ⟨e(x), Eᵀc⟩, ŝ is the score
 * against a predicted template t̂ = Eᵀc: a simulation folds the K answers into t̂ (`foldOwnView`); a live run pays
 * K queries per face it scores. With K ≥ d spread identities the view loses nothing of the template (E has full
 * column rank), so the ridge from P answers to g is the linear estimate of t from P scores that the
 * encoder-copy attack computes from known probe embeddings (./scoreRecovery.ts), learned instead of computed.
 */
import type { Encoder } from '../../encoders/types';
import { cholesky, choleskySolve } from '../../math/linalg';
import { applyRidge, fitRidge, type RidgeMap } from '../../math/ridge';
import type { FaceModel } from '../faceModel/types';
import { QueryOracle, type RemoteAnswer } from '../search/oracle';
import { querySearch } from '../search/querySearch';
import { roundScore } from '../../math/roundScore';
import { exactRowDots } from '../../math/blockDots';

/**
 * Chosen on the attacker's own identities (docs/oracles.md "The system as the attacker's encoder"): evaluations of
 * the view per subject in the start's search (each `ownEnrolments` queries to the attacker's own identities), the
 * two ridge penalties, and the zeroth-order search's probe radius and step (the score search's own).
 */
export const OWN_VIEW = { evaluations: 100, mapLambda: 0.1, gramLambda: 0.1, sigma: 0.5, learningRate: 0.1 };

export interface OwnView {
  probes: number;
  /** Own enrolled identities the view reads (K). */
  enrolled: number;
  /** Ridge from a subject's [probes] answers to its predicted [enrolled] answers against the own enrolments. */
  map: RidgeMap;
  /** Cholesky factor of G + λI ([K, K]). */
  gram: Float64Array;
}

/**
 * `probeAnswers` [m, P]: the attacker's m own photos' answers to the probes; `ownAnswers` [m, K]: the same photos'
 * answers against the K own enrolments; `gram` [K, K]: the enrolled photos' answers against each other.
 * `answerNoise`: the standard deviation of each answer's error (rounding to 10^-d errs uniformly within half a step:
 * 10^-d / √12). Noise in the K×K answers spreads their spectrum by up to 2·√K times it (Wigner's semicircle), so that
 * much joins λ and the factorisation stays positive definite.
 */
export function fitOwnView(probeAnswers: Float32Array, ownAnswers: Float32Array, gram: Float32Array, m: number, P: number, K: number, o: { mapLambda: number; gramLambda: number; answerNoise?: number }): OwnView {
  if (m <= P) throw new Error(`own view: ${m} own photos cannot fit a map from ${P} answers (need more than ${P})`);
  if (gram.length !== K * K) throw new Error(`own view: the enrolments' answers (${gram.length} values) are not ${K}×${K}`);
  if (!(o.gramLambda > 0)) throw new Error(`own view: the enrolments' ridge λ must be > 0, got ${o.gramLambda}`);
  for (const [what, a] of [['probe', probeAnswers], ['own', ownAnswers], ['enrolment', gram]] as const) {
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) throw new Error(`own view: ${what} answer ${i} is not a finite number`);
  }
  const A = Float64Array.from(gram);
  const ridge = o.gramLambda + 2 * Math.sqrt(K) * (o.answerNoise ?? 0);
  for (let k = 0; k < K; k++) A[k * K + k] += ridge;
  return { probes: P, enrolled: K, map: fitRidge(probeAnswers, ownAnswers, m, P, K, o.mapLambda), gram: cholesky(A, K, 'own view') };
}

/** Each subject's weights c = (G + λI)⁻¹·ĝ over the own enrolments ([n, K]), from its [n, P] probe answers: ŝ(x) = f(x)ᵀ·c. */
export function ownViewWeights(view: OwnView, answers: Float32Array, n: number): Float64Array {
  if (answers.length !== n * view.probes) throw new Error(`own view: ${answers.length} answers are not ${n} rows of ${view.probes}`);
  const g = applyRidge(view.map, answers, n);
  const K = view.enrolled;
  // choleskySolve takes B as [K, n] (one column per subject).
  const B = new Float64Array(K * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < K; k++) B[k * n + i] = g[i * K + k];
  const X = choleskySolve(view.gram, B, K, n);
  const c = new Float64Array(n * K);
  for (let i = 0; i < n; i++) for (let k = 0; k < K; k++) c[i * K + k] = X[k * n + i];
  return c;
}

/** The predicted templates t̂ = Eᵀ·c ([n] unit rows of d) of weights `c` [n, K] over enrolled templates `E` [K, d]: what ŝ scores against. */
export function foldOwnView(c: Float64Array, E: Float32Array, n: number, K: number, d: number): Float32Array[] {
  return foldWithNorms(c, E, n, K, d).templates;
}

/** foldOwnView's unit rows and the norms of Eᵀ·c they were divided by (what scales ŝ as a cosine to t̂). */
function foldWithNorms(c: Float64Array, E: Float32Array, n: number, K: number, d: number): { templates: Float32Array[]; norms: Float64Array } {
  if (c.length !== n * K || E.length !== K * d) throw new Error(`own view: ${c.length} weights and ${E.length} template values do not fit ${n} subjects, ${K} enrolments of ${d}`);
  const norms = new Float64Array(n);
  const templates = Array.from({ length: n }, (_, i) => {
    const t = new Float64Array(d);
    for (let k = 0; k < K; k++) { const w = c[i * K + k]; for (let a = 0; a < d; a++) t[a] += w * E[k * d + a]; }
    norms[i] = Math.hypot(...t) || 1;
    return Float32Array.from(t, (v) => v / norms[i]);
  });
  return { templates, norms };
}

/** A view fitted on the attacker's photos, with the templates of its enrolments (what a simulation folds answers into). */
export interface OwnViewFit { view: OwnView; enrolled: Float32Array; dim: number; decimals?: number }

/**
 * The view from the attacker's photos (unit templates [*, dim] and their identities): the first photos of `K`
 * distinct identities among `own` are enrolled; each photo of `own` gives its probe answers (`probeAnswers`, [own, P])
 * and its K answers against the enrolments; every answer rounded to `decimals` as the system rounds. In a simulation
 * the templates stand for the system's answers, as the probe map's own answers do (./scoreSearch.ts).
 */
export function fitOwnViewOnPhotos(templates: Float32Array, dim: number, identities: readonly string[], own: readonly number[], probeAnswers: Float32Array, P: number, K: number,
  decimals: number | undefined, o: { mapLambda: number; gramLambda: number } = OWN_VIEW): OwnViewFit {
  const seen = new Set<string>();
  const enrolledRows = own.filter((r) => !seen.has(identities[r]) && !!seen.add(identities[r])).slice(0, K);
  if (enrolledRows.length < K) throw new Error(`attacker.ownEnrolments ${K}: the attacker's photos hold only ${enrolledRows.length} identities to enrol`);
  const E = new Float32Array(K * dim);
  enrolledRows.forEach((r, k) => E.set(templates.subarray(r * dim, (r + 1) * dim), k * dim));
  const answersOf = (rows: readonly number[]) => {
    const out = new Float32Array(rows.length * K);
    rows.forEach((r, j) => exactRowDots(templates, r * dim, E, K, dim, (k, s) => { out[j * K + k] = roundScore(s, decimals); }));
    return out;
  };
  const answerNoise = decimals === undefined ? 0 : 10 ** -decimals / Math.sqrt(12);
  return { view: fitOwnView(probeAnswers, answersOf(own), answersOf(enrolledRows), own.length, P, K, { ...o, answerNoise }), enrolled: E, dim, decimals };
}

/** The subjects' predicted templates (unit rows) from their [n, P] probe answers. */
export function predictedTemplates(fit: OwnViewFit, answers: Float32Array, n: number): Float32Array[] {
  return foldOwnView(ownViewWeights(fit.view, answers, n), fit.enrolled, n, fit.view.enrolled, fit.dim);
}

/**
 * The subjects' starts [n, latentDim] searched (zeroth-order, ../search/querySearch.ts) on ŝ, the score the attacker
 * computes from a rendered face's answers against its own enrolments (`encoder` the system's), given the subjects'
 * [n, P] probe answers: the faces held after each of `evaluations` (ascending; the last is where the search ends).
 * Exact answers fold into the predicted templates; rounded ones (`fit.decimals`) are rounded one by one, as read.
 */
export async function searchOwnView(encoder: Encoder, model: FaceModel, fit: OwnViewFit, answers: Float32Array, starts: Float32Array, evaluations: readonly number[],
  o: { sigma?: number; learningRate?: number; seed?: number; signal?: AbortSignal } = {}): Promise<{ held: { evaluations: number; latents: Float32Array }[]; seconds: number }> {
  if (!evaluations.length || evaluations.some((e, k) => !(Number.isInteger(e) && e >= 1) || (k > 0 && e <= evaluations[k - 1]))) throw new Error(`own view: evaluations must be ascending whole numbers ≥ 1, got ${evaluations.join(', ')}`);
  const last = evaluations[evaluations.length - 1];
  const n = answers.length / fit.view.probes;
  const c = ownViewWeights(fit.view, answers, n);
  const folded = foldWithNorms(c, fit.enrolled, n, fit.view.enrolled, fit.dim);
  const oracle = new QueryOracle(encoder, model, folded.templates, last);
  if (fit.decimals !== undefined) oracle.answerBy(roundedViewAnswers(encoder, fit, c, folded.norms));
  const start = Float32Array.from(starts);
  model.clampLatents(start);
  const snaps = new Map<number, Float32Array>();
  const t0 = Date.now();
  const res = await querySearch(oracle, model, start, {
    method: 'zeroth-order', sigma: o.sigma ?? OWN_VIEW.sigma, learningRate: o.learningRate ?? OWN_VIEW.learningRate, directions: 2, population: 16, seed: o.seed ?? 0, ...(o.signal ? { signal: o.signal } : {}),
    // A snapshot when a step would pass the count: the step's queries land together (2 antithetic pairs + 1).
    onStep: (st) => { for (const b of evaluations) if (!snaps.has(b) && st.queriesPerTarget + 5 > b) snaps.set(b, Float32Array.from(st.bestLatents)); },
  });
  return { held: evaluations.map((b) => ({ evaluations: b, latents: snaps.get(b) ?? res.bestLatents })), seconds: (Date.now() - t0) / 1000 };
}

/** ŝ of rendered faces as the attacker reads it: each of the K answers rounded as the system rounds, weighted by the subject's c (scaled as a cosine to t̂). */
function roundedViewAnswers(encoder: Encoder, fit: OwnViewFit, c: Float64Array, norms: Float64Array): RemoteAnswer {
  const K = fit.view.enrolled, d = fit.dim, E = fit.enrolled;
  return async (images, owners) => {
    const emb = await encoder.embed(images);
    return emb.map((e, r) => {
      const i = owners[r];
      const en = Math.hypot(...e) || 1;
      let s = 0;
      exactRowDots(e, 0, E, K, d, (k, f) => { s += c[i * K + k] * roundScore(f / en, fit.decimals); });
      return s / norms[i];
    });
  };
}
