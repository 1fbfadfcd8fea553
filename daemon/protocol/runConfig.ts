/**
 * Run config: one attack experiment — which encoder, which dataset and split, which route, the decoder and
 * its training, the white-box search, and how to evaluate. The TypeScript type and
 * `models/schemas/run.schema.json` both come from `RunConfigSchema` (TypeBox); `faceinv schemas --check`
 * and `test/unit/config/schemas.test.ts` fail when the written schema is stale.
 *
 * Defaults follow the seed's best group (group 3: L1 loss, input noise variance 0.001, one residual layer,
 * average-face targets, 128×128 output).
 */
import { Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { assertConfig, Problem, withDefaults } from './validate';
import { isPlainObject } from './json';

export const IdentityTermSchema = Type.Object({
  surrogate: Type.String({
    minLength: 1,
    description: 'Id of a differentiable surrogate encoder (never the attacked one: a black-box attacker has no gradients of it), e.g. "faceapi-resnet128".',
  }),
  weight: Type.Number({ minimum: 0, description: 'Weight of the identity term mean(1 − cos(…)) in the training loss.' }),
  target: Type.Union([Type.Literal('photo'), Type.Literal('template')], {
    default: 'photo',
    description: '"photo": match the surrogate\'s embedding of the target photo, cos(F(decoded), F(photo)); "template": match the attacked template itself through a linear head from the surrogate\'s embedding to the attacked encoder\'s template space, fitted in closed form on the attacker\'s own (photo, template) pairs, cos(H·F(decoded), template).',
  }),
}, { additionalProperties: false });

export const DecoderConfigSchema = Type.Object({
  outputSize: Type.Union([Type.Literal(64), Type.Literal(112), Type.Literal(128)], {
    default: 128,
    description: 'Side of the reconstructed face, an arcface-5pt crop: 128 (the seed), 112 (ArcFace\'s own aligned frame and size: 7×7 start, four doublings, fewer FLOPs than 128) or 64 (quick runs).',
  }),
  baseChannels: Type.Optional(Type.Integer({ minimum: 16, maximum: 1024, multipleOf: 16, description: 'Channels of the first feature map (default 512 at 64/128 px, 256 at 112 px); every block halves them.' })),
  linearBase: Type.Boolean({
    default: false,
    description: 'Residual on the linear inverse: the output is a fixed ridge regression from template to pixels (fitted in closed form on the training pairs) plus a learned correction that starts at zero.',
  }),
  ssimWeight: Type.Number({ minimum: 0, default: 0, description: 'Weight of the 1 − SSIM term added to the pixel loss (Shahreza et al.: 0.75).' }),
  identity: Type.Optional(IdentityTermSchema),
  residualLayers: Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2)], { default: 1, description: 'Layers in the residual unit between every two transposed-conv blocks (0 = none).' }),
  noiseVariance: Type.Number({ minimum: 0, maximum: 1, default: 0.001, description: 'Variance of the Gaussian noise added to input embeddings in training.' }),
  loss: Type.Union([Type.Literal('l1'), Type.Literal('l2'), Type.Literal('l1+l2')], { default: 'l1', description: 'Pixel loss between reconstruction and target.' }),
}, { additionalProperties: false, default: {} });

export const AugmentationSchema = Type.Object({
  flip: Type.Boolean({ default: true, description: 'Also train on mirrored faces, with the encoder queried on the mirrored crop.' }),
}, { additionalProperties: false, default: {} });

export const TrainingConfigSchema = Type.Object({
  epochs: Type.Integer({ minimum: 1, maximum: 100000, default: 20 }),
  batchSize: Type.Integer({ minimum: 1, maximum: 1024, default: 32 }),
  learningRate: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.0005 }),
  /** Steps between checkpoints (atomic writes; `faceinv train` resumes from the last one). */
  checkpointEvery: Type.Integer({ minimum: 1, default: 200 }),
  /** Stop after this many minutes of training (checkpointed, the model saved): a time budget for quick runs. */
  maxMinutes: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  /** Steps between held-out (test identities) loss evaluations written to metrics.jsonl. */
  evalEvery: Type.Integer({ minimum: 1, default: 200 }),
  lrSchedule: Type.Union([Type.Literal('constant'), Type.Literal('cosine'), Type.Literal('step')], {
    default: 'constant',
    description: 'Learning rate over the budget (epochs or minutes, whichever runs out first): constant; cosine decay to 1 % of learningRate; or step decay (×0.1 at half the budget, ×0.01 at three quarters).',
  }),
  seed: Type.Integer({ minimum: 0, default: 0 }),
  augmentation: AugmentationSchema,
  /**
   * Compute engine for training, the white-box search and decoding: 'auto' = ONNX Runtime where it covers the
   * model, else TF.js with a warning; 'onnxruntime' = ONNX Runtime or an error; 'tfjs' = the TF.js reference.
   */
  engine: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('onnxruntime'), Type.Literal('tfjs')], {
    default: 'auto',
    description: "Compute engine: 'auto' (ONNX Runtime where it covers the model, else TF.js), 'onnxruntime', or 'tfjs' (the reference).",
  })),
}, { additionalProperties: false, default: {} });

