/**
 * The score search's start through another encoder the attacker owns (attacker.encoder "other"; issue 25, item 3).
 * A subject's answers to the non-adaptive probe set are linear in its unknown template (each answer is the cosine
 * of one probe's template to it), so a ridge map from the answer vector to another encoder's embedding is the main
 * job's template map (../search/surrogatePrior.ts: Shahreza, George & Marcel 2024's linear adapter) with the probe
 * matrix folded in. It is fitted on the attacker's own enrolled photos — their answers (as ./scoreSearch.ts asks
 * them) against their embeddings by the other encoder — and then the probe map's start takes a few gradient steps on
 * that encoder's cosine to the mapped goal (no query to the system). Measured on the attacker's own identities
 * (docs/oracles.md "Another encoder the attacker owns"): at FMR 1e-3, 85.7 % of first faces accepted from the map
 * alone, 99.7 % after 10 steps.
 */
import { createHash } from 'node:crypto';
import type { EncoderConfig } from '../../protocol/encoderConfig';
import { openSurrogatePrior } from '../search/surrogatePrior';
import type { FaceModel } from '../faceModel/types';

/** Steps and Adam step size (latent SDs) of the warm-up, chosen on the attacker's own identities (docs/oracles.md). */
export const PROBE_WARMUP = { steps: 10, learningRate: 0.05 };

/** The attacker's own enrolled photos as the map is fitted on them: answers [n, probes] and crops in the face model's frame. */
export interface ProbeAnswerPhotos {
  answers: Float32Array;
  probes: number;
  crops: Uint8Array;
  rels: readonly string[];
  identities: readonly string[];
  /** Names the other encoder's cached embeddings of `crops` (default: a hash of the crops, computed here). */
  cacheKey?: string;
}

/** A name for the other encoder's embeddings of these crops: their content, whatever the photos are called. */
export const probeCropsKey = (crops: Uint8Array) => `probe-answers-${createHash('sha1').update(crops).digest('hex').slice(0, 16)}`;

export interface WarmedStarts {
  latents: Float32Array;
  /** The map's cosine on own identities it was not fitted on (the surrogate prior's held-out tenth). */
  mapCosine: number;
  evaluations: number;
  seconds: number;
}

/**
 * `starts` [n, latentDim] moved toward `answers` [n, probes] as the other encoder `otherId` sees them. Throws when
 * `otherId` cannot be differentiated in the face model's frame or its map fits badly (the caller falls back to the
 * probe map's starts).
 */
export async function warmProbeStarts(model: FaceModel, system: EncoderConfig, otherId: string, own: ProbeAnswerPhotos, answers: Float32Array, starts: Float32Array, n: number,
  o: { steps?: number; learningRate?: number; workspaceDir?: string; cacheDir?: string; log?: (m: string) => void } = {}): Promise<WarmedStarts> {
  const P = own.probes;
  if (answers.length !== n * P) throw new Error(`probe warm-up: ${answers.length} answers are not ${n} rows of ${P}`);
  if (starts.length !== n * model.latentDim) throw new Error(`probe warm-up: ${starts.length} start values are not ${n} latents of ${model.latentDim}`);
  const goals = Array.from({ length: n }, (_, i) => answers.slice(i * P, (i + 1) * P));
  const datasetId = own.cacheKey ?? probeCropsKey(own.crops);
  const photos = { templates: own.answers, dim: P, crops: own.crops, rels: own.rels, identities: own.identities, datasetId };
  const prior = await openSurrogatePrior(model, system, goals, photos, { surrogate: otherId, weight: 1, fitPhotos: own.rels.length, seed: 0 },
    { ...o, field: 'threat.attacker.otherEncoder', mapsFrom: `the ${P} probe answers` });
  try {
    const latents = await prior.warmup(starts, o.steps ?? PROBE_WARMUP.steps, o.learningRate ?? PROBE_WARMUP.learningRate);
    model.clampLatents(latents);
    return { latents, mapCosine: prior.mapCosine, evaluations: prior.stats.evaluations, seconds: prior.stats.seconds };
  } finally {
    await prior.dispose();
  }
}
