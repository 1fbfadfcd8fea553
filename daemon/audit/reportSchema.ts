/**
 * `audits/<name>/report.json` and the per-template records of the chunks: the one source of their
 * TypeScript types and JSON schemas (TypeBox), as daemon/protocol/report.ts is for an evaluation.
 *
 * Terms (ISO/IEC 30136; the evaluation's, daemon/protocol/report.ts): a template is *accepted* at an
 * operating point when the reconstruction's template under the audited encoder has a cosine to it strictly
 * above the threshold calibrated at that FMR on the reference set. Protocols: `direct` (the reconstruction,
 * already an aligned crop in the encoder's frame, goes straight in) and `redetect` (detected, given
 * landmarks and aligned as a real photo). The lookalike baseline is the reference photo whose template is
 * nearest to the target, scored the same way. A failure (no detectable face, an encoder error) is
 * `cosine: null` with its `failure`, and counts as not accepted.
 */
import { Static, Type } from '@sinclair/typebox';
import { RateSchema, ScoreDistributionSchema } from '../protocol/report';
import { OracleReportSchema } from './oracleCurve';

const Count = Type.Integer({ minimum: 0 });
const Scored = Type.Object({ cosine: Type.Union([Type.Number(), Type.Null()]), failure: Type.Optional(Type.String()) }, { additionalProperties: false });
export type Scored = Static<typeof Scored>;
const ByProtocol = Type.Object({ direct: Scored, redetect: Scored }, { additionalProperties: false });
export type ByProtocol = Static<typeof ByProtocol>;

/** A threshold (an operating point's, fmr; or a decision system's own, fmr null) and the oracle query that first passed it. */
const AcceptSchema = Type.Object({ fmr: Type.Union([Type.Number(), Type.Null()]), threshold: Type.Number(), queries: Type.Union([Count, Type.Null()]) }, { additionalProperties: false });

/**
 * decision-search with the walk: the face the attacker held after `queries` oracle queries (a curve checkpoint, from
 * the first accept on); score-search: the search's best face at that checkpoint (from the probes' count on);
 * score-least-squares: the template recovered from that many answers, inverted (the final face past them); scored as
 * the final face is — by the audited encoder against the enrolled template
 * (`attack`, type I), against the subject's other photo where the audit has one (`typeII`), and by each transfer
 * encoder against its template (`transfer`, config order; null where it has none).
 */
const HeldSchema = Type.Object({
  queries: Count, attack: ByProtocol, typeII: Type.Optional(ByProtocol), transfer: Type.Optional(Type.Array(Type.Union([ByProtocol, Type.Null()]))),
}, { additionalProperties: false });
export type Held = Static<typeof HeldSchema>;

