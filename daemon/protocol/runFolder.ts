/**
 * The on-disk shape of a run folder: the one source (TypeBox schema → TypeScript type) for what the
 * trainer, the searches and the evaluator write and what the dashboard, the CLI and the language server
 * read. Every whole file is written temp + rename; metrics.jsonl is appended line by line.
 *
 * runs/<name>/
 *   run.json               RunManifest: what this run is (kind, encoder, route and why, progress, times)
 *   config.json            the run config as given (a rerun with a different config is refused)
 *   split.json             identity-disjoint train/validation/test split (daemon/data/split.ts)
 *   metrics.jsonl          one MetricsLine per line, appended as training/search goes
 *   checkpoints/           latest checkpoint(s) for resume (decoder training)
 *   model/                 finished decoder (decoder face model)
 *   facemodel/             PCA face model (pca face model)
 *   reconstructions/       index.json (ReconstructionIndex), <id>.png, <id>.orig.png, index.html (contact sheet)
 *   evaluation/            report.json (EvaluationReport, protocol/report.ts), report.md, grid.png
 * Paths use '/' so this module also loads in the webview bundle.
 */
import { Static, Type } from '@sinclair/typebox';
import { BudgetSchema } from './budget';

export const RUN_FILES = {
  manifest: 'run.json',
  config: 'config.json',
  split: 'split.json',
  metrics: 'metrics.jsonl',
  checkpoints: 'checkpoints',
  model: 'model',
  reconstructions: 'reconstructions',
  reconstructionIndex: 'reconstructions/index.json',
  evaluation: 'evaluation',
  evaluationReport: 'evaluation/report.json',
  evaluationMarkdown: 'evaluation/report.md',
  evaluationGrid: 'evaluation/grid.png',
} as const;

export const RunKindSchema = Type.Union([Type.Literal('blackbox'), Type.Literal('whitebox')]);
export type RunKind = Static<typeof RunKindSchema>;

export const RunManifestSchema = Type.Object({
  name: Type.String(),
  kind: RunKindSchema,
  encoderId: Type.String(),
  embeddingDim: Type.Integer({ minimum: 0 }),
  /** The encoder config file the run used, and the shipped one it replaced when a workspace config shadows it. */
  encoderConfig: Type.Optional(Type.Object({ file: Type.String(), shadows: Type.Optional(Type.String()) })),
  /** 'auto' resolved by the judge, with its reason. */
  route: Type.Object({
    chosen: RunKindSchema,
    requested: Type.Union([Type.Literal('auto'), RunKindSchema]),
    reason: Type.String(),
  }),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  state: Type.Union([Type.Literal('running'), Type.Literal('finished'), Type.Literal('failed'), Type.Literal('interrupted')]),
  /**
   * Steps done and planned; for training also epochs (older run.json files always have them). `budget`: the
   * governing budget and how much of it is used (protocol/budget.ts), absent in run.json of older versions.
   */
  progress: Type.Optional(Type.Object({
    step: Type.Integer({ minimum: 0 }), totalSteps: Type.Integer({ minimum: 0 }),
    epoch: Type.Optional(Type.Integer({ minimum: 0 })), totalEpochs: Type.Optional(Type.Integer({ minimum: 0 })),
    budget: Type.Optional(BudgetSchema),
  })),
  /** Why the run stopped, once it has: "budget of 5 min reached", "cancelled at step 120 (checkpoint kept)". */
  stopReason: Type.Optional(Type.String()),
  /** Wall time of the attack (training, face model, search), seconds. */
  trainSeconds: Type.Optional(Type.Number()),
  /** What the attack is, in words (face model, start, search), for reports. */
  method: Type.Optional(Type.String()),
  error: Type.Optional(Type.String()),
  /**
   * Black-box decoder trained with an identity term: the surrogate encoder whose gradients it used (never the
   * attacked one), the hash of its model files, the term's weight, and the engine that differentiated it.
   */
  surrogate: Type.Optional(Type.Object({
    encoderId: Type.String(),
    modelHash: Type.String(),
    weight: Type.Number(),
    /** What the term matches: the surrogate's embedding of the photo, or the attacked template through a fitted head. */
    target: Type.Optional(Type.Union([Type.Literal('photo'), Type.Literal('template')])),
    engine: Type.Union([Type.Literal('onnxruntime'), Type.Literal('tfjs')]),
  })),
  /**
   * Every model the attack used, by role: the attacked encoder (queried, or differentiated in the white box),
   * surrogate encoders whose gradients guided it, and the face detector of its acceptance test. None of them
   * may score the run as transfer (the evaluation refuses them and says why). Absent in older run.json files.
   */
  encoderRoles: Type.Optional(Type.Object({
    attacked: Type.String(),
    surrogates: Type.Array(Type.String()),
    acceptanceDetector: Type.Optional(Type.String()),
  })),
  /**
   * Surrogate-guided query search: the surrogate encoder, its weight in the objective, the held-out cosine of
   * the template map into its space, and its gradient evaluations and seconds (work, not queries).
   */
  searchSurrogate: Type.Optional(Type.Object({
    encoderId: Type.String(), weight: Type.Number(), mapCosine: Type.Number(),
    /** The template map's kind and ridge penalty (search.surrogate.map, mapLambda); absent in run.json files from before they were choices (ridge, 0.1). */
    map: Type.Optional(Type.String()), mapLambda: Type.Optional(Type.Number()),
    evaluations: Type.Integer({ minimum: 0 }), seconds: Type.Number({ minimum: 0 }),
  })),
  /**
   * search.method "secant": its forward model (daemon/attack/search/forwardModel.ts) — the attacker's own queries it
   * was fitted on (no target's), the held-out share of the template's variance it explains, and its seconds (this run's).
   */
  searchForwardModel: Type.Optional(Type.Object({
    queries: Type.Integer({ minimum: 0 }), explained: Type.Number(), seconds: Type.Number({ minimum: 0 }),
    /** Taken from the cache of an earlier run with the same face model and encoder (its queries were asked then). */
    cached: Type.Optional(Type.Boolean()),
  })),
  /** Compute engine of the run (training, search, decoding): the config's request, the choice and why. */
  engine: Type.Optional(Type.Object({
    requested: Type.Union([Type.Literal('auto'), Type.Literal('onnxruntime'), Type.Literal('tfjs')]),
    chosen: Type.Union([Type.Literal('onnxruntime'), Type.Literal('tfjs')]),
    reason: Type.String(),
    provider: Type.Optional(Type.Union([Type.Literal('cpu'), Type.Literal('cuda')])),
  })),
});
export type RunManifest = Static<typeof RunManifestSchema>;

