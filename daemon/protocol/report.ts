/**
 * `evaluation/report.json`: one attack's scores, the one source of its TypeScript type and its JSON schema
 * (TypeBox), read by the evaluator that writes it, the CLI, the dashboard and the audit report.
 *
 * What a report holds (ISO/IEC 30136 irreversibility; NbNet, Mai et al., TPAMI 2019, for the SAR terms):
 * - subjects: the attack, and two baselines scored through the same pipeline — the *nearest training face*
 *   (for each target template, the attacker's own training image with the highest cosine to it under the
 *   attacked encoder: zero queries, no reconstruction) and the *mean face* (the pixel mean of the attacker's
 *   aligned training faces, the same picture for every target);
 * - protocols: `direct` (the reconstruction is taken as already aligned in its frame and given straight to
 *   the encoder — resized for the same template, warped by the mean face geometry for another) and
 *   `redetect` (detection + 68 landmarks + alignment, as for a real photo);
 * - rates at each operating point (FMR) for every scoring encoder: type I (vs the source image's template),
 *   type II (vs the person's other images; a failed reconstruction fails all of its pairs), rank-1, each with
 *   successes, trials and a Wilson 95 % interval; type II also averaged per probe and per identity, and with
 *   an identity-cluster bootstrap interval (its pairs are not independent).
 * A failed reconstruction (no detectable face, an embedding error) is `cosine: null` with its `failure`,
 * never NaN (JSON has no NaN). A comparison succeeds when its cosine is strictly above the threshold, as the
 * threshold itself is defined (FMR = share of impostor scores strictly above it).
 */
import { Static, Type } from '@sinclair/typebox';

export const REPORT_VERSION = 2;

/** The subjects every report scores. */
export const SUBJECTS = ['attack', 'nearest-face', 'mean-face', 'real-crop'] as const;
export type Subject = (typeof SUBJECTS)[number];
/**
 * `independent`: detection, landmarks and alignment by a detector family the attack used in
 * no role (face-api's SSD MobileNet v1 + 68 landmarks), each crop on a neutral grey canvas; absent in older reports.
 */
export const PROTOCOLS = ['direct', 'redetect', 'independent'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

const Fraction = Type.Number({ minimum: 0, maximum: 1 });
const Count = Type.Integer({ minimum: 0 });
const Interval = Type.Tuple([Fraction, Fraction], { description: '95 % interval [low, high]' });

/** A success count over trials; `rate` and `ci` are null when there are no trials. */
export const RateSchema = Type.Object({
  successes: Count,
  trials: Count,
  rate: Type.Union([Fraction, Type.Null()]),
  /** Wilson score interval, 95 %. */
  ci: Type.Union([Interval, Type.Null()]),
}, { additionalProperties: false });
export type Rate = Static<typeof RateSchema>;

/** The decision threshold of one encoder at one false match rate, with the impostor scores behind it. */
export const ThresholdSchema = Type.Object({
  fmr: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }),
  /** Cosine: a comparison is accepted when its score is strictly above it. */
  threshold: Type.Number(),
  /** Impostor scores strictly above the threshold (the support of the measured FMR). */
  impostorsAbove: Count,
  impostorPairs: Count,
  /** True when fewer than MIN_IMPOSTORS_ABOVE impostor scores lie above the threshold: the point is unreliable. */
  lowSupport: Type.Boolean(),
  /** 95 % interval of the threshold over the identity bootstrap's resamples (absent in older reports). */
  bootstrapCi: Type.Optional(Type.Tuple([Type.Number(), Type.Number()])),
}, { additionalProperties: false });
export type Threshold = Static<typeof ThresholdSchema>;

/** A threshold resting on fewer impostor scores above it than this is flagged (`lowSupport`). */
export const MIN_IMPOSTORS_ABOVE = 20;

