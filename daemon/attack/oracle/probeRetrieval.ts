/**
 * A score oracle and no encoder: one real face from the probe answers (issue 25, item 3). The P answers of the
 * fixed probe set are linear in the subject's unknown template t (s = Pᵀt for unit templates), so, regressed
 * over the attacker's own enrolled photos, they predict the subject's answer to any candidate photo j:
 *
 *   ĝ_j(s) = ridge fitted on (the own photos' probe answers, their answers to j), applied to s.
 *
 * The attacker submits the candidate with the highest prediction: its own pool is the "generator", and the
 * predicted answers rank it. Kim et al. (2025) learn a deep map from the probe scores to a generator's latent;
 * without a face generator here, the linear map to the face model's latent (./probeMap.ts) gives a blurred
 * start, while the ranked pool gives a real face (docs/oracles.md has both, chosen on the attacker's side).
 *
 * What it costs the attacker, beyond the subject's P queries: answers for its own enrolled photos — each of
 * m own enrolments asked the P probes and every candidate (m · (P + c) answers on its own accounts, none on the
 * subject's). Ridge is linear in its outputs, so fitting it on the answers to all c candidates equals fitting it
 * once on the own photos' templates and taking the product with each candidate's template — the form computed
 * here, where the answers are the templates' cosines (the same assumption as ./scoreSearch.ts's map).
 */
import { applyRidge, fitRidge, type RidgeMap } from '../../math/ridge';

export interface ProbeRetrieval {
  probes: number;
  dim: number;
  /** Probe answers → the template direction whose products predict answers to candidates. */
  toTemplate: RidgeMap;
  /** [c, dim] unit templates of the candidate photos, in the order of `rows`. */
  candidates: Float32Array;
  /** The candidates' rows in the attacker's photo set. */
  rows: readonly number[];
}

/**
 * `scores`: [m, probes] the own enrolled photos' answers to the probes; `templates`: their [m, dim] templates
 * (answers to a candidate are products with them); `candidates`: [c, dim] templates of the photos it may submit.
 */
export function fitProbeRetrieval(scores: Float32Array, templates: Float32Array, m: number, probes: number, dim: number, candidates: Float32Array, rows: readonly number[], lambda = 0.01): ProbeRetrieval {
  if (m <= probes) throw new Error(`probe retrieval: ${m} own enrolled photos cannot fit a map from ${probes} answers (need more than ${probes})`);
  if (candidates.length !== rows.length * dim) throw new Error(`probe retrieval: ${candidates.length} candidate values are not ${rows.length} rows of ${dim}`);
  if (rows.length === 0) throw new Error('probe retrieval: no candidate photos to submit');
  for (let i = 0; i < scores.length; i++) if (!Number.isFinite(scores[i])) throw new Error(`probe retrieval: own answer ${i} is not a finite number`);
  return { probes, dim, toTemplate: fitRidge(scores, templates, m, probes, dim, lambda), candidates, rows };
}

/** Each subject's predicted answer to every candidate, best first: [candidate index, predicted answer][] for [n, probes] answers. */
export function rankCandidates(r: ProbeRetrieval, scores: Float32Array, n: number): { index: number; predicted: number }[][] {
  if (scores.length !== n * r.probes) throw new Error(`probe retrieval: ${scores.length} answers are not ${n} rows of ${r.probes}`);
  for (let i = 0; i < scores.length; i++) if (!Number.isFinite(scores[i])) throw new Error(`probe retrieval: answer ${i} is not a finite number`);
  const t = applyRidge(r.toTemplate, scores, n);
  const c = r.rows.length, d = r.dim;
  return Array.from({ length: n }, (_, i) => {
    const out = new Array<{ index: number; predicted: number }>(c);
    for (let j = 0; j < c; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += t[i * d + k] * r.candidates[j * d + k];
      out[j] = { index: j, predicted: s };
    }
    return out.sort((a, b) => b.predicted - a.predicted);
  });
}

/** The photo row each subject submits first: the candidate with the highest predicted answer. */
export function retrievedPhotos(r: ProbeRetrieval, scores: Float32Array, n: number): number[] {
  return rankCandidates(r, scores, n).map((ranked) => r.rows[ranked[0].index]);
}
