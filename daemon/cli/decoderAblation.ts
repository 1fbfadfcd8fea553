/**
 * `faceinv ablate --decoders`: the decoder's training options, each row trained for the same wall
 * time on the same split, with a share of the training identities held out as validation (model selection
 * ranks on these; the test identities are never looked at), then scored on the same seeded validation targets:
 * L1 to the photo, and identity rates under the `direct` protocol (./validationScore.ts) by the attacked encoder
 * and by transfer encoders. Rows start from the seed's route (models/experiments/seed-decoder.json as it
 * stands) and add one option each, so every option's gain is read off the row above it; two linear rows — the
 * decoder's fitted linear base alone (no training) and the PCA + ridge inverse of models/experiments/
 * ridge-1024.json — show the linear inverse the nonlinear decoders have to beat.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readDecoderCheckpoint } from '../nets/decoder';
import type { RunConfig } from '../protocol/runConfig';
import { resolveDatasetPath } from '../config/datasetPath';
import { loadRunConfig } from '../config/loadRunConfig';
import { subsetByIdentity } from '../data/dataset';
import { getAlignedCrops, getEmbeddingsWithCrops } from '../data/embeddingCache';
import { defaultCacheDir } from '../data/pipeline';
import { seededShuffle } from '../data/split';
import { tf } from '../tfjs/tf';
import { openSurrogate, resolveSurrogate } from '../decoder/surrogate';
import { buildTrainingData, TARGET_TEMPLATE, type TrainingData } from '../decoder/trainingSet';
import { trainBlackBox, type TrainOutcome } from '../decoder/train';
import { runDirOf } from '../runs/runFolder';
import { OrtDecoderTrainer } from '../ort/trainer';
import { decodeEmbeddingsOrt } from '../ort/decode';
import { buildPcaFaceModel } from '../attack/faceModel/pca';
import { findPcaFaceModel, keepPcaFaceModel } from '../attack/faceModel/pcaCache';
import { renderFaces } from '../attack/inversion';
import { startLatents } from '../attack/start';
import { consoleContext } from '../jobs/consoleContext';
import { INSTALL_ROOT } from '../io/installation';
import { UsageError } from './command';
import { scoreOnValidation, VALIDATION_FMRS, type ValidationScore } from './validationScore';

const EXPERIMENTS = path.join(INSTALL_ROOT, 'models', 'experiments');

/** One row: a label and how it changes the seed's config (applied to a fresh copy). */
export interface AblationRow {
  key: string;
  label: string;
  patch(c: RunConfig): void;
  /** A linear inverse scored without training (its time is its build time). */
  linear?: 'base' | 'pca-ridge';
}

const SURROGATE = 'faceapi-resnet128';
const IDENTITY_WEIGHT = 0.1;
const SSIM_WEIGHT = 0.75;

const image = (c: RunConfig) => { c.target = 'image'; };
const f112 = (c: RunConfig) => { image(c); c.decoder.outputSize = 112; };
const ssim = (c: RunConfig) => { f112(c); c.decoder.ssimWeight = SSIM_WEIGHT; };
const cosine = (c: RunConfig) => { ssim(c); c.training.lrSchedule = 'cosine'; };
const identity = (c: RunConfig) => { cosine(c); c.decoder.identity = { surrogate: SURROGATE, weight: IDENTITY_WEIGHT, target: 'photo' }; };

export const DECODER_ROWS: AblationRow[] = [
  { key: 'seed', label: "seed (models/experiments/seed-decoder.json: average faces, L1, 128², constant lr)", patch: () => undefined },
  { key: 'image', label: '+ per-image targets', patch: image },
  { key: 'frame112', label: '+ output in the ArcFace frame, 112² (7×7 start)', patch: f112 },
  { key: 'ssim', label: `+ SSIM term (${SSIM_WEIGHT})`, patch: ssim },
  { key: 'cosine', label: '+ cosine learning-rate decay', patch: cosine },
  { key: 'identity', label: `+ identity term through ${SURROGATE} (${IDENTITY_WEIGHT})`, patch: identity },
  { key: 'id-template', label: `identity term against the attacked template instead (linear head on ${SURROGATE}'s embedding, ${IDENTITY_WEIGHT})`, patch: (c) => { cosine(c); c.decoder.identity = { surrogate: SURROGATE, weight: IDENTITY_WEIGHT, target: 'template' }; } },
  { key: 'linear', label: '+ residual on the linear inverse (linearBase)', patch: (c) => { identity(c); c.decoder.linearBase = true; } },
  { key: 'linear-noid', label: 'linearBase, 112², image targets, SSIM, cosine (no identity term)', patch: (c) => { cosine(c); c.decoder.linearBase = true; } },
  { key: 'base-alone', label: "the decoder's linear base alone (pixel ridge, no training)", patch: (c) => { f112(c); c.decoder.linearBase = true; }, linear: 'base' },
  { key: 'ridge-1024', label: 'PCA (1024) + ridge (models/experiments/ridge-1024.json), no training', patch: (c) => { f112(c); }, linear: 'pca-ridge' },
];