export const DatasetConfigSchema = Type.Object({
  /** Folder-per-identity dataset root or the folder holding `lfw-deepfunneled/`; "lfw" = the default LFW location. */
  path: Type.String({ minLength: 1, default: 'lfw' }),
  /** Keep at most this many identities (sorted, seeded choice) — for quick runs. */
  maxIdentities: Type.Optional(Type.Integer({ minimum: 2 })),
}, { additionalProperties: false, default: {} });

export const SplitConfigSchema = Type.Object({
  seed: Type.Integer({ minimum: 0, default: 0 }),
  testFraction: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.2 }),
  /**
   * Share of the *training* identities held out as a validation split (never trained on), on which model
   * selection (ablations, settings) ranks; the test identities stay the same whatever its value.
   */
  validationFraction: Type.Number({ minimum: 0, exclusiveMaximum: 1, default: 0, description: 'Share of the training identities held out for validation (model selection never looks at the test identities).' }),
}, { additionalProperties: false, default: {} });

export const WhiteboxConfigSchema = Type.Object({
  steps: Type.Integer({ minimum: 1, maximum: 100000, default: 200, description: 'Gradient steps per target (white box).' }),
  learningRate: Type.Number({ exclusiveMinimum: 0, default: 0.01, description: 'Adam step size in latent units (pca: standard deviations of the training faces; decoder: template space).' }),
  init: Type.Union([Type.Literal('normal'), Type.Literal('zeros'), Type.Literal('estimate')], { default: 'estimate', description: 'estimate = start from the `start` estimate.' }),
  priorWeight: Type.Number({ minimum: 0, default: 0 }),
  batchSize: Type.Integer({ minimum: 1, maximum: 256, default: 16 }),
  restarts: Type.Integer({ minimum: 1, maximum: 32, default: 1, description: 'Searches per target, the first from the start, the others from the start plus Gaussian noise; the answer is chosen by `select`.' }),
  restartSigma: Type.Number({ exclusiveMinimum: 0, default: 0.5, description: 'Noise of the restarts\' starting points, in latent standard deviations.' }),
  select: Type.Union([Type.Literal('detected'), Type.Literal('cosine')], {
    default: 'detected',
    description: '"detected": the highest cosine among the restarts the face detector finds (the highest overall when it finds none); "cosine": the highest cosine.',
  }),
}, { additionalProperties: false, default: {} });

export const FaceFinishSchema = Type.Object({
  contrast: Type.Boolean({
    default: false,
    description: 'pca: each final face gets the colour contrast (per-channel spread) of the attacker photos nearest it in the face model: a point the search reaches is a shrunken, low-contrast mean that other detectors miss. Chosen on the validation split (docs/search.md).',
  }),
  detail: Type.Number({ minimum: 0, maximum: 1, default: 0, description: 'pca: strength of the detail borrowed patch by patch from those photos (face hallucination, Liu, Shum & Freeman 2007); 0 = none.' }),
  neighbours: Type.Integer({ minimum: 1, maximum: 256, default: 32, description: 'pca: how many attacker photos nearest each face (in the face model) its contrast and detail come from.' }),
}, { additionalProperties: false, default: {}, description: 'pca: what the final faces (not the queries) get from the attacker\'s nearest photos.' });

