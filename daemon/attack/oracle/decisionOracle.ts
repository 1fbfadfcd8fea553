/**
 * The system's accept / reject answers for the decision search (./decisionSearch.ts `firstAccepts`) and for the
 * walk's rendered faces (./decisionWalk.ts): simulated over the template store (the attacker photo's template, or
 * the system's encoder on the rendered face, against the enrolled one at the system's threshold, strictly above
 * as the audit accepts) or asked of a live service (daemon/encoders/verifierClient.ts); and the order the attacker
 * submits its photos in.
 */
import { seededShuffle } from '../../data/split';
import type { Encoder } from '../../encoders/types';
import { tf } from '../../tfjs/tf';
import { hubOrders, type DecideFn } from './decisionSearch';
import type { SubjectAccepts } from './decisionWalk';
import { cropPngs, renderedPngs, SubjectOracleError } from './scoreOracle';

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

/** Rendered faces ([n, S, S, 3] in [0, 1], 8-bit values) for a subject of `templates`: `encoder`'s template of each against the enrolled one, above `threshold`. */
export function simulatedAcceptFaces(templates: ReadonlyMap<string, Float32Array>, encoder: Encoder, threshold: number): (subject: string) => SubjectAccepts {
  return (subject) => {
    let queries = 0;
    return {
      get queries() { return queries; },
      accepts: async (faces) => {
        const t = templates.get(subject);
        if (!t) throw new SubjectOracleError('unknown-subject', subject, 'no such enrolled subject');
        queries += faces.shape[0];
        const x = faces.shape[1] === encoder.inputSize ? faces : tf.image.resizeBilinear(faces, [encoder.inputSize, encoder.inputSize], false, true);
        try {
          return (await encoder.embed(x)).map((e) => { let s = 0; for (let a = 0; a < e.length; a++) s += e[a] * t[a]; return s > threshold; });
        } finally {
          if (x !== faces) x.dispose();
        }
      },
    };
  };
}

/** A live service: each rendered face goes as a PNG, one counted query each (the refused one included). */
export function serviceAcceptFaces(client: DecisionClient): (subject: string) => SubjectAccepts {
  return (subject) => {
    let queries = 0;
    return {
      get queries() { return queries; },
      accepts: async (faces) => {
        const out: boolean[] = [];
        for (const png of await renderedPngs(faces)) {
          queries++;
          out.push(await client.decide(subject, png));
        }
        return out;
      },
    };
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