export interface AblationOptions {
  minutes: number;
  validation: number;
  workspace: string;
  cacheDir?: string;
  overwrite: boolean;
  rows: AblationRow[];
  /** Validation targets scored per row (seeded choice). */
  targets: number;
  transfer: string[];
  evalEvery: number;
}

interface RowResult {
  row: AblationRow;
  steps: number;
  epochs: number;
  seconds: number;
  secondsPerStep: number;
  trainLoss: number;
  l1: number;
  score: ValidationScore;
  load: number;
}

function configOf(row: AblationRow, o: AblationOptions): RunConfig {
  const c = loadRunConfig(path.join(EXPERIMENTS, 'seed-decoder.json'));
  row.patch(c);
  c.name = `ablation-decoders-${row.key}`;
  c.training.maxMinutes = o.minutes;
  c.training.evalEvery = o.evalEvery;
  c.split.validationFraction = o.validation;
  return c;
}

/**
 * Seconds per training step of the slowest row on random data (a few steps after a warm-up), and seconds to
 * fit a linear base (from a timed product of its size): what the shortest useful budget is made of.
 */
async function probeCosts(rows: AblationRow[], o: AblationOptions, pairs: number): Promise<RowCost> {
  let worst = { row: '', stepSeconds: 0, fitSeconds: 0 };
  for (const row of rows.filter((r) => !r.linear)) {
    const c = configOf(row, o);
    if (!(c.decoder.identity || c.decoder.linearBase || row === rows.filter((r) => !r.linear)[0])) continue;
    const S = c.decoder.outputSize;
    const D = 512;
    const B = c.training.batchSize;
    const sur = c.decoder.identity ? await openSurrogate(resolveSurrogate(c.decoder.identity.surrogate, c.encoder, 'onnxruntime', S, o.workspace), o.workspace) : null;
    const opts = { inputDim: D, outputSize: S, residualLayers: c.decoder.residualLayers, noiseVariance: c.decoder.noiseVariance, loss: c.decoder.loss, learningRate: c.training.learningRate,
      ...(c.decoder.linearBase ? { linearBase: true } : {}), ...(c.decoder.ssimWeight ? { ssimWeight: c.decoder.ssimWeight } : {}), ...(sur ? { identityWeight: c.decoder.identity!.weight } : {}) };
    const px = S * S * 3;
    const t = await OrtDecoderTrainer.create(opts, sur?.ort ? { graph: { identity: sur.ort } } : {}, c.decoder.linearBase ? { kernel: new Float32Array(D * px), bias: new Float32Array(px) } : null);
    try {
      const z = Float32Array.from({ length: B * D }, (_, i) => Math.sin(i) * 0.04);
      const tg = Float32Array.from({ length: B * px }, (_, i) => 0.5 + 0.4 * Math.sin(i * 0.37));
      const id = sur ? Float32Array.from({ length: B * sur.dim }, (_, i) => Math.cos(i)) : undefined;
      await t.trainStep(z, tg, B, id);
      const times: number[] = [];
      for (let k = 0; k < 3; k++) { const t0 = Date.now(); await t.trainStep(z, tg, B, id); times.push((Date.now() - t0) / 1000); }
      const stepSeconds = times.sort((a, b) => a - b)[1];
      let fitSeconds = 0;
      if (c.decoder.linearBase) {
        const a = tf.randomUniform([256, D + 1]); const b = tf.randomUniform([256, px]);
        const t0 = Date.now();
        const p = tf.matMul(a, b, true, false);
        await p.data();
        fitSeconds = ((Date.now() - t0) / 1000) * (pairs / 256);
        tf.dispose([a, b, p]);
      }
      if (stepSeconds * o.evalEvery + fitSeconds > worst.stepSeconds * o.evalEvery + worst.fitSeconds) worst = { row: row.key, stepSeconds, fitSeconds };
    } finally {
      await t.dispose();
      await sur?.dispose();
    }
  }
  return worst;
}

/** What one row's first held-out evaluation costs: the slowest row's seconds per step and linear-base fit. */
export interface RowCost { row: string; stepSeconds: number; fitSeconds: number }

/** The shortest budget (minutes, rounded up to a tenth) in which a row reaches its first held-out evaluation. */
export function minimumRowMinutes(evalEvery: number, cost: RowCost): number {
  return Math.ceil(((cost.fitSeconds + evalEvery * cost.stepSeconds) / 60) * 10) / 10;
}