/** One template of the store, as a chunk file records it. */
export const TemplateResultSchema = Type.Object({
  row: Count,
  id: Type.String(),
  /** A note on the row (e.g. "L2 norm 3.2: normalised before use"). */
  note: Type.Optional(Type.String()),
  /** Why the row was not audited (not finite, wrong dimension, all zeros). */
  skipped: Type.Optional(Type.String()),
  /** Why its inversion failed (an encoder error…); it counts as not accepted. */
  failure: Type.Optional(Type.String()),
  /** Encoder queries its search spent (black box). */
  queries: Type.Optional(Count),
  /** The optimiser's own best cosine (before the scoring pipeline; not a score). */
  optimiserCosine: Type.Optional(Type.Number()),
  /** The audited encoder's scores of the reconstruction. */
  attack: Type.Optional(ByProtocol),
  /** The nearest reference photo (the lookalike) and its scores. */
  nearest: Type.Optional(Type.Object({ rel: Type.String(), cosine: Type.Number(), direct: Scored, redetect: Scored }, { additionalProperties: false })),
  /** Per transfer encoder (config order): its scores, or null when it has no template for this row. */
  transfer: Type.Optional(Type.Array(Type.Union([Type.Object({ attack: ByProtocol, nearest: ByProtocol }, { additionalProperties: false }), Type.Null()]))),
  /**
   * Threat models with an oracle (issue 25): the attack, the oracle queries the subject cost, the recovered
   * template's cosine to the enrolled one (score-least-squares), the subject's oracle error; `accepts`: the query
   * at which the system first accepted it at each threshold (null: not within the budget); `mitigations`: the
   * same under each mitigation's re-run.
   */
  oracle: Type.Optional(Type.Object({
    attack: Type.String(), queries: Count, recoveredCosine: Type.Optional(Type.Number()), error: Type.Optional(Type.String()),
    accepts: Type.Optional(Type.Array(AcceptSchema)),
    mitigations: Type.Optional(Type.Array(Type.Object({ mitigation: Type.String(), attack: Type.String(), queries: Count, accepts: Type.Array(AcceptSchema), error: Type.Optional(Type.String()) }, { additionalProperties: false }))),
    held: Type.Optional(Type.Array(HeldSchema)),
    /** Whether the audit has another photo of the subject (type II of the held faces). */
    otherPhoto: Type.Optional(Type.Boolean()),
  }, { additionalProperties: false })),
  /** PNG of the reconstruction under images/, when kept. */
  image: Type.Optional(Type.String()),
}, { additionalProperties: false });
export type TemplateResult = Static<typeof TemplateResultSchema>;

export const AuditPointSchema = Type.Object({
  fmr: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }),
  threshold: Type.Number(),
  impostorsAbove: Count,
  attainable: Type.Boolean(),
  lowSupport: Type.Boolean(),
  /** Templates whose reconstruction is accepted (trials: audited templates, failures included). */
  attack: RateSchema,
  /** Templates whose lookalike is accepted. */
  baseline: RateSchema,
  sentence: Type.String(),
  class: Type.Union([Type.Literal('leaks'), Type.Literal('like-lookalike'), Type.Literal('resists'), Type.Literal('unmeasured')]),
}, { additionalProperties: false });
export type AuditPoint = Static<typeof AuditPointSchema>;

export const AuditVerdictSchema = Type.Object({
  encoderId: Type.String(),
  transfer: Type.Boolean(),
  protocol: Type.Union([Type.Literal('direct'), Type.Literal('redetect')]),
  /** Templates that count (audited; for transfer: those the second system has a template for). */
  templates: Count,
  points: Type.Array(AuditPointSchema),
  meanCosine: Type.Union([Type.Number(), Type.Null()]),
  baselineMeanCosine: Type.Union([Type.Number(), Type.Null()]),
  failures: Type.Record(Type.String(), Count),
}, { additionalProperties: false });
export type AuditVerdict = Static<typeof AuditVerdictSchema>;

export const CalibrationSummarySchema = Type.Object({
  encoderId: Type.String(),
  encoderHash: Type.String(),
  images: Count,
  identities: Count,
  genuinePairs: Count,
  impostorPairs: Count,
  cached: Type.Boolean(),
  seconds: Type.Number({ minimum: 0 }),
}, { additionalProperties: false });

export const GridItemSchema = Type.Object({
  row: Count,
  id: Type.String(),
  image: Type.String(),
  nearestRel: Type.Optional(Type.String()),
  attack: ByProtocol,
  nearest: Type.Optional(ByProtocol),
  /** Strictest attainable operating point at which the reconstruction is accepted (redetect), or null. */
  passesAt: Type.Union([Type.Number(), Type.Null()]),
}, { additionalProperties: false });

