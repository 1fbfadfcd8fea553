/**
 * Which of the attacker's photos to use as the non-adaptive probe set of the no-encoder score attack
 * (./probeMap.ts). The start map is a linear regression on the subject's P answers, so the probe set is the
 * design of that regression: answers that vary together across people say the same thing twice, answers that
 * barely vary say nothing. Greedy D-optimal design (the largest log-determinant of the answers' covariance,
 * chosen one probe at a time: a pivoted Cholesky factorisation; for Nyström landmarks, which these score vectors
 * are, such greedy pivots beat uniform sampling: Fine & Scheinberg 2001; Bach 2013) picks probes whose answers
 * carry the most about a new person.
 *
 * It is the criterion of the encoder-copy attack's probe choice (./scoreRecovery.ts `designProbes`: greedy on the
 * posterior width pᵀΣp of each candidate's answer), computed here from answers alone: this attacker has no
 * templates, only what the system answered, and the answers' covariance is that same PΣPᵀ.
 *
 * What the attacker needs: the system's answers for each candidate probe against its own enrolled photos —
 * the same kind of answers the map is fitted on (the attacker enrols its own photos and asks the system), asked
 * once, before any subject. `answers` is [m, c]: m own enrolled photos (rows) × c candidates (columns).
 */

import { fitTemplatePrior } from './scoreRecovery';

/** Result of the design: the chosen candidate columns in the order chosen, and each one's residual variance when chosen. */
export interface AnswerDesign { chosen: number[]; residual: number[] }

/**
 * Greedy D-optimal choice of `p` of the `c` candidate columns of `answers` ([m, c], row-major). `jitter` is added
 * to every variance (the answers' own noise: rounding, photo-to-photo variation), which stops the factorisation
 * from chasing directions it has already measured to within that noise.
 */
export function designFromAnswers(answers: Float32Array, m: number, c: number, p: number, jitter = 1e-4): AnswerDesign {
  if (answers.length !== m * c) throw new Error(`probe design: ${answers.length} answers are not ${m} rows of ${c} candidates`);
  if (!(p >= 1 && p <= c && Number.isInteger(p))) throw new Error(`probe design: cannot choose ${p} probes from ${c} candidates`);
  if (m < 2) throw new Error(`probe design: the answers' covariance needs at least 2 enrolled photos, got ${m}`);
  if (!(jitter >= 0)) throw new Error(`probe design: jitter must be ≥ 0, got ${jitter}`);
  // The answers' covariance across the enrolled photos, jitter on its diagonal (the same estimate as the encoder-copy prior's).
  const cov = fitTemplatePrior(answers, m, c, jitter).cov;
  const diag = new Float64Array(c);
  for (let j = 0; j < c; j++) diag[j] = cov[j * c + j];
  const L: Float64Array[] = [];
  const chosen: number[] = [], residual: number[] = [];
  const taken = new Uint8Array(c);
  for (let k = 0; k < p; k++) {
    let best = -1;
    for (let j = 0; j < c; j++) if (!taken[j] && (best < 0 || diag[j] > diag[best])) best = j;
    const pivot = diag[best];
    if (!(pivot > 0)) throw new Error(`probe design: the candidates' answers span fewer than ${p} directions (${k} found)`);
    const col = new Float64Array(c);
    const s = Math.sqrt(pivot);
    for (let j = 0; j < c; j++) {
      let v = cov[best * c + j];
      for (const l of L) v -= l[best] * l[j];
      col[j] = v / s;
    }
    for (let j = 0; j < c; j++) diag[j] -= col[j] * col[j];
    L.push(col);
    taken[best] = 1;
    chosen.push(best);
    residual.push(pivot);
  }
  return { chosen, residual };
}

/** The design's settings, chosen on the attacker's own identities (docs/oracles.md "The probe set's design"). */
export const PROBE_DESIGN = { candidates: 1000, designRows: 2000, jitter: 1e-4 } as const;

/**
 * The probe rows among the attacker's photos in `order` (seeded): the design's choice of `count` among the first
 * `candidates` (at most half the photos), judged by their answers against the next `designRows` photos (fewer
 * when there are fewer).
 * `answer(candidate, enrolled)`: the system's (rounded) score of a candidate probe against an own enrolled photo.
 */
export function designedProbeRows(order: readonly number[], count: number, answer: (candidate: number, enrolled: number) => number, settings: { candidates: number; designRows: number; jitter: number } = PROBE_DESIGN): number[] {
  // A small photo set is split evenly between candidates and the photos that judge them.
  const candidates = order.slice(0, Math.max(count, Math.min(settings.candidates, Math.floor(order.length / 2))));
  const enrolled = order.slice(candidates.length, candidates.length + settings.designRows);
  if (candidates.length < count) throw new Error(`probe design: ${count} probes asked, but the attacker has only ${candidates.length} photos to choose from`);
  const c = candidates.length, answers = new Float32Array(enrolled.length * c);
  enrolled.forEach((r, i) => candidates.forEach((p, j) => { answers[i * c + j] = answer(p, r); }));
  return designFromAnswers(answers, enrolled.length, c, count, settings.jitter).chosen.map((j) => candidates[j]);
}
