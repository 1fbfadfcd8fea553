/**
 * Which of the attacker's photos to use as the non-adaptive probe set of the no-encoder score attack
 * (./probeMap.ts). The start map is a linear regression on the subject's P answers, so the probe set is the
 * design of that regression: answers that vary together across people say the same thing twice, answers that
 * barely vary say nothing. Greedy D-optimal design (the largest log-determinant of the answers' covariance,
 * chosen one probe at a time: a pivoted Cholesky factorisation; for Nyström landmarks, which these score vectors
 * are, such greedy pivots beat uniform sampling: Fine & Scheinberg 2001; Bach 2013) picks probes whose answers
 * carry the most about a new person.
 *
 * What the attacker needs: the system's answers for each candidate probe against its own enrolled photos —
 * the same kind of answers the map is fitted on (the attacker enrols its own photos and asks the system), asked
 * once, before any subject. `answers` is [m, c]: m own enrolled photos (rows) × c candidates (columns).
 */

/** Result of the design: the chosen candidate columns in the order chosen, and each one's residual variance when chosen. */
export interface ProbeDesign { chosen: number[]; residual: number[] }

/**
 * Greedy D-optimal choice of `p` of the `c` candidate columns of `answers` ([m, c], row-major). `jitter` is added
 * to every variance (the answers' own noise: rounding, photo-to-photo variation), which stops the factorisation
 * from chasing directions it has already measured to within that noise.
 */
export function designProbes(answers: Float32Array, m: number, c: number, p: number, jitter = 1e-4): ProbeDesign {
  if (answers.length !== m * c) throw new Error(`probe design: ${answers.length} answers are not ${m} rows of ${c} candidates`);
  if (!(p >= 1 && p <= c && Number.isInteger(p))) throw new Error(`probe design: cannot choose ${p} probes from ${c} candidates`);
  if (m < 2) throw new Error(`probe design: the answers' covariance needs at least 2 enrolled photos, got ${m}`);
  if (!(jitter >= 0)) throw new Error(`probe design: jitter must be ≥ 0, got ${jitter}`);
  const cov = answerCovariance(answers, m, c);
  const diag = new Float64Array(c);
  for (let j = 0; j < c; j++) diag[j] = cov[j * c + j] + jitter;
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
      let v = cov[best * c + j] + (j === best ? jitter : 0);
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

/** The [c, c] covariance, across the m rows, of the c candidates' answers. */
function answerCovariance(answers: Float32Array, m: number, c: number): Float64Array {
  const mean = new Float64Array(c);
  for (let i = 0; i < m; i++) for (let j = 0; j < c; j++) mean[j] += answers[i * c + j] / m;
  const cov = new Float64Array(c * c);
  const row = new Float64Array(c);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < c; j++) row[j] = answers[i * c + j] - mean[j];
    for (let a = 0; a < c; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      const base = a * c;
      for (let b = a; b < c; b++) cov[base + b] += ra * row[b];
    }
  }
  for (let a = 0; a < c; a++) for (let b = a; b < c; b++) { cov[a * c + b] /= m - 1; cov[b * c + a] = cov[a * c + b]; }
  return cov;
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
  return designProbes(answers, enrolled.length, c, count, settings.jitter).chosen.map((j) => candidates[j]);
}