export const EncoderThresholdsSchema = Type.Object({
  encoderId: Type.String(),
  /** Test images (real photos) the impostor pairs come from. */
  images: Count,
  identities: Count,
  points: Type.Array(ThresholdSchema),
}, { additionalProperties: false });
export type EncoderThresholds = Static<typeof EncoderThresholdsSchema>;

export const TypeIISchema = Type.Object({
  /** Every (probe, other image of the person) comparison, failed probes included (all their pairs fail). */
  perPair: Type.Array(RateSchema),
  /** Identity-cluster bootstrap 95 % interval of each per-pair rate (null without pairs). */
  perPairClusterCi: Type.Array(Type.Union([Interval, Type.Null()])),
  /** Mean over probes that have pairs of the share of their pairs accepted; null without such probes. */
  perProbe: Type.Array(Type.Union([Fraction, Type.Null()])),
  /** Mean over identities of the share of their pairs accepted. */
  perIdentity: Type.Array(Type.Union([Fraction, Type.Null()])),
  pairs: Count,
  probesWithPairs: Count,
  identitiesWithPairs: Count,
}, { additionalProperties: false });
export type TypeII = Static<typeof TypeIISchema>;

/**
 * Identity-bootstrap 95 % intervals of one row (arrays follow `operatingPoints`): each resample draws the test
 * identities with replacement, recomputes the thresholds from the resampled identities' impostor pairs and the
 * rates over the resampled identities' targets (daemon/evaluation/bootstrap.ts). `fixedThreshold`: the same
 * resamples with the full-sample thresholds, i.e. the clustering alone, for comparison.
 */
export const RowBootstrapSchema = Type.Object({
  typeI: Type.Array(Type.Union([Interval, Type.Null()])),
  typeIIPerPair: Type.Array(Type.Union([Interval, Type.Null()])),
  typeIIPerIdentity: Type.Array(Type.Union([Interval, Type.Null()])),
  fixedThreshold: Type.Object({
    typeI: Type.Array(Type.Union([Interval, Type.Null()])),
    typeIIPerIdentity: Type.Array(Type.Union([Interval, Type.Null()])),
  }, { additionalProperties: false }),
}, { additionalProperties: false });
export type RowBootstrap = Static<typeof RowBootstrapSchema>;

/** The part a scoring encoder played: only `transfer` encoders were never touched by the attack. */
export const ScoringRoleSchema = Type.Union([Type.Literal('attacked'), Type.Literal('surrogate'), Type.Literal('acceptance'), Type.Literal('transfer')]);

/** One row of the table: a subject, scored by one encoder under one protocol. Arrays follow `operatingPoints`. */
export const ScoreRowSchema = Type.Object({
  subject: Type.Union(SUBJECTS.map((s) => Type.Literal(s))),
  protocol: Type.Union(PROTOCOLS.map((p) => Type.Literal(p))),
  encoderId: Type.String(),
  /** True when the attack used this encoder in no role (not attacked, not a surrogate, not its acceptance test). */
  transfer: Type.Boolean(),
  /** The encoder's role in the attack (absent in older reports, where `transfer` meant "not the attacked one"). */
  role: Type.Optional(ScoringRoleSchema),
  probes: Count,
  /** Probes whose image could not be embedded (no face…): failed attacks in every rate. */
  failed: Count,
  /** Failed probes by reason, e.g. { "no-face": 3 }. */
  failures: Type.Record(Type.String(), Count),
  typeI: Type.Array(RateSchema),
  typeII: TypeIISchema,
  /** Nearest real test image (source excluded) is of the same person; over probes that have another image. */
  rank1: RateSchema,
  /** Probes left out of rank-1: their identity has no other test image, so they cannot succeed. */
  rank1Excluded: Count,
  /** Mean cosine to the source template over embedded probes; null when none was embedded. */
  meanCosine: Type.Union([Type.Number(), Type.Null()]),
  /** Identity-bootstrap intervals with thresholds recomputed per resample (absent in older reports). */
  bootstrap: Type.Optional(RowBootstrapSchema),
}, { additionalProperties: false });
export type ScoreRow = Static<typeof ScoreRowSchema>;

