/**
 * The score distribution of an evaluated run (evaluation/report.json `distribution`), the same picture the
 * audit report draws (distribution.ts): genuine and impostor cosines of the test identities' real photos
 * under the attacked encoder — the pairs its thresholds come from (daemon/evaluation/thresholds.ts) — and
 * the attack's and the nearest-training-face baseline's cosines to their source templates, per protocol.
 */
import { allPairScores, type AllPairScores } from '../data/verify';
import type { EncoderThresholds, ScoreDistribution } from '../protocol/report';
import type { Gallery } from './sar';
import { histogramOf } from '../protocol/distribution';

const LABELS: Record<string, string> = {
  'attack/redetect': 'reconstructions, re-detected',
  'attack/direct': 'reconstructions, direct',
  'nearest-face/redetect': 'nearest training face, re-detected',
  'nearest-face/direct': 'nearest training face, direct',
};

export function evaluationDistribution(gallery: Gallery, testIdentities: readonly string[], thresholds: EncoderThresholds,
  cosines: ReadonlyMap<string, readonly { cosine: number | null }[]>, pairs: AllPairScores = allPairScores(gallery, testIdentities)): ScoreDistribution {
  return {
    encoderId: thresholds.encoderId,
    pairsFrom: `the ${pairs.images} real photos of the ${new Set(gallery.identities).size} held-out identities`,
    start: -1,
    width: 0.02,
    histograms: [
      histogramOf('genuine', 'genuine pairs (real photos, same person)', pairs.genuine),
      histogramOf('impostor', 'impostor pairs (real photos, different people)', pairs.impostor),
      ...Object.keys(LABELS).filter((k) => cosines.has(k)).map((k) => histogramOf(k, LABELS[k], (cosines.get(k) ?? []).map((c) => c.cosine))),
    ],
    thresholds: thresholds.points.map((p) => ({ fmr: p.fmr, threshold: p.threshold, lowSupport: p.lowSupport })),
  };
}