/** Refuses a per-row budget too short to finish one held-out evaluation, with the minimum. */
export function checkRowBudget(minutes: number, evalEvery: number, cost: RowCost, load: number): void {
  if (!(Number.isFinite(minutes) && minutes > 0)) throw new UsageError(`--minutes must be a positive number of minutes, got ${minutes}`);
  const minMinutes = minimumRowMinutes(evalEvery, cost);
  if (minutes < minMinutes) {
    throw new UsageError(`--minutes ${minutes} is too short to finish one held-out evaluation: row "${cost.row}" takes ≈ ${cost.stepSeconds.toFixed(2)} s a step here ` +
      `(load ${load.toFixed(1)})${cost.fitSeconds ? ` and ≈ ${cost.fitSeconds.toFixed(0)} s to fit its linear base` : ''}, so its first evaluation (after ${evalEvery} steps) ` +
      `comes at ≈ ${minMinutes} min; use --minutes ≥ ${minMinutes}`);
  }
}

const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : 'n/a');

/** Mean |reconstruction − photo| over the scored targets (both [n, S, S, 3] uint8). */
function meanL1(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length / 255;
}

export async function ablateDecoders(o: AblationOptions): Promise<number> {
  if (!(o.validation > 0 && o.validation < 1)) throw new UsageError('--validation must be a share in (0, 1): model selection needs validation identities');
  const base = configOf(DECODER_ROWS[0], o);
  const datasetDir = resolveDatasetPath(base.dataset.path, o.workspace);
  const log = (m: string) => console.error(m);
  // The validation side (identical for every row: same dataset, split seed and fractions).
  const ref = configOf(DECODER_ROWS[2], o);
  const refDir = runDirOf(ref, o.workspace);
  const data: TrainingData = await buildTrainingData({ ...ref, training: { ...ref.training, augmentation: { flip: false } } }, {
    runDir: path.join(refDir, '..', `.ablation-split-${o.validation}`), datasetDir, cacheDir: o.cacheDir, workspaceDir: o.workspace, log,
  });
  const val = data.validation;
  if (!val) throw new Error('the split has no validation identities');
  const rows = seededShuffle(Int32Array.from({ length: val.rels.length }, (_, i) => i), 0x5a17).subarray(0, Math.min(o.targets, val.rels.length));
  const targetRows = Array.from(rows).sort((a, b) => a - b);
  const pairs = data.train.rels.length * 2;

  const cost = await probeCosts(o.rows, o, pairs);
  checkRowBudget(o.minutes, o.evalEvery, cost, os.loadavg()[0]);
  log(`\n${o.rows.length} rows × ${o.minutes} min each; ${targetRows.length} validation targets of ${new Set(targetRows.map((r) => val.identities[r])).size} identities ` +
    `(${val.rels.length} validation photos of ${data.split.validation.length} identities, ${(100 * o.validation).toFixed(0)} % of the training identities); slowest row "${cost.row}": ${cost.stepSeconds.toFixed(2)} s/step`);

  const results: RowResult[] = [];
  const cropsBySize = new Map<number, Uint8Array>();
  const photoCrops = async (S: number): Promise<Uint8Array> => {
    let c = cropsBySize.get(S);
    if (!c) {
      const set = await getAlignedCrops(subsetByIdentity(data.dataset, data.split.validation), TARGET_TEMPLATE, S, { cacheDir: o.cacheDir, workspaceDir: o.workspace });
      const at = new Map(set.rels.map((r, i) => [r, i]));
      const S3 = S * S * 3;
      c = new Uint8Array(targetRows.length * S3);
      targetRows.forEach((r, k) => c!.set(set.crops.subarray(at.get(val.rels[r])! * S3, (at.get(val.rels[r])! + 1) * S3), k * S3));
      cropsBySize.set(S, c);
    }
    return c;
  };
  const zRows = targetRows.map((r) => val.embeddings.slice(r * data.dim, (r + 1) * data.dim));
  for (const row of o.rows) {
    const c = configOf(row, o);
    console.error(`\n== ${row.key}: ${row.label}`);
    const load = os.loadavg()[0];
    let images: Uint8Array;
    let out: Pick<TrainOutcome, 'steps' | 'epochs' | 'trainSeconds' | 'trainLoss'>;
    const S = c.decoder.outputSize;
    if (row.linear === 'pca-ridge') {
      const t0 = Date.now();
      const frame = { template: TARGET_TEMPLATE, size: 112 } as const;
      const trainDs = subsetByIdentity(data.dataset, data.split.train);
      const train = await getEmbeddingsWithCrops(trainDs, c.encoder, frame, { cacheDir: o.cacheDir, workspaceDir: o.workspace });
      const key = { datasetId: trainDs.id, rels: train.rels, frame, components: 1024, clamp: 3, seed: c.training.seed };
      const cacheDir = o.cacheDir ?? defaultCacheDir();
      const dir = runDirOf(c, o.workspace);
      let pca = findPcaFaceModel(dir, cacheDir, key);
      if (!pca) {
        pca = await buildPcaFaceModel(train.crops, train.rels.length, frame, { components: 1024, clamp: 3, seed: c.training.seed, log });
        await keepPcaFaceModel(pca, dir, cacheDir, key);
      }
      try {
        const latents = await pca.project(train.crops, train.rels.length);
        const start = startLatents('ridge', zRows, { templates: train.embeddings, dim: train.dim, latents, latentDim: pca.latentDim, n: train.rels.length });
        pca.clampLatents(start);
        images = await renderFaces(pca, start, zRows.length);
      } finally {
        pca.dispose();
      }
      out = { steps: 0, epochs: 0, trainSeconds: (Date.now() - t0) / 1000, trainLoss: NaN };
    } else {
      const ctx = consoleContext(o.workspace);
      try {
        if (row.linear === 'base') { c.training.maxMinutes = 1e-9; }
        // --overwrite means a fresh row: the same config would otherwise resume its last checkpoint.
        if (o.overwrite) fs.rmSync(runDirOf(c, o.workspace), { recursive: true, force: true });
        const r = await trainBlackBox(c, ctx, { overwrite: o.overwrite, cacheDir: o.cacheDir });
        out = r;
        const state = await readDecoderCheckpoint(r.modelDir);
        images = await decodeEmbeddingsOrt(state, zRows);
      } finally {
        ctx.close();
      }
    }
    const score = await scoreOnValidation(images, S, targetRows, val, data.dataset, data.split.validation, c.encoder, o.transfer, { cacheDir: o.cacheDir, workspaceDir: o.workspace });
    const l1 = meanL1(images, await photoCrops(S));
    results.push({ row, steps: out.steps, epochs: out.epochs, seconds: out.trainSeconds, secondsPerStep: out.steps ? out.trainSeconds / out.steps : NaN, trainLoss: out.trainLoss, l1, score, load });
    const a = score.scores[0];
    console.error(`${row.key}: ${out.steps} steps in ${out.trainSeconds.toFixed(0)} s; L1 to the photo ${l1.toFixed(4)}; ${a.encoderId} type I ${pct(a.typeI[0])} @1e-3, ${pct(a.typeI[1])} @1e-4, type II ${pct(a.typeII)} @1e-3`);
  }
  printTable(results, o, targetRows.length);
  return 0;
}