export const AuditReportSchema = Type.Object({
  format: Type.Literal('faceinv-audit-report'),
  version: Type.Literal(1),
  createdAt: Type.String(),
  name: Type.String(),
  /** finished: every chunk scored; partial: a paused or interrupted audit, figures over the chunks done. */
  state: Type.Union([Type.Literal('finished'), Type.Literal('partial')]),
  encoder: Type.Object({ id: Type.String(), format: Type.String(), hash: Type.String(), embeddingDim: Count, description: Type.String(), source: Type.String() }, { additionalProperties: false }),
  route: Type.Object({ chosen: Type.Union([Type.Literal('blackbox'), Type.Literal('whitebox')]), requested: Type.String(), reason: Type.String() }, { additionalProperties: false }),
  /** The attack in words (face model, start, search, budget). */
  method: Type.String(),
  templates: Type.Object({
    file: Type.String(), sha256: Type.String(), format: Type.String(), rows: Count,
    /** Rows audited (usable and in a finished chunk). */
    audited: Count,
    skipped: Type.Record(Type.String(), Count),
    unnormalised: Count,
    failed: Count,
    failures: Type.Record(Type.String(), Count),
  }, { additionalProperties: false }),
  reference: Type.Object({ description: Type.String(), key: Type.String(), images: Count, identities: Count, failed: Count }, { additionalProperties: false }),
  operatingPoints: Type.Array(Type.Number()),
  /** Points the reference set is too small for (n < 1/FMR impostor pairs), per encoder. */
  unattainable: Type.Array(Type.Object({ encoderId: Type.String(), fmr: Type.Number(), impostorPairs: Count, needed: Count }, { additionalProperties: false })),
  calibration: Type.Array(CalibrationSummarySchema),
  /** The attacked encoder's verdicts first (redetect, then direct), then each transfer encoder's. */
  verdicts: Type.Array(AuditVerdictSchema),
  distribution: ScoreDistributionSchema,
  transferDistributions: Type.Array(ScoreDistributionSchema),
  cost: Type.Object({
    queriesPerTemplate: Type.Union([Type.Number(), Type.Null()]),
    maxQueriesPerTemplate: Type.Union([Type.Number(), Type.Null()]),
    budget: Type.Union([Type.Integer(), Type.Null()]),
    stepsPerTemplate: Type.Union([Type.Integer(), Type.Null()]),
    scoringQueries: Count,
    /** Seconds of attack and scoring, over every session. */
    workSeconds: Type.Number({ minimum: 0 }),
    /** Wall time of the session that wrote this report. */
    sessionSeconds: Type.Number({ minimum: 0 }),
    http: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  }, { additionalProperties: false }),
  chunks: Type.Object({ size: Count, total: Count, done: Count }, { additionalProperties: false }),
  /** A sampled audit (daemon/audit/sample.ts): n of the store's rows, seeded; the templates needed for ±margin at 95 %. */
  sample: Type.Optional(Type.Object({
    n: Count, of: Count, seed: Type.Integer(), reason: Type.Union([Type.Literal('asked'), Type.Literal('default')]),
    margin: Type.Number(),
    /** Templates for a 95 % interval of ±margin: at the worst case p = 0.5, and at the observed headline rate. */
    needed: Type.Object({ worstCase: Count, atObservedRate: Type.Union([Count, Type.Null()]) }, { additionalProperties: false }),
    sentence: Type.String(),
  }, { additionalProperties: false })),
  /** Who inverted the chunks: one entry per process ("this process" for a single-process audit; queue workers by name). */
  workers: Type.Optional(Type.Array(Type.Object({ name: Type.String(), chunks: Count, templates: Count, seconds: Type.Number({ minimum: 0 }) }, { additionalProperties: false }))),
  /** An oracle threat model (issue 25, item 6): success against queries per threshold beside the lookalike, and the mitigations measured. */
  oracle: Type.Optional(OracleReportSchema),
  grid: Type.Array(GridItemSchema),
  /** What reproduces the audit: the resolved config, seeds, hashes and versions. */
  reproduce: Type.Object({
    config: Type.Unknown(),
    command: Type.String(),
    seed: Type.Integer(),
    faceModel: Type.String(),
    versions: Type.Record(Type.String(), Type.String()),
    engine: Type.String(),
  }, { additionalProperties: false }),
  notes: Type.Array(Type.String()),
}, { additionalProperties: false, $id: 'audit-report.schema.json', title: 'Face Inversion Lab audit report' });
export type AuditReport = Static<typeof AuditReportSchema>;