const Cosine = Type.Union([Type.Number(), Type.Null()]);
const Scored = Type.Object({
  cosine: Cosine,
  failure: Type.Optional(Type.String()),
}, { additionalProperties: false });

/** One target: the attacked encoder's scores of the attack and the nearest-face baseline, per protocol. */
export const ReportItemSchema = Type.Object({
  id: Type.String(),
  identity: Type.String(),
  source: Type.String(),
  /** PNG of the reconstruction, relative to the run's reconstructions folder. */
  image: Type.String(),
  attack: Type.Object({ direct: Scored, redetect: Scored, independent: Type.Optional(Scored) }, { additionalProperties: false }),
  nearestFace: Type.Object({ rel: Type.String(), direct: Scored, redetect: Scored }, { additionalProperties: false }),
  /** Strictest operating point at which the attack passes type I under `redetect` (null: none). */
  passesAt: Type.Union([Type.Number(), Type.Null()]),
  /** The attack's own cosine to the target (white box, query search), before the evaluation pipeline. */
  optimiserCosine: Type.Optional(Type.Number()),
  /** Encoder queries the attack spent on this target (black-box search). */
  queries: Type.Optional(Count),
}, { additionalProperties: false });
export type ReportItem = Static<typeof ReportItemSchema>;

/** One histogram of cosines: counts per bin of the distribution's grid (no raw scores). */
export const HistogramSchema = Type.Object({
  /** `genuine`, `impostor`, or `<subject>/<protocol>` (e.g. `attack/redetect`, `nearest-face/direct`). */
  key: Type.String(),
  label: Type.String(),
  /** Scores counted. */
  total: Count,
  /** Items with no score (a reconstruction with no detectable face…): not in the counts. */
  missing: Count,
  counts: Type.Array(Count),
}, { additionalProperties: false });
export type Histogram = Static<typeof HistogramSchema>;

/**
 * The picture biometric engineers read first: genuine and impostor cosines of real photos under one encoder,
 * the reconstructions' (and the baselines') cosines to their own templates, and the thresholds. Bin k holds
 * scores in [start + k·width, start + (k+1)·width); scores outside the grid go to the first or last bin.
 */
export const ScoreDistributionSchema = Type.Object({
  encoderId: Type.String(),
  /** Where the genuine and impostor pairs come from, in words. */
  pairsFrom: Type.String(),
  start: Type.Number(),
  width: Type.Number({ exclusiveMinimum: 0 }),
  histograms: Type.Array(HistogramSchema),
  thresholds: Type.Array(Type.Object({ fmr: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }), threshold: Type.Number(), lowSupport: Type.Boolean() }, { additionalProperties: false })),
}, { additionalProperties: false });
export type ScoreDistribution = Static<typeof ScoreDistributionSchema>;

/** Which model played which part in the attack, and which scoring encoders were therefore not transfer. */
export const EncoderRolesReportSchema = Type.Object({
  attacked: Type.String(),
  surrogates: Type.Array(Type.String()),
  acceptanceDetector: Type.Optional(Type.String()),
  /** Scoring encoders the attack used in no role: the only transfer columns. */
  transfer: Type.Array(Type.String()),
  /** Why a scoring encoder is not transfer, in words. */
  notes: Type.Array(Type.String()),
}, { additionalProperties: false });
export type EncoderRolesReport = Static<typeof EncoderRolesReportSchema>;

