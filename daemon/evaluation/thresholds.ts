/**
 * Decision thresholds of a scoring encoder at the report's operating points, from the impostor scores of
 * the test identities' real photos (every cross-identity pair), with how many impostor scores lie above each
 * threshold: at FMR 1e-5 a few hundred thousand pairs leave only a handful above it, and such a point is
 * flagged rather than trusted. No training identity and no reconstruction enters these scores.
 */
import { allPairScores, rateAbove, thresholdAtFmr, type AllPairScores } from '../data/verify';
import { EncoderThresholds, MIN_IMPOSTORS_ABOVE } from '../protocol/report';
import type { Gallery } from './sar';

/** `pairs`: the gallery's all-pair scores when the caller has them already (the evaluation's score distribution uses them too). */
export function encoderThresholds(encoderId: string, gallery: Gallery, testIdentities: readonly string[], fmrs: readonly number[], pairs: AllPairScores = allPairScores(gallery, testIdentities)): EncoderThresholds {
  if (pairs.impostor.length === 0) throw new Error(`${encoderId}: the test images have no impostor pairs (one identity?), so no threshold can be set`);
  const sorted = Float32Array.from(pairs.impostor).sort().reverse();
  const n = sorted.length;
  return {
    encoderId,
    images: pairs.images,
    identities: new Set(gallery.identities).size,
    points: fmrs.map((fmr) => {
      const threshold = thresholdAtFmr(sorted, fmr);
      const impostorsAbove = Math.round(rateAbove(sorted, threshold) * n);
      return { fmr, threshold, impostorsAbove, impostorPairs: n, lowSupport: impostorsAbove < MIN_IMPOSTORS_ABOVE };
    }),
  };
}
