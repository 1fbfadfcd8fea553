/**
 * The system's accept / reject answers for the decision search (./decisionSearch.ts `firstAccepts`): simulated
 * over the template store (the attacker photo's template against the enrolled one at the system's threshold,
 * strictly above as the audit accepts) or asked of a live service (daemon/encoders/verifierClient.ts), and the
 * order the attacker submits its photos in.
 */
import { seededShuffle } from '../../data/split';
import { hubOrders, type DecideFn } from './decisionSearch';
import { cropPngs, SubjectOracleError } from './scoreOracle';

export interface CountedDecide { decide: DecideFn; readonly queries: number }

/** Accepts photo p ([n, dim] unit rows of `photos`) for a subject of `templates` when their cosine is above `threshold`. */
export function simulatedDecide(templates: ReadonlyMap<string, Float32Array>, photos: Float32Array, dim: number, threshold: number): CountedDecide {
  let queries = 0;
  return {
    get queries() { return queries; },
    decide: async (subject, p) => {
      const t = templates.get(subject);
      if (!t) throw new SubjectOracleError('unknown-subject', subject, 'no such enrolled subject');
      queries++;
      let s = 0;
      for (let a = 0; a < dim; a++) s += photos[p * dim + a] * t[a];
      return s > threshold;
    },
  };
}

/** What a live decision service's client offers. */
export interface DecisionClient { decide(subject: string, image: string): Promise<boolean> }

/** A live service: each photo goes as its aligned crop (`crops` [n, size, size, 3] uint8), PNG-encoded once. */
export function serviceDecide(client: DecisionClient, crops: Uint8Array, size: number): CountedDecide {
  const png = cropPngs(crops, size);
  let queries = 0;
  return {
    get queries() { return queries; },
    decide: async (subject, p) => { queries++; return client.decide(subject, await png(p)); },
  };
}

/**
 * The attacker's submission order of its `n` photos: by hubness under its copy of the encoder (greedy coverage
 * of its own identities at `threshold`, a photo never covering its own; the looser count 0.05 below ranks the
 * rest, as the bench), or, without the system's encoder, a seeded random order (the naive baseline).
 */
export function decisionOrder(photos: { templates: Float32Array; dim: number; ids: readonly string[] }, hub: boolean, threshold: number, seed: number): Int32Array {
  const n = photos.ids.length;
  if (!hub) return Int32Array.from(seededShuffle(Array.from({ length: n }, (_, i) => i), seed));
  // The population ranked on: one photo per own identity (its first).
  const seen = new Set<string>();
  const pop = photos.ids.map((_, i) => i).filter((i) => !seen.has(photos.ids[i]) && seen.add(photos.ids[i]));
  const d = photos.dim;
  const population = new Float32Array(pop.length * d);
  pop.forEach((r, k) => population.set(photos.templates.subarray(r * d, (r + 1) * d), k * d));
  return hubOrders(photos.templates, photos.ids, population, pop.map((r) => photos.ids[r]), d, { thresholds: [threshold], looser: threshold - 0.05 })[0];
}