/** How a protocol brought faces to the encoders: its detector family and canvas, and whether the attack used that detector. */
export const ProtocolInfoSchema = Type.Object({
  protocol: Type.Union(PROTOCOLS.map((p) => Type.Literal(p))),
  /** Detector family id (daemon/evaluation/roles.ts), or null for `direct` (no detector). */
  detector: Type.Union([Type.String(), Type.Null()]),
  /** Canvas side as a multiple of the crop's side, and its fill. */
  canvas: Type.Optional(Type.Object({ factor: Type.Number({ exclusiveMinimum: 0 }), fill: Type.String() }, { additionalProperties: false })),
  /** True when the attack used this detector in some role (then the protocol is not independent of it). */
  usedByAttack: Type.Boolean(),
  /** Faces the detector did not find, per subject (each fails all its pairs). */
  notFound: Type.Record(Type.String(), Count),
  /** Why this protocol has no rows in this report (e.g. the run's time budget), and how to get them. */
  notScored: Type.Optional(Type.String()),
}, { additionalProperties: false });
export type ProtocolInfo = Static<typeof ProtocolInfoSchema>;

/** Fréchet distance between one subject's images and the real crops, in one encoder's feature space. */
export const RealismSchema = Type.Object({
  /** The encoder whose embeddings are compared, and why it was chosen. */
  encoderId: Type.String(),
  dim: Count,
  why: Type.String(),
  /** Protocol through which the images reached the encoder. */
  protocol: Type.Union(PROTOCOLS.map((p) => Type.Literal(p))),
  /** Ledoit–Wolf shrinkage intensity of each covariance, as used. */
  shrinkage: Type.String(),
  resamples: Count,
  rows: Type.Array(Type.Object({
    subject: Type.Union(SUBJECTS.map((x) => Type.Literal(x))),
    /** Images compared (distinct embeddings). */
    samples: Count,
    frechet: Type.Number({ minimum: 0 }),
    /** ±1.96 identity-bootstrap standard errors around `frechet` (floored at 0); null when too few samples. */
    ci: Type.Union([Type.Tuple([Type.Number(), Type.Number()]), Type.Null()]),
  }, { additionalProperties: false })),
}, { additionalProperties: false });
export type Realism = Static<typeof RealismSchema>;

export const EvaluationReportSchema = Type.Object({
  version: Type.Literal(REPORT_VERSION),
  createdAt: Type.String(),
  run: Type.String(),
  attackedEncoderId: Type.String(),
  route: Type.Union([Type.Literal('blackbox'), Type.Literal('whitebox')]),
  /** What the attack was, in words (generator, start, search), from the run. */
  method: Type.String(),
  /** Frame the reconstructions are in. */
  frame: Type.Object({ template: Type.String(), size: Type.Integer({ minimum: 8 }) }, { additionalProperties: false }),
  probes: Count,
  identities: Count,
  /** Probe identities with a single test image: no type II pairs, left out of rank-1. */
  singleImageIdentities: Count,
  operatingPoints: Type.Array(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 })),
  thresholds: Type.Array(EncoderThresholdsSchema),
  rows: Type.Array(ScoreRowSchema),
  /** Pixel similarity of the attack's reconstructions to the aligned sources (null when none had a source crop). */
  imageQuality: Type.Object({
    ssim: Type.Union([Type.Number(), Type.Null()]), psnr: Type.Union([Type.Number(), Type.Null()]), compared: Count,
    /**
     * The same figures for images that reconstruct nothing, against the same originals: the mean training face, the
     * nearest training face, and another held-out photo of the same person (targets whose identity has one). SSIM
     * rewards a smooth average over a real face of the right person (issue 26): these rows say what a figure means.
     */
    references: Type.Optional(Type.Array(Type.Object({
      subject: Type.Union([Type.Literal('mean-face'), Type.Literal('nearest-face'), Type.Literal('same-person')]),
      ssim: Type.Union([Type.Number(), Type.Null()]), psnr: Type.Union([Type.Number(), Type.Null()]), compared: Count,
    }, { additionalProperties: false }))),
  }, { additionalProperties: false }),
  /** The optimiser's own mean cosine (white box, query search), labelled as such; not an evaluation figure. */
  optimiserMeanCosine: Type.Optional(Type.Number()),
  /** Mean encoder queries per target the attack spent (black-box search); 0 for a decoder alone. */
  queriesPerTarget: Type.Optional(Type.Number({ minimum: 0 })),
  /** Wall time of the attack (training, search), seconds. */
  attackSeconds: Type.Optional(Type.Number({ minimum: 0 })),
  items: Type.Array(ReportItemSchema),
  /** Score distribution under the attacked encoder (histograms); absent in reports of older versions. */
  distribution: Type.Optional(ScoreDistributionSchema),
  /** Which encoder played which role in the attack (absent in older reports). */
  encoderRoles: Type.Optional(EncoderRolesReportSchema),
  /** Per protocol: detector, canvas, faces not found (absent in older reports). */
  protocols: Type.Optional(Type.Array(ProtocolInfoSchema)),
  /** The identity bootstrap behind every row's `bootstrap` intervals. */
  bootstrap: Type.Optional(Type.Object({ resamples: Count, seed: Count, identities: Count, unit: Type.Literal('identity') }, { additionalProperties: false })),
  /** Realism: Fréchet distances in a transfer encoder's feature space (absent in older reports). */
  realism: Type.Optional(RealismSchema),
}, { additionalProperties: false, $id: 'report.schema.json', title: 'Face Inversion Lab evaluation report' });
export type EvaluationReport = Static<typeof EvaluationReportSchema>;