export const FaceModelConfigSchema = Type.Object({
  kind: Type.Union([Type.Literal('decoder'), Type.Literal('pca')], {
    default: 'decoder',
    description: 'The generator both routes search in: "pca" = a linear face model built in seconds from the attacker\'s training faces in the attacked encoder\'s frame; "decoder" = the seed\'s DCGAN-style decoder (trained by this run from `decoder`/`training`, or taken from `run`).',
  }),
  components: Type.Integer({ minimum: 2, maximum: 4096, default: 512, description: 'pca: number of principal components (latent dimension).' }),
  clamp: Type.Number({ exclusiveMinimum: 0, default: 3, description: 'pca: latents are clamped to ±clamp standard deviations of the training faces.' }),
  finish: FaceFinishSchema,
  size: Type.Optional(Type.Integer({
    minimum: 32, maximum: 512,
    description: 'pca: side in pixels of the face model\'s crops, in the attacked encoder\'s alignment template (default: the encoder\'s own side); queries are resized to the encoder\'s input. A smaller side keeps the model (components × side² × 3 values, and its randomized SVD\'s sketches) within the engine\'s heap for encoders with large crops (human-faceres: 224 px).',
  })),
  run: Type.Optional(Type.String({ minLength: 1, description: 'decoder: a finished black-box run folder whose decoder to use instead of training one (relative to the workspace).' })),
}, { additionalProperties: false, default: {} });

/** Black-box search methods, one list for run configs, audit configs, job params and the CLI. */
export const SEARCH_METHODS = ['none', 'zeroth-order', 'genetic', 'secant'] as const;
export type SearchMethod = typeof SEARCH_METHODS[number];
export const SearchMethodSchema = Type.Union(SEARCH_METHODS.map((m) => Type.Literal(m)));

/** The secant search's first trust radius and window when a config names none (chosen on the validation split, docs/search.md). */
export const SECANT_SETTINGS = { radius: 1, window: 32 } as const;

/** search.secant: the secant search's trust radius, memory and forward model (daemon/attack/search/secant.ts). */
export const SearchSecantSchema = Type.Object({
  radius: Type.Number({ exclusiveMinimum: 0, maximum: 100, default: SECANT_SETTINGS.radius, description: 'First trust radius: the norm of a step in latent standard deviations (it grows after a step that raised the cosine, shrinks after one that did not).' }),
  window: Type.Integer({ minimum: 1, maximum: 256, default: SECANT_SETTINGS.window, description: 'Recent (step, template change) pairs per target that correct the forward model.' }),
  draws: Type.Optional(Type.Integer({ minimum: 4, maximum: 1000000, description: "The attacker's own queries its forward model is fitted on (latents drawn from the face model's prior; default 4 × components; at least 2 × components). Counted apart from the targets' budgets." })),
}, { additionalProperties: false, description: 'secant: reads the whole template each query answers (an embedding oracle only).' });

/** search.surrogate: the encoder that guides the zeroth-order search (its own constant: `faceinv tune` fills its defaults). */
export const SearchSurrogateSchema = Type.Object({
  encoder: Type.String({ minLength: 1, description: 'An encoder the attacker owns and the engine can differentiate (never the attacked one, nor its model under another id).' }),
  weight: Type.Number({ minimum: 0, maximum: 100, default: 0.5, description: "Weight of the surrogate's cosine (to the mapped template) beside the attacked encoder's in each zeroth-order step (the secant search uses the surrogate for its warm-up only)." }),
  warmupSteps: Type.Integer({ minimum: 0, maximum: 10000, default: 10, description: 'Gradient steps on the surrogate alone before the first query (no queries); on the validation split 10 reach what 30 do.' }),
  warmupLearningRate: Type.Number({ exclusiveMinimum: 0, maximum: 10, default: 0.05, description: 'Adam step size of the warm-up, in latent standard deviations.' }),
  fitPhotos: Type.Integer({ minimum: 100, maximum: 1000000, default: 3000, description: "Attacker's photos the template map is fitted on (seeded subset; the surrogate embeds each once, cached)." }),
  map: Type.Union([Type.Literal('ridge'), Type.Literal('kernel')], {
    default: 'ridge',
    description: 'The map from attacked templates into the surrogate\'s space: "ridge" (linear, Shahreza et al. 2024), or "kernel" (that map plus Nyström kernel ridge on its residuals; docs/search.md has both measured on the validation split).',
  }),
  mapLambda: Type.Number({ minimum: 0, maximum: 1000, default: 0.1, description: 'Ridge penalty of the template map (of its linear part for map "kernel"); docs/search.md measures it on the validation split.' }),
}, {
  additionalProperties: false,
  description: "zeroth-order: a surrogate encoder's gradients guide the search (its first probe pair runs along them, and its cosine to the attacked template mapped into its space joins the objective); they cost no query and are reported apart.",
});

