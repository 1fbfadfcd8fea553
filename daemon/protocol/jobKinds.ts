/**
 * Every job kind as one declaration, both ways typed (cf. rust-analyzer's lsp_ext.ts): its name, the schema
 * of its params (what the daemon validates before queueing) and the schema of its result (what the CLI and
 * the extension read back). The daemon attaches the function that runs each kind (daemon/jobs/kinds/*);
 * the CLI and the extension send `ParamsOf<K>` and read `resultOf(K, value)` without casting.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { SearchMethodSchema } from './runConfig';

export interface JobKindSpec<P extends TSchema = TSchema, R extends TSchema = TSchema> {
  readonly name: string;
  readonly params: P;
  readonly result: R;
}

export function defineJobKind<P extends TSchema, R extends TSchema>(name: string, params: P, result: R): JobKindSpec<P, R> {
  return { name, params, result };
}

export type ParamsOf<K extends JobKindSpec> = Static<K['params']>;
export type ResultOf<K extends JobKindSpec> = Static<K['result']>;

/** A job to submit: its kind's name, params of that kind, and a label for lists. */
export interface JobSubmission<K extends JobKindSpec = JobKindSpec> {
  kind: K['name'];
  params: ParamsOf<K>;
  label: string;
}

export function submission<K extends JobKindSpec>(kind: K, params: ParamsOf<K>, label: string): JobSubmission<K> {
  return { kind: kind.name, params, label };
}

/** Whether `value` is a valid params object of `kind`. */
export function isParamsOf<K extends JobKindSpec>(kind: K, value: unknown): value is ParamsOf<K> {
  return Value.Check(kind.params, value);
}

/** A job's result as its kind's type, or undefined when it is not one (a failed job, another daemon version). */
export function resultOf<K extends JobKindSpec>(kind: K, value: unknown): ResultOf<K> | undefined {
  return Value.Check(kind.result, value) ? value : undefined;
}

/**
 * The result of a kind's own runner in this process (`faceinv` runs jobs in process): typed by the kind's
 * definition, which ties the runner's return type to the result schema (daemon/jobs/defineJobKind.ts), so it
 * is not re-checked (a NaN loss is a number here, and no JSON null yet).
 */
export function ownResult<K extends JobKindSpec>(_kind: K, value: unknown): ResultOf<K> {
  return value as ResultOf<K>;
}

const PathParam = Type.String({ minLength: 1, maxLength: 4096 });
const EncoderId = Type.String({ minLength: 1, maxLength: 100 });
const RouteParam = Type.Union([Type.Literal('auto'), Type.Literal('whitebox'), Type.Literal('blackbox')]);

/** The evaluation in a job's result: per subject, protocol and encoder, the success rates at each operating point. */
export const EvaluationSummarySchema = Type.Object({
  probes: Type.Number(),
  operatingPoints: Type.Array(Type.Number()),
  rows: Type.Array(Type.Object({
    subject: Type.String(), protocol: Type.String(), encoderId: Type.String(),
    typeI: Type.Array(Type.Union([Type.Number(), Type.Null()])), typeII: Type.Array(Type.Union([Type.Number(), Type.Null()])),
  })),
});
export type EvaluationSummary = Static<typeof EvaluationSummarySchema>;

export const ProbeJob = defineJobKind('probe', Type.Object({
  steps: Type.Integer({ minimum: 1, maximum: 100000 }),
  size: Type.Optional(Type.Integer({ minimum: 1, maximum: 2048 })),
  /** Fail deliberately at this step (fault-injection tests). */
  failAtStep: Type.Optional(Type.Integer({ minimum: 0 })),
}, { additionalProperties: false }), Type.Object({ steps: Type.Integer(), checksum: Type.Number() }));

export const TrainJob = defineJobKind('train', Type.Object({
  config: Type.String({ minLength: 1, maxLength: 4096, description: 'Run config file, relative to the workspace.' }),
  overwrite: Type.Optional(Type.Boolean()),
}, { additionalProperties: false }), Type.Object({
  runDir: Type.String(), modelDir: Type.String(), steps: Type.Number(), epochs: Type.Number(), trainSeconds: Type.Number(),
  // NaN before a first step (null once sent as JSON).
  trainLoss: Type.Union([Type.Number(), Type.Null()]), testLoss: Type.Union([Type.Number(), Type.Null()]), stoppedEarly: Type.Boolean(),
}));

export const EvaluateJob = defineJobKind('evaluate', Type.Object({
  runDir: PathParam,
  evalEncoders: Type.Optional(Type.Array(EncoderId, { maxItems: 16 })),
  maxImages: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
}, { additionalProperties: false }), EvaluationSummarySchema);