/** The row of `subject`/`protocol`/`encoderId`, if the report has it. */
export function findRow(r: Pick<EvaluationReport, 'rows'>, subject: Subject, protocol: Protocol, encoderId: string): ScoreRow | undefined {
  return r.rows.find((x) => x.subject === subject && x.protocol === protocol && x.encoderId === encoderId);
}

/** Index of an operating point in `operatingPoints` (tolerant to float formatting), −1 when absent. */
export function pointIndex(r: Pick<EvaluationReport, 'operatingPoints'>, fmr: number): number {
  return r.operatingPoints.findIndex((p) => Math.abs(p - fmr) <= fmr * 1e-9);
}

/**
 * A report's few headline figures (the run history's comparison): redetect, type I @1e-4, type II @1e-3 (per
 * pair, and per identity: the headline), transfer @1e-3 and @1e-4 (an encoder the attack never used).
 */
export function runHeadline(r: EvaluationReport): { method: string; queriesPerTarget?: number; probes: number; typeI1e4: number | null; typeII1e3: number | null; typeIIPerIdentity1e3?: number | null; transfer?: { encoderId: string; typeI1e3: number | null; typeI1e4?: number | null }; nearestFace1e4: number | null } {
  const k4 = pointIndex(r, 1e-4), k3 = pointIndex(r, 1e-3);
  const attack = findRow(r, 'attack', 'redetect', r.attackedEncoderId);
  const nearest = findRow(r, 'nearest-face', 'redetect', r.attackedEncoderId);
  const t = r.rows.find((x) => x.subject === 'attack' && x.protocol === 'redetect' && x.transfer);
  const rate = (a: Rate[] | undefined, k: number) => (a && k >= 0 ? a[k]?.rate ?? null : null);
  return {
    method: r.method, probes: r.probes,
    ...(r.queriesPerTarget !== undefined ? { queriesPerTarget: r.queriesPerTarget } : {}),
    typeI1e4: rate(attack?.typeI, k4), typeII1e3: rate(attack?.typeII.perPair, k3),
    typeIIPerIdentity1e3: attack && k3 >= 0 ? attack.typeII.perIdentity[k3] ?? null : null,
    ...(t ? { transfer: { encoderId: t.encoderId, typeI1e3: rate(t.typeI, k3), typeI1e4: rate(t.typeI, k4) } } : {}),
    nearestFace1e4: rate(nearest?.typeI, k4),
  };
}