export const SearchConfigSchema = Type.Object({
  method: Type.Union(SEARCH_METHODS.map((m) => Type.Literal(m)), {
    default: 'none',
    description: 'Black-box search per target with encoder queries only: "zeroth-order" (antithetic Gaussian directions + Adam, Park et al. ICIP 2023), "genetic" (Dong et al. 2021/2023), "secant" (Gauss–Newton on every answered template, the Jacobian a forward model corrected by each query: an embedding oracle only); "none" = the start alone.',
  }),
  queries: Type.Integer({ minimum: 1, maximum: 1000000, default: 200, description: 'Encoder queries per target (the budget a real black-box attacker pays), start included.' }),
  directions: Type.Integer({ minimum: 1, maximum: 64, default: 2, description: 'zeroth-order: antithetic direction pairs per step (2 → 4 + 1 queries a step).' }),
  sigma: Type.Number({ exclusiveMinimum: 0, default: 0.5, description: 'Probe radius (zeroth-order) or mutation scale (genetic), in latent standard deviations.' }),
  learningRate: Type.Number({ exclusiveMinimum: 0, default: 0.1, description: 'zeroth-order: Adam step size, in latent standard deviations.' }),
  population: Type.Integer({ minimum: 4, maximum: 1024, default: 24, description: 'genetic: population size.' }),
  detectorCheck: Type.Boolean({ default: true, description: 'Keep only results the face detector still finds (acceptance test on the best-so-far).' }),
  batchTargets: Type.Integer({ minimum: 1, maximum: 4096, default: 64, description: 'Targets searched together (their queries share encoder calls).' }),
  minutes: Type.Optional(Type.Number({
    exclusiveMinimum: 0, maximum: 100000,
    description: 'Wall-clock budget of the search: it measures its own query rate on this machine and lowers the queries per target to fit (never above `queries`); the report says what each target got and why.',
  })),
  surrogate: Type.Optional(SearchSurrogateSchema),
  secant: Type.Optional(SearchSecantSchema),

}, { additionalProperties: false, default: {} });

export const EvaluationConfigSchema = Type.Object({
  /** Encoders that score the reconstructions; the attacked one is always included. */
  encoders: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
  /** Evaluate at most this many test images (seeded choice; a smaller number picks a subset of a larger one). */
  maxImages: Type.Integer({ minimum: 1, default: 300, description: 'Held-out targets to attack and score (seeded choice); ≥ 300 keeps the intervals useful.' }),
}, { additionalProperties: false, default: {} });

/** One searched point of a tune and its validation scores. */
export const TunedRowSchema = Type.Object({
  components: Type.Integer({ minimum: 2 }),
  sigma: Type.Number({ exclusiveMinimum: 0 }),
  learningRate: Type.Number({ exclusiveMinimum: 0 }),
  weight: Type.Optional(Type.Number({ minimum: 0, description: 'Surrogate weight (absent: queries only).' })),
  warmupSteps: Type.Optional(Type.Integer({ minimum: 0 })),
  startCosine: Type.Number({ description: "Attacked encoder's mean cosine to the validation targets before the first query (after the warm-up)." }),
  meanCosine: Type.Number({ description: "Attacked encoder's mean cosine to the validation targets after the query budget: what the rows are ranked by." }),
  typeI: Type.Array(Type.Number(), { description: 'Share of validation targets above each validation threshold (tuned.fmrs).' }),
}, { additionalProperties: false });

export const TunedRecordSchema = Type.Object({
  by: Type.String({ description: 'The command that chose the search settings (`faceinv tune …`).' }),
  date: Type.String(),
  validationFraction: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'Share of the training identities held out; the test identities were never read.' }),
  validationIdentities: Type.Integer({ minimum: 1 }),
  targets: Type.Integer({ minimum: 1, description: 'Validation photos attacked per searched point.' }),
  queries: Type.Integer({ minimum: 1 }),
  grid: Type.String(),
  surrogate: Type.String({ description: 'Which surrogate guided the searches and why (or why none did).' }),
  fmrs: Type.Array(Type.Number()),
  thresholds: Type.Array(Type.Number(), { description: "Attacked encoder's thresholds at tuned.fmrs, from the validation photos' impostor pairs." }),
  rows: Type.Array(TunedRowSchema, { description: 'Every searched point, best first.' }),
}, { additionalProperties: false, description: 'Provenance of the search settings when `faceinv tune` chose them on a validation split (never on the test identities).' });

