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
import type { Budget } from '../protocol/budget';

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
  /**
   * Steps done and planned; for training also epochs (older run.json files always have them). `budget`: the
   * governing budget and how much of it is used (protocol/budget.ts), absent in run.json of older versions.
   */
  progress?: { step: number; totalSteps: number; epoch?: number; totalEpochs?: number; budget?: Budget };
  /** Why the run stopped, once it has: "budget of 5 min reached", "cancelled at step 120 (checkpoint kept)". */
  stopReason?: string;
  trainSeconds?: number;
  /** What the attack is, in words (generator, start, search), for reports. */
  method?: string;
  error?: string;
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
  /** Query search: the line is one target's best so far (by its id), `step` its queries spent. */
  target?: string;
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
  /** The attack's own final cosine to the target (white box, query search), before any evaluation. */
  cosine?: number;
  /** Encoder queries spent on this target (black-box search). */
  queries?: number;
}

export interface ReconstructionIndex {
  createdAt: string;
  model?: string;
  encoderId: string;
  /** Alignment frame the reconstructions are in (default: arcface-5pt at the images' size). */
  frame?: { template: string; size: number };
  items: ReconstructionItem[];
}

/** The evaluation report (one source of type and schema: daemon/protocol/report.ts). */
export type { EvaluationReport } from '../protocol/report';

export function runPath(runDir: string, file: keyof typeof RUN_FILES): string {
  return path.join(runDir, RUN_FILES[file]);
}
