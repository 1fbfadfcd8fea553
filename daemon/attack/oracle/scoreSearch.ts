/**
 * The score search's first step in an attack (issue 25, item 3; Kim et al. 2025, ./probeMap.ts): a fixed,
 * non-adaptive probe set of the attacker's photos, answered once per subject, mapped to a start latent; the query
 * search on the answered score (../search/querySearch.ts, through invertTargets) goes on from there.
 *
 * The map is fitted on the attacker's own photos as its own enrolled identities (Kim et al.'s assumption: it
 * enrols them on the same system and asks the probe set against them). Their answers are the cosines of the
 * attacker's reference templates, rounded as the system rounds — what a service answers for a real photo, up to
 * the 8-bit PNG of the probe (the bench's assumption too, docs/oracles.md).
 */
import { seededShuffle } from '../../data/split';
import { designedProbeRows } from './probeDesign';
import { fitProbeMap, probeStart, type ProbeMap } from './probeMap';
import { checkScore, SubjectOracleError, type ScoreOracle } from './scoreOracle';
import { roundScore } from '../../math/roundScore';

/** The attacker's reference photos: unit templates [n, dim] and their latents [n, latentDim] under its face model. */
export interface OwnPhotos { templates: Float32Array; dim: number; latents: Float32Array; latentDim: number; n: number }

export interface ProbeSetup {
  /** Rows of the attacker's photos sent as probes, in query order. */
  probes: number[];
  map: ProbeMap;
  /** The own photos the map was fitted on (rows) and their answers [rows, probes]: another encoder's map fits on them too (./probeSurrogate.ts). */
  fit: { rows: number[]; answers: Float32Array };
}

/**
 * Chooses `count` probe photos by the design (./probeDesign.ts, candidates in a seeded order) and fits the map on
 * the rest, every answer as the system rounds to `decimals`.
 */
export function fitOracleProbeMap(own: OwnPhotos, count: number, decimals: number | undefined, seed: number): ProbeSetup {
  const { templates: e, dim, latents, latentDim, n } = own;
  const round = (s: number) => roundScore(s, decimals);
  const answer = (p: number, t: number) => {
    let s = 0;
    for (let a = 0; a < dim; a++) s += e[p * dim + a] * e[t * dim + a];
    return round(s);
  };
  const order = seededShuffle(Array.from({ length: n }, (_, i) => i), seed);
  const probes = designedProbeRows(order, count, answer);
  const chosen = new Set(probes), train = order.filter((r) => !chosen.has(r));
  const scores = new Float32Array(train.length * count);
  const z = new Float32Array(train.length * latentDim);
  train.forEach((t, i) => {
    probes.forEach((p, k) => { scores[i * count + k] = answer(p, t); });
    z.set(latents.subarray(t * latentDim, (t + 1) * latentDim), i * latentDim);
  });
  return { probes, map: fitProbeMap(scores, z, train.length, count, latentDim), fit: { rows: train, answers: scores } };
}

/** Moves the subjects' starts [n, latentDim] given their answers [n, probes], without queries (./probeSurrogate.ts). */
export type WarmStarts = (starts: Float32Array, answers: Float32Array, n: number) => Promise<Float32Array>;

/** `warm` applied to the subjects that have a start (all answers in), in one batch. */
export async function warmedProbeStarts(p: ProbeStarts, warm: WarmStarts): Promise<(Float32Array | null)[]> {
  const have = p.starts.flatMap((s, i) => (s && p.answers[i] ? [i] : []));
  if (!have.length) return p.starts;
  const K = p.starts[have[0]]!.length, P = p.answers[have[0]]!.length;
  const starts = new Float32Array(have.length * K), answers = new Float32Array(have.length * P);
  have.forEach((i, j) => { starts.set(p.starts[i]!, j * K); answers.set(p.answers[i]!, j * P); });
  const moved = await warm(starts, answers, have.length);
  const out = p.starts.slice();
  have.forEach((i, j) => { out[i] = moved.slice(j * K, (j + 1) * K); });
  return out;
}

export interface ProbeStarts {
  /** Start latent per subject, or null when its probes were not all answered. */
  starts: (Float32Array | null)[];
  /** The subject's answers to the probes, when all were answered (what the start was mapped from). */
  answers: (Float32Array | null)[];
  queries: number[];
  /** Per subject and threshold: the probe query whose answer first passed it (a probe photo the system accepts), or null. */
  accepts: (number | null)[][];
  errors: (string | undefined)[];
}

/** Asks each subject the probe set; a subject's own failure (locked out, unknown, a bad answer) marks it only. */
export async function probeStarts(setup: ProbeSetup, oracle: ScoreOracle, subjects: readonly string[], thresholds: readonly number[], signal?: AbortSignal): Promise<ProbeStarts> {
  const out: ProbeStarts = { starts: [], answers: [], queries: [], accepts: [], errors: [] };
  for (const subject of subjects) {
    if (signal?.aborted) throw new Error('cancelled');
    try {
      const s = await oracle.scores(subject, setup.probes, signal);
      if (s.length !== setup.probes.length) throw new SubjectOracleError('bad-score', subject, `${s.length} scores for ${setup.probes.length} probes`);
      s.forEach((v) => checkScore(v, subject));
      out.starts.push(probeStart(setup.map, Float32Array.from(s), 1));
      out.answers.push(Float32Array.from(s));
      out.queries.push(s.length);
      out.accepts.push(firstAbove(s, thresholds));
      out.errors.push(undefined);
    } catch (err) {
      if (!(err instanceof SubjectOracleError)) throw err;
      // The map needs every probe's answer: a subject locked out mid-way has no start, but its answers still count.
      const got = err.partial ?? [];
      out.starts.push(null);
      out.answers.push(null);
      out.queries.push(got.length);
      out.accepts.push(firstAbove(got, thresholds));
      out.errors.push(err.message);
    }
  }
  return out;
}

/** 1-based index of the first answer strictly above each threshold (the audit's acceptance, summary.ts), or null. */
export function firstAbove(answers: readonly number[], thresholds: readonly number[]): (number | null)[] {
  return thresholds.map((t) => { const k = answers.findIndex((a) => a > t); return k < 0 ? null : k + 1; });
}