export const RunConfigSchema = Type.Object({
  $schema: Type.Optional(Type.String()),
  name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', maxLength: 100, description: 'Run folder name under runsDir.' }),
  description: Type.Optional(Type.String()),
  runsDir: Type.String({ minLength: 1, default: 'runs', description: 'Folder holding run folders, relative to the workspace.' }),
  minutes: Type.Optional(Type.Number({
    exclusiveMinimum: 0, maximum: 100000,
    description: 'Wall-clock budget of the whole run (setup, attack, evaluation): a query search gets what setup leaves, less 30 % of the budget kept for the evaluation (and never more than search.minutes); the run says at the search\'s start when it cannot keep the budget and what it cuts.',
  })),
  encoder: Type.String({
    minLength: 1,
    description: 'Id of the attacked encoder (models/encoders/<id>.json or a workspace encoder config).',
    // Editors render descriptions as markdown, where a bare <id> is an HTML tag and disappears.
    markdownDescription: 'Id of the attacked encoder (`models/encoders/<id>.json` or a workspace encoder config).',
  }),
  route: Type.Union([Type.Literal('auto'), Type.Literal('blackbox'), Type.Literal('whitebox')], { default: 'blackbox', description: 'auto lets the judge decide from what the encoder config declares as known.' }),
  dataset: DatasetConfigSchema,
  split: SplitConfigSchema,
  target: Type.Union([Type.Literal('average-face'), Type.Literal('image')], { default: 'average-face', description: "Decoder target: the identity's average aligned face, or the image itself." }),
  faceModel: FaceModelConfigSchema,
  start: Type.Union([Type.Literal('decoder'), Type.Literal('ridge'), Type.Literal('nearest')], {
    default: 'decoder',
    description: 'Starting latent per target: "decoder" = the decoder\'s answer (decoder face model); "ridge" = ridge regression from embedding to face-model latent (closed form, seconds); "nearest" = mean latent of the attacker\'s top-5 training faces by cosine (Park et al.).',
  }),
  search: SearchConfigSchema,
  decoder: DecoderConfigSchema,
  training: TrainingConfigSchema,
  whitebox: WhiteboxConfigSchema,
  evaluation: EvaluationConfigSchema,
  tuned: Type.Optional(TunedRecordSchema),
}, { $id: 'run.schema.json', title: 'Face Inversion Lab run config', additionalProperties: false });

export type RunConfig = Static<typeof RunConfigSchema>;

/** Where run folders go when a config does not say (the schema's default: one place for it). */
export const DEFAULT_RUNS_DIR: string = RunConfigSchema.properties.runsDir.default as string;
export type DecoderConfig = Static<typeof DecoderConfigSchema>;
export type IdentityTermConfig = Static<typeof IdentityTermSchema>;
export type LrSchedule = Static<typeof TrainingConfigSchema>['lrSchedule'];
export type WhiteboxConfig = Static<typeof WhiteboxConfigSchema>;
export type FaceModelConfig = Static<typeof FaceModelConfigSchema>;
export type FaceFinish = Static<typeof FaceFinishSchema>;
export type SearchConfig = Static<typeof SearchConfigSchema>;
export type SearchSurrogateConfig = Static<typeof SearchSurrogateSchema>;
export type TunedRecord = Static<typeof TunedRecordSchema>;
export type TunedRow = Static<typeof TunedRowSchema>;


/**
 * The schema written to `models/schemas/run.schema.json`: the same schema, except that a property with a
 * default (or an object whose properties all have defaults) is optional, since config files may omit it.
 */
export function fileSchemaOf(schema: object): object {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!isPlainObject(node)) return node;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = k === 'properties' && isPlainObject(v) ? Object.fromEntries(Object.entries(v).map(([pk, pv]) => [pk, walk(pv)])) : walk(v);
    if (isPlainObject(out.properties) && Array.isArray(out.required)) {
      const props = out.properties as Record<string, Record<string, unknown>>;
      out.required = (out.required as string[]).filter((k) => props[k] === undefined || !('default' in props[k]));
      if ((out.required as string[]).length === 0) delete out.required;
    }
    return out;
  };
  return walk(schema) as object;
}

