/**
 * The on-disk shape of a run folder, shared by the trainer/inverter/evaluator that write it and the
 * dashboard, the CLI and the language server that read it. Every file is written temp + rename.
 *
 * runs/<name>/
 *   run.json               RunManifest: what this run is (kind, config, encoder, split, route, times)
 *   config.json            the run config as given (a rerun with a different config is refused)
 *   split.json             identity-disjoint train/test split
 *   metrics.jsonl          one MetricsLine per line, appended as training/optimisation goes
 *   checkpoints/           latest checkpoint(s) for resume
 *   model/                 finished decoder (black box)
 *   reconstructions/       index.json (ReconstructionIndex), <id>.png, <id>.orig.png, index.html (contact sheet)
 *   evaluation/            report.json (EvaluationReport), report.md, grid.png
 */
import * as path from 'node:path';

export const RUN_FILES = {
  manifest: 'run.json',
  config: 'config.json',
  split: 'split.json',
  metrics: 'metrics.jsonl',
  checkpoints: 'checkpoints',
  model: 'model',
  reconstructions: 'reconstructions',
  reconstructionIndex: path.join('reconstructions', 'index.json'),
  evaluation: 'evaluation',
  evaluationReport: path.join('evaluation', 'report.json'),
  evaluationMarkdown: path.join('evaluation', 'report.md'),
  evaluationGrid: path.join('evaluation', 'grid.png'),
} as const;

export type RunKind = 'blackbox' | 'whitebox';

export interface RunManifest {
  name: string;
  kind: RunKind;
  encoderId: string;
  embeddingDim: number;
  /** 'auto' resolved by the judge, with its reason. */
  route: { chosen: RunKind; requested: 'auto' | RunKind; reason: string };
  createdAt: string;
  updatedAt: string;
  state: 'running' | 'finished' | 'failed' | 'interrupted';
  /** Training: epochs/steps done and planned. */
  progress?: { step: number; totalSteps: number; epoch: number; totalEpochs: number };
  trainSeconds?: number;
  error?: string;
  /** Compute engine of the run (training, search, decoding): the config's request, the choice and why. */
  engine?: { requested: 'auto' | 'onnxruntime' | 'tfjs'; chosen: 'onnxruntime' | 'tfjs'; reason: string; provider?: 'cpu' | 'cuda' };
}

/** One line of metrics.jsonl. `split` distinguishes train-batch loss from held-out evaluation loss. */
export interface MetricsLine {
  time: string;
  step: number;
  epoch?: number;
  split: 'train' | 'test' | 'search';
  loss: number;
  /** White box: mean cosine between E(G(z)) and the targets. */
  cosine?: number;
  imgPerSec?: number;
  learningRate?: number;
}

export interface ReconstructionItem {
  id: string;
  /** Identity (person) of the source image, when known. */
  identity?: string;
  /** Source image file (dataset-relative), when the embedding came from one. */
  source?: string;
  /** PNG of the reconstruction, relative to the reconstructions folder. */
  image: string;
  /** PNG of the aligned original, relative to the reconstructions folder, when known. */
  original?: string;
  /** White box: final cosine to the target. */
  cosine?: number;
}

export interface ReconstructionIndex {
  createdAt: string;
  model?: string;
  encoderId: string;
  items: ReconstructionItem[];
}

/** Success attack rates of one evaluation encoder. Rates are fractions in [0,1]; null where undefined. */
export interface EncoderScores {
  encoderId: string;
  /** True when this encoder is not the attacked one (transfer). */
  transfer: boolean;
  thresholds: { fmr1e2: number; fmr1e3: number };
  typeI: { fmr1e2: number; fmr1e3: number };
  typeII: { fmr1e2: number | null; fmr1e3: number | null };
  rank1: number;
  meanCosine: number;
  /** Reconstructions the evaluation pipeline could not embed (no face found…), counted as failed attacks. */
  notEmbedded: number;
  count: number;
}

export interface EvaluationReport {
  createdAt: string;
  run: string;
  attackedEncoderId: string;
  route: RunKind;
  identities: number;
  images: number;
  /** Identities with a single image: type II is undefined for them and they are left out of it. */
  identitiesWithoutTypeII: number;
  ssim: number;
  psnr: number;
  scores: EncoderScores[];
  /** Per-item detail for the grid: cosine by the attacked encoder, type I success at 1e-3. */
  items: { id: string; identity: string; cosine: number; success1e3: boolean }[];
}

export function runPath(runDir: string, file: keyof typeof RUN_FILES): string {
  return path.join(runDir, RUN_FILES[file]);
}