function printTable(results: RowResult[], o: AblationOptions, targets: number): void {
  const enc = results[0]?.score.scores.map((s) => s.encoderId) ?? [];
  const head = ['row', 'options', 'steps', 's/step', 'load', 'L1 to photo',
    ...enc.flatMap((e, i) => (i === 0 ? [`${e} type I @1e-3`, '@1e-4', 'type II @1e-3', 'mean cos'] : [`${e} type I @1e-3`])) ];
  console.log(`\nDecoders at equal wall time (${o.minutes} min of training each, validation split ${(100 * o.validation).toFixed(0)} % of the training identities, ` +
    `${targets} validation targets, direct protocol, thresholds from the validation photos' impostor pairs at FMR ${VALIDATION_FMRS.join(', ')}):\n`);
  console.log(`| ${head.join(' | ')} |`);
  console.log(`|${head.map(() => '---').join('|')}|`);
  for (const r of results) {
    const cells = [r.row.key, r.row.label, String(r.steps), Number.isFinite(r.secondsPerStep) ? r.secondsPerStep.toFixed(2) : `(${r.seconds.toFixed(0)} s build)`, r.load.toFixed(1), r.l1.toFixed(4)];
    r.score.scores.forEach((s, i) => {
      if (s.skipped) { cells.push(...(i === 0 ? ['n/a', 'n/a', 'n/a', 'n/a'] : ['n/a'])); return; }
      cells.push(...(i === 0 ? [pct(s.typeI[0]), pct(s.typeI[1]), pct(s.typeII), s.meanCosine.toFixed(3)] : [pct(s.typeI[0])]));
    });
    console.log(`| ${cells.join(' | ')} |`);
  }
  const trained = results.filter((r) => !r.row.linear);
  if (trained.length) {
    const best = trained.reduce((p, q) => ((q.score.scores[0].typeI[1] ?? 0) > (p.score.scores[0].typeI[1] ?? 0) ? q : p));
    console.log(`\nhighest validation type I @1e-4 among the trained rows: ${best.row.key}`);
  }
}