export const RunConfigFileSchema = fileSchemaOf(RunConfigSchema);

/** Fills defaults, then checks schema and meaning. `where` prefixes problem locations (usually the file). */
export function validateRunConfig(value: unknown, where: string): { config?: RunConfig; problems: Problem[] } {
  const { config: c, problems, at } = withDefaults<RunConfig>(RunConfigSchema, value, where, { name: 'a run config', expected: '{ "name": …, "encoder": … }' });
  if (!c) return { problems };
  if (c.evaluation.encoders.some((e) => e === '')) {
    problems.push({ reason: 'empty encoder id in evaluation.encoders', where: at('/evaluation/encoders'), expected: 'encoder ids' });
  }
  if (c.start === 'decoder' && c.faceModel.kind !== 'decoder') {
    problems.push({ reason: `start "decoder" needs the decoder face model, but faceModel.kind is "${c.faceModel.kind}"`, where: at('/start'), expected: '"ridge" or "nearest" for a pca face model' });
  }
  if (c.start === 'ridge' && c.faceModel.kind !== 'pca') {
    problems.push({ reason: 'start "ridge" regresses onto a linear face model, but faceModel.kind is "decoder" (its latent is the embedding itself)', where: at('/start'), expected: '"decoder" or "nearest" for a decoder face model' });
  }
  if (c.decoder.identity && c.decoder.identity.surrogate === c.encoder) {
    problems.push({
      reason: `decoder.identity.surrogate "${c.encoder}" is the attacked encoder: a black-box attack has no gradients of the encoder it attacks`,
      where: at('/decoder/identity/surrogate'), expected: 'another differentiable encoder, e.g. "faceapi-resnet128"',
    });
  }
  if (c.decoder.identity && !Number.isFinite(c.decoder.identity.weight)) {
    problems.push({ reason: `decoder.identity.weight is ${c.decoder.identity.weight}`, where: at('/decoder/identity/weight'), expected: 'a finite number ≥ 0' });
  }
  if (c.faceModel.run !== undefined && c.faceModel.kind !== 'decoder') {
    problems.push({ reason: 'faceModel.run names a decoder run, but faceModel.kind is not "decoder"', where: at('/faceModel/run'), expected: 'kind "decoder", or no run' });
  }
  return { config: c, problems };
}

/** The decoder and training settings with every default filled from the schema (the decoder's defaults). */
export function defaultDecoderSettings(): { decoder: DecoderConfig; training: Static<typeof TrainingConfigSchema> } {
  return { decoder: Value.Default(DecoderConfigSchema, {}) as DecoderConfig, training: Value.Default(TrainingConfigSchema, {}) as Static<typeof TrainingConfigSchema> };
}

/** The white-box settings with every default filled from the schema (the one place they are written). */
export function defaultWhitebox(): WhiteboxConfig {
  return Value.Default(WhiteboxConfigSchema, {}) as WhiteboxConfig;
}

/**
 * The part of a run config that identifies the experiment, for "same config?" checks when a run resumes:
 * everything but `training.engine` (an execution choice: a run may resume on the other engine).
 */
export function configIdentity(config: RunConfig): unknown {
  const { engine: _engine, ...training } = config.training;
  void _engine;
  const out = { ...config, training: training as Record<string, unknown>, decoder: { ...config.decoder } as Record<string, unknown> };
  // Settings added after run folders already existed (the decoder's training options) are left out while at their neutral
  // defaults, so a run folder made before them still resumes and re-evaluates with the same config.
  for (const [section, key, neutral] of LATER_SETTINGS) {
    if (out[section][key] === neutral) delete out[section][key];
  }
  // identity.target came after identity itself: "photo" is what identity terms did before it.
  const id = config.decoder.identity;
  if (id && (id.target === 'photo' || id.target === undefined)) {
    const { target: _target, ...rest } = id;
    void _target;
    out.decoder.identity = rest;
  }
  return out;
}

/** Settings whose neutral default keeps the behaviour of run folders made before they existed. */
const LATER_SETTINGS: ReadonlyArray<readonly ['decoder' | 'training', string, unknown]> = [
  ['decoder', 'linearBase', false], ['decoder', 'ssimWeight', 0], ['training', 'lrSchedule', 'constant'],
];

export function assertRunConfig(value: unknown, where: string): RunConfig {
  return assertConfig(validateRunConfig(value, where), 'run config', where);
}
