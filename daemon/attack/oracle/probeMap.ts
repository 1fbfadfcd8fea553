/**
 * A score oracle and no encoder at all (issue 25, item 3), after Kim et al. 2025: one fixed, non-adaptive
 * probe set (here P of the attacker's own photos) is answered once per subject; a learned map takes that
 * P-score vector to a start in the face model's latent space, and the score-driven query search
 * (../search/querySearch.ts, zeroth-order on the answered score) goes on from there.
 *
 * Assumption (Kim et al.'s as well): without an encoder the attacker can only learn the map from scores it
 * gets *from the system* for identities it controls — it enrols its own photos on the same service (or an
 * identical one) and asks the probe set against them. Training pairs are then (the P scores of an own
 * enrolled photo, that photo's latent under the face model); the map is ridge regression with a bias
 * (../../math/ridge.ts), fitted once.
 *
 * The ridge answer is a posterior mean: shrunk toward the mean face, it blurs the identity the probes carry.
 * The start moves away from the mean by `caricature` (the latent scaled about the mean face, which is the
 * origin of a centred face model; a face caricature, Benson & Perrett 1991), 1.25 chosen on the attacker's own
 * identities (docs/oracles.md: 79.0 → 84.3 % of the first faces accepted at FMR 1e-3 there).
 */
import { applyRidge, fitRidge, type RidgeMap } from '../../math/ridge';

export interface ProbeMap { probes: number; latentDim: number; ridge: RidgeMap; caricature: number }

/** The start's scale away from the mean face (see the header). */
export const PROBE_START_CARICATURE = 1.25;

/** `scores`: [m, probes] answers for the attacker's m own enrolled photos; `latents`: their [m, latentDim] latents. */
export function fitProbeMap(scores: Float32Array, latents: Float32Array, m: number, probes: number, latentDim: number, lambda = 0.1, caricature = PROBE_START_CARICATURE): ProbeMap {
  if (!(caricature > 0) || !Number.isFinite(caricature)) throw new Error(`probe map: the caricature scale must be a finite number > 0, got ${caricature}`);
  if (m <= probes) throw new Error(`probe map: ${m} training identities cannot fit a map from ${probes} scores (need more than ${probes})`);
  for (let i = 0; i < scores.length; i++) if (!Number.isFinite(scores[i])) throw new Error(`probe map: training score ${i} is not a finite number`);
  return { probes, latentDim, ridge: fitRidge(scores, latents, m, probes, latentDim, lambda), caricature };
}

/** Start latents [n, latentDim] from the subjects' [n, probes] answered score vectors. */
export function probeStart(map: ProbeMap, scores: Float32Array, n: number): Float32Array {
  if (scores.length !== n * map.probes) throw new Error(`probe map: ${scores.length} scores are not ${n} rows of ${map.probes}`);
  for (let i = 0; i < scores.length; i++) if (!Number.isFinite(scores[i])) throw new Error(`probe map: score ${i} is not a finite number`);
  const z = applyRidge(map.ridge, scores, n);
  for (let i = 0; i < z.length; i++) z[i] *= map.caricature;
  return z;
}