export const RunJob = defineJobKind('run', Type.Object({
  config: PathParam,
  overwrite: Type.Optional(Type.Boolean()),
  evaluate: Type.Optional(Type.Boolean()),
  /** Another dataset folder than the config's (relative to the workspace). */
  dataset: Type.Optional(PathParam),
}, { additionalProperties: false }), Type.Object({
  runDir: Type.String(), route: Type.String(), reason: Type.String(), attackSeconds: Type.Number(), report: Type.Optional(EvaluationSummarySchema),
}));

export const InvertJob = defineJobKind('invert', Type.Object({
  encoder: EncoderId,
  embeddings: PathParam,
  route: Type.Optional(RouteParam),
  generator: Type.Optional(PathParam),
  steps: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
  out: Type.Optional(PathParam),
}, { additionalProperties: false }), Type.Object({
  route: Type.String(), reason: Type.String(), outDir: Type.String(), cosine: Type.Array(Type.Union([Type.Number(), Type.Null()])),
}));

const AuditFields = {
  config: Type.Optional(PathParam),
  name: Type.Optional(EncoderId),
  encoder: Type.Optional(EncoderId),
  templates: Type.Optional(PathParam),
  reference: Type.Optional(PathParam),
  referenceSplit: Type.Optional(Type.String({ maxLength: 40 })),
  route: Type.Optional(RouteParam),
  budget: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
  transfer: Type.Optional(Type.Array(Type.Object({ encoder: EncoderId, templates: PathParam }, { additionalProperties: false }), { maxItems: 8 })),
  out: Type.Optional(PathParam),
  search: Type.Optional(SearchMethodSchema),
  chunkSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
  onEncoderError: Type.Optional(Type.Union([Type.Literal('pause'), Type.Literal('continue')])),
  operatingPoints: Type.Optional(Type.Array(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }), { minItems: 1, maxItems: 8 })),
  keepImages: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000000 })),
  seed: Type.Optional(Type.Integer({ minimum: 0 })),
  /** A seeded random sample of this many templates, or "all" (daemon/audit/sample.ts). */
  sample: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Literal('all')])),
  margin: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 0.5 })),
  /** redis://HOST:PORT: the chunks go on a BullMQ queue for `faceinv worker`s (daemon/audit/queue.ts). */
  queue: Type.Optional(Type.String({ maxLength: 1000, pattern: '^rediss?://' })),
  overwrite: Type.Optional(Type.Boolean()),
  retryFailed: Type.Optional(Type.Boolean()),
  /** Stop after this many chunks in this session (trial runs, tests). */
  maxChunks: Type.Optional(Type.Integer({ minimum: 1 })),
  /** The command line that asked for the audit, for the report's "reproduce" section. */
  command: Type.Optional(Type.String({ maxLength: 4096 })),
  /** HTTP encoders' auth.secret values by name; held in memory for this job only. */
  secrets: Type.Optional(Type.Record(Type.String({ maxLength: 100 }), Type.String({ maxLength: 16384 }))),
};

// Either an audit config file or an encoder and its templates: a submission with neither is refused by its
// schema before it is queued.
export const AuditJob = defineJobKind('audit', Type.Union([
  Type.Object({ ...AuditFields, config: PathParam }, { additionalProperties: false }),
  Type.Object({ ...AuditFields, encoder: EncoderId, templates: PathParam }, { additionalProperties: false }),
]), Type.Object({
  state: Type.Union([Type.Literal('finished'), Type.Literal('paused'), Type.Literal('stopped')]),
  auditDir: Type.String(), report: Type.String(), json: Type.String(), csv: Type.String(),
  stopReason: Type.Optional(Type.String()), verdict: Type.Array(Type.String()),
}));

/** Template protection schemes evaluated from a protection config (daemon/protect/run.ts). */
export const ProtectJob = defineJobKind('protect', Type.Object({
  config: PathParam,
  /** The command line that asked for it, for the report's "reproduce" section. */
  command: Type.Optional(Type.String({ maxLength: 4096 })),
}, { additionalProperties: false }), Type.Object({
  dir: Type.String(), report: Type.String(), json: Type.String(), seconds: Type.Number(), verdicts: Type.Array(Type.String()),
}));

/** Every kind, by name (the daemon attaches a runner to each: daemon/jobs/registry.ts). */
export const JOB_KIND_SPECS = { probe: ProbeJob, train: TrainJob, evaluate: EvaluateJob, run: RunJob, invert: InvertJob, audit: AuditJob, protect: ProtectJob } as const;