/** One line of metrics.jsonl. `split` distinguishes train-batch loss, held-out loss and search steps. */
export const MetricsLineSchema = Type.Object({
  time: Type.String(),
  step: Type.Integer({ minimum: 0 }),
  epoch: Type.Optional(Type.Integer({ minimum: 0 })),
  split: Type.Union([Type.Literal('train'), Type.Literal('test'), Type.Literal('search')]),
  loss: Type.Number(),
  /** Searches: mean (or, with `target`, one target's best) cosine to the target templates. */
  cosine: Type.Optional(Type.Number()),
  imgPerSec: Type.Optional(Type.Number()),
  /** Decoder training: the step's learning rate (a schedule changes it). */
  lr: Type.Optional(Type.Number()),
  /** Decoder training: the loss's unweighted terms (pixel loss, 1 − SSIM, identity 1 − cos), when reported. */
  terms: Type.Optional(Type.Object({ pixel: Type.Number(), ssim: Type.Number(), identity: Type.Number() })),
  /** Query search: the line is one target's best so far (by its id), `step` its queries spent. */
  target: Type.Optional(Type.String()),
});
export type MetricsLine = Static<typeof MetricsLineSchema>;

export const ReconstructionItemSchema = Type.Object({
  id: Type.String({ minLength: 1 }),
  /** Identity (person) of the source image, when known. */
  identity: Type.Optional(Type.String()),
  /** Source image file (dataset-relative), when the template came from one. */
  source: Type.Optional(Type.String()),
  /** PNG of the reconstruction, relative to the reconstructions folder. */
  image: Type.String({ minLength: 1 }),
  /** PNG of the aligned original, relative to the reconstructions folder, when known. */
  original: Type.Optional(Type.String()),
  /** The attack's own final cosine to the target (white box, query search), before any evaluation. */
  cosine: Type.Optional(Type.Number()),
  /** Encoder queries spent on this target (black-box search). */
  queries: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type ReconstructionItem = Static<typeof ReconstructionItemSchema>;

export const ReconstructionIndexSchema = Type.Object({
  createdAt: Type.String(),
  model: Type.Optional(Type.String()),
  encoderId: Type.String(),
  /** Alignment frame the reconstructions are in (default: arcface-5pt at the images' size). */
  frame: Type.Optional(Type.Object({ template: Type.String(), size: Type.Integer({ minimum: 8 }) })),
  items: Type.Array(ReconstructionItemSchema),
});
export type ReconstructionIndex = Static<typeof ReconstructionIndexSchema>;

export type { EvaluationReport } from './report';
