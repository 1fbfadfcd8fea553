/**
 * Black-box inverse-decoder training: embeddings from the queried encoder in, aligned
 * (average) faces out, pixel loss, Adam. Checkpoints are written atomically every `checkpointEvery` steps
 * and on cancel; rerunning the same config resumes from the last one with the same batch order (each
 * epoch's order comes from the seed and the epoch number, so a resumed run sees exactly the batches the
 * uninterrupted run would have).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { configIdentity, type RunConfig } from '../protocol/runConfig';
import { resolveDatasetPath } from '../config/datasetPath';
import { seededShuffle } from '../data/split';
import { tf } from '../tfjs/tf';
import { Decoder, DecoderOptions } from '../nets/decoder';
import { DecoderRunner, HostBatch, openDecoderRunner } from '../ort/decoderRunner';
import { JobCancelledError, AttackContext, throwIfCancelled, yieldToEventLoop } from '../runs/attackContext';
import { budgetReached, governingBudget, type Budget, type BudgetLimit } from '../protocol/budget';
import { MetricsLine, RUN_FILES, type RunManifest } from '../protocol/runFolder';
import { claimRunFolder, MetricsWriter, runDirOf, truncateMetrics, updateManifest, writeJsonAtomic } from '../runs/runFolder';
import { buildTrainingData, flipCrops, PairSet, TARGET_TEMPLATE, TrainingData } from './trainingSet';
import { engineRequest } from '../ort/engineChoice';
import type { RouteDecision } from '../encoders/judge';
import type { LinearBaseInit } from '../nets/decoder';
import { modelFilesHash } from '../data/encoderTarget';
import { fitLinearBase } from './linearBase';
import { scheduledLearningRate } from './schedule';
import { fitTemplateHead, openSurrogate, resolveSurrogate, Surrogate, surrogateTargets, withTemplateHead } from './surrogate';

export interface TrainOptions {
  overwrite?: boolean;
  cacheDir?: string;
  workers?: number;
  /** The route decision that led here (the attack orchestrator); without it the manifest says the decoder was asked for directly. */
  decision?: RouteDecision;
}

export interface TrainOutcome {
  runDir: string;
  modelDir: string;
  steps: number;
  epochs: number;
  trainSeconds: number;
  trainLoss: number;
  testLoss: number;
  stoppedEarly: boolean;
}

/** What is saved next to the finished decoder, so reconstruct/evaluate/invert can check what they are given. */
export interface DecoderModelMeta {
  kind: 'faceinv-blackbox-decoder';
  encoderId: string;
  embeddingDim: number;
  outputSize: number;
  /** Decoder outputs are aligned to this template at outputSize. */
  template: string;
  /** Inputs are expected L2-normalised, as every encoder's embed() returns. */
  inputNormalization: 'l2';
  config: RunConfig;
  split: { seed: number; testFraction: number; train: number; test: number };
  steps: number;
  trainSeconds: number;
  testLoss: number;
  /** The identity term's surrogate encoder (never the attacked one), when the decoder was trained with one. */
  surrogate?: { encoderId: string; modelHash: string; weight: number; target: 'photo' | 'template' };
}

/**
 * The checkpoint to resume from. Decoder.save swaps folders by rename (old → `latest.old-*`, new tmp →
 * `latest`); a kill between the two renames leaves no `latest` but complete siblings, so the newest complete
 * one is used. Null when there is nothing to resume.
 */
export function findCheckpoint(ckptDir: string): string | null {
  const complete = (d: string) => fs.existsSync(path.join(d, 'decoder.json')) && fs.existsSync(path.join(d, 'weights.bin'));
  if (complete(ckptDir)) return ckptDir;
  const parent = path.dirname(ckptDir);
  if (!fs.existsSync(parent)) return null;
  const base = path.basename(ckptDir);
  const siblings = fs.readdirSync(parent)
    .filter((n) => n.startsWith(`${base}.old-`) || n.startsWith(`${base}.tmp-`))
    .map((n) => path.join(parent, n))
    .filter(complete)
    .sort((a, b) => fs.statSync(path.join(b, 'decoder.json')).mtimeMs - fs.statSync(path.join(a, 'decoder.json')).mtimeMs);
  return siblings[0] ?? null;
}

function permutation(n: number, seed: number): Int32Array {
  return seededShuffle(Int32Array.from({ length: n }, (_, i) => i), seed);
}

/** The surrogate's embeddings of each training photo and of its mirrored copy, [N, d] each (identity term). */
export interface IdentityTargets { dim: number; plain: Float32Array; flipped?: Float32Array }

/** Host batch for pair indices; index ≥ n means the mirrored version of pair index − n. */
function hostBatch(set: PairSet, flippedTargets: Uint8Array | undefined, idx: ArrayLike<number>, dim: number, size: number, id?: IdentityTargets): HostBatch {
  const n = set.rels.length;
  const S3 = size * size * 3;
  const z = new Float32Array(idx.length * dim);
  const pixels = new Uint8Array(idx.length * S3);
  const idTarget = id ? new Float32Array(idx.length * id.dim) : undefined;
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k];
    const flipped = i >= n;
    const p = flipped ? i - n : i;
    const embSrc = flipped ? (set.flipEmbeddings as Float32Array) : set.embeddings;
    z.set(embSrc.subarray(p * dim, (p + 1) * dim), k * dim);
    const t = set.targetIndex[p];
    const tgtSrc = flipped ? (flippedTargets as Uint8Array) : set.targets;
    pixels.set(tgtSrc.subarray(t * S3, (t + 1) * S3), k * S3);
    if (id && idTarget) idTarget.set((flipped ? (id.flipped as Float32Array) : id.plain).subarray(p * id.dim, (p + 1) * id.dim), k * id.dim);
  }
  return { z, pixels, n: idx.length, ...(idTarget ? { idTarget } : {}) };
}

/** Batch tensors for pair indices (see hostBatch). */
function makeBatch(set: PairSet, flippedTargets: Uint8Array | undefined, idx: ArrayLike<number>, dim: number, size: number): { z: tf.Tensor2D; target: tf.Tensor4D } {
  const b = hostBatch(set, flippedTargets, idx, dim, size);
  return tf.tidy(() => ({
    z: tf.tensor2d(b.z, [b.n, dim]),
    target: tf.tensor4d(b.pixels, [b.n, size, size, 3], 'int32').toFloat().div(255) as tf.Tensor4D,
  }));
}

/**
 * Mean L1 (always L1, whatever the training loss, so runs with different losses compare; no noise, BN in
 * inference mode) on a seeded random sample of at most `maxPairs` held-out pairs, on either engine: the
 * validation identities when the split has them (model selection ranks on these, never on test), else the
 * test ones (a monitoring curve only: the weights saved are always the last ones).
 */
export async function heldOutLossOf(runner: DecoderRunner, data: TrainingData, maxPairs = 256, batch = 32, seed = 0): Promise<number> {
  const set = data.validation ?? data.test;
  const rows = seededShuffle(Int32Array.from({ length: set.rels.length }, (_, i) => i), seed ^ 0x4e1d).subarray(0, Math.min(maxPairs, set.rels.length));
  const n = rows.length;
  let sum = 0;
  for (let s = 0; s < n; s += batch) {
    const idx = rows.subarray(s, Math.min(n, s + batch));
    sum += (await runner.meanAbsError(hostBatch(set, undefined, idx, data.dim, data.size))) * idx.length;
  }
  return sum / n;
}

/** Consecutive steps with non-finite gradients after which an ONNX Runtime run stops. */
export const MAX_SKIPPED_STEPS = 5;

export async function trainBlackBox(config: RunConfig, ctx: AttackContext, opts: TrainOptions = {}): Promise<TrainOutcome> {
  if (config.faceModel.kind !== 'decoder' || config.faceModel.run) {
    throw new Error(`run config ${config.name} does not train a decoder (faceModel ${config.faceModel.kind}${config.faceModel.run ? ` from ${config.faceModel.run}` : ''}): use "faceinv run" for it`);
  }
  // The schema checks the weight too, but trainBlackBox is also called with configs built in code (ablation,
  // tests): a bad weight is refused here, before any data or run folder is made.
  if (config.decoder.identity && !(Number.isFinite(config.decoder.identity.weight) && config.decoder.identity.weight >= 0)) {
    throw new Error(`decoder.identity.weight must be a finite number ≥ 0, got ${config.decoder.identity.weight}`);
  }
  const idTerm = config.decoder.identity && config.decoder.identity.weight > 0 ? config.decoder.identity : null;
  const engineAsked = engineRequest(config.training.engine);
  // Checked before any data is built: a surrogate that cannot be used is a config error.
  const surrogatePlan = idTerm ? resolveSurrogate(idTerm.surrogate, config.encoder, engineAsked, config.decoder.outputSize, ctx.workspaceDir) : null;
  const runDir = claimTrainingRun(config, ctx, opts);
  const t = await trainingSet(config, ctx, opts, runDir);
  const resumeFrom = findCheckpoint(t.ckptDir);
  // Time spent before the first step that belongs to the method (fitting the linear base, the identity
  // term's head) counts against the time budget, so every option is compared at equal wall time.
  const base = config.decoder.linearBase && !resumeFrom ? await linearBase(t, ctx) : { linear: null, ms: 0 };
  const id = surrogatePlan && idTerm ? await identityTerm(t, ctx, opts, surrogatePlan, idTerm) : { surrogate: null, idTargets: undefined, ms: 0 };
  const surrogate = id.surrogate;
  let decoder: DecoderRunner;
  try {
    decoder = await openDecoderRunner(engineAsked, {
      create: decoderOptionsOf(config, t.data.dim, idTerm), resumeFrom, batch: t.B, warn: (m) => ctx.log('warn', m), linear: base.linear,
      identity: surrogate ? { id: surrogate.id, dim: surrogate.dim, ort: surrogate.ort, ortObstacle: surrogate.plan.ortObstacle, tfjs: () => surrogate.tfjs() } : null,
    });
  } catch (e) {
    await surrogate?.dispose();
    throw e;
  }
  const engine = decoder.decision;
  ctx.log('info', `engine: ${engine.chosen === 'onnxruntime' ? `ONNX Runtime (${engine.provider})` : 'TF.js'} — ${engine.reason}`);
  const surrogateRecord = surrogate && idTerm
    ? { encoderId: surrogate.id, modelHash: modelFilesHash(surrogate.plan.config, ctx.workspaceDir), weight: idTerm.weight, target: idTerm.target ?? 'photo' }
    : undefined;
  if (surrogateRecord) ctx.log('info', `identity term: weight ${surrogateRecord.weight} through the surrogate ${surrogateRecord.encoderId} (not the attacked ${config.encoder}), differentiated on ${engine.chosen === 'onnxruntime' ? 'ONNX Runtime' : 'TF.js'}`);
  updateManifest(runDir, { engine, ...(surrogateRecord ? { surrogate: { ...surrogateRecord, engine: engine.chosen } } : {}) });
  const metricsFile = path.join(runDir, RUN_FILES.metrics);
  if (decoder.step > 0) ctx.log('info', `resumed from checkpoint at step ${decoder.step}`);
  truncateMetrics(metricsFile, decoder.step);
  const metrics = new MetricsWriter(metricsFile);
  try {
    const clock = trainingClock(config, t, decoder.step, base.ms + id.ms);
    const end = await trainSteps(config, ctx, t, decoder, metrics, clock, id.idTargets);
    return await saveDecoder(config, ctx, t, decoder, metrics, clock, end, surrogateRecord);
  } catch (err) {
    updateManifest(runDir, err instanceof JobCancelledError ? { state: 'interrupted' } : { state: 'failed', error: (err as Error).message, stopReason: undefined });
    throw err;
  } finally {
    metrics.close();
    await decoder.dispose();
    await surrogate?.dispose();
  }
}

/** Claims the run folder for training (resuming where it may) and records the route in run.json. */
function claimTrainingRun(config: RunConfig, ctx: AttackContext, opts: TrainOptions): string {
  const runDir = runDirOf(config, ctx.workspaceDir);
  const claim = claimRunFolder(runDir, configIdentity(config), opts.overwrite ?? false);
  ctx.setRunDir(runDir);
  ctx.log('info', `${claim === 'resume' ? 'resuming' : 'starting'} black-box run ${config.name} in ${runDir}`);
  const now = new Date().toISOString();
  updateManifest(runDir, {
    name: config.name, kind: 'blackbox', encoderId: config.encoder, embeddingDim: 0,
    route: opts.decision
      ? { chosen: opts.decision.route, requested: opts.decision.requested, reason: opts.decision.reason }
      : { chosen: 'blackbox', requested: config.route, reason: config.route === 'blackbox' ? 'black box requested by the run config' : `decoder training asked for directly (faceinv train); the run config's route is "${config.route}"` },
    ...(claim === 'new' ? { createdAt: now } : {}), state: 'running', stopReason: undefined,
  });
  return runDir;
}

/** The training pairs and the loop's shape: batch, steps per epoch, mirrored copies. */
interface TrainingShape {
  runDir: string;
  ckptDir: string;
  data: TrainingData;
  flip: boolean;
  /** Pairs per epoch (mirrored copies included). */
  pairs: number;
  B: number;
  stepsPerEpoch: number;
  totalSteps: number;
  flippedTargets?: Uint8Array;
}

async function trainingSet(config: RunConfig, ctx: AttackContext, opts: TrainOptions, runDir: string): Promise<TrainingShape> {
  const datasetDir = resolveDatasetPath(config.dataset.path, ctx.workspaceDir);
  const data = await buildTrainingData(config, {
    runDir, datasetDir, cacheDir: opts.cacheDir, workers: opts.workers, workspaceDir: ctx.workspaceDir,
    log: (m) => ctx.log('info', m),
  });
  throwIfCancelled(ctx);
  if (data.failed.length) ctx.log('warn', `${data.failed.length} images could not be used (no face, corrupt…); they are listed in the embedding summary`);
  const { train } = data;
  const flip = !!train.flipEmbeddings;
  const pairs = train.rels.length * (flip ? 2 : 1);
  const B = Math.min(config.training.batchSize, pairs);
  const stepsPerEpoch = Math.ceil(pairs / B);
  const totalSteps = config.training.epochs * stepsPerEpoch;
  const flippedTargets = flip ? flipCrops(train.targets, data.size) : undefined;
  updateManifest(runDir, { embeddingDim: data.dim });
  ctx.log('info', `training on ${train.rels.length} images${flip ? ` (${pairs} pairs with mirrored copies)` : ''} of ${data.split.train.length} identities; ` +
    `test: ${data.test.rels.length} images of ${data.split.test.length} identities; ${totalSteps} steps of batch ${B}; held-out loss on ` +
    (data.validation ? `${data.validation.rels.length} validation images (model selection ranks on these)` : 'a sample of the test images (a monitoring curve only)'));
  return { runDir, ckptDir: path.join(runDir, RUN_FILES.checkpoints, 'latest'), data, flip, pairs, B, stepsPerEpoch, totalSteps, ...(flippedTargets ? { flippedTargets } : {}) };
}

function decoderOptionsOf(config: RunConfig, dim: number, idTerm: { weight: number } | null): DecoderOptions {
  return {
    inputDim: dim, outputSize: config.decoder.outputSize, residualLayers: config.decoder.residualLayers,
    noiseVariance: config.decoder.noiseVariance, loss: config.decoder.loss, learningRate: config.training.learningRate,
    seed: config.training.seed,
    ...(config.decoder.baseChannels !== undefined ? { baseChannels: config.decoder.baseChannels } : {}),
    ...(config.decoder.linearBase ? { linearBase: true } : {}),
    ...(config.decoder.ssimWeight > 0 ? { ssimWeight: config.decoder.ssimWeight } : {}),
    ...(idTerm ? { identityWeight: idTerm.weight } : {}),
  };
}

/** The linear base: ridge regression from templates to pixels, the decoder's starting point. */
async function linearBase(t: TrainingShape, ctx: AttackContext): Promise<{ linear: LinearBaseInit; ms: number }> {
  const { data, pairs, flip } = t;
  const { train } = data;
  const t0 = Date.now();
  const n = train.rels.length;
  const linear = await fitLinearBase({
    n: pairs, dim: data.dim, outDim: data.size * data.size * 3,
    z: flip ? concatRows(train.embeddings, train.flipEmbeddings as Float32Array) : train.embeddings,
    pixels: (r) => {
      const S3 = data.size * data.size * 3;
      const ti = train.targetIndex[r >= n ? r - n : r];
      return (r >= n ? (t.flippedTargets as Uint8Array) : train.targets).subarray(ti * S3, (ti + 1) * S3);
    },
  }, undefined, ctx.signal);
  const ms = Date.now() - t0;
  ctx.log('info', `linear base: ridge regression from ${data.dim}-d templates to ${data.size}×${data.size} pixels on ${pairs} pairs in ${(ms / 1000).toFixed(1)} s`);
  return { linear, ms };
}

/** The identity term: the surrogate's embeddings of the targets, or (target "template") a head mapping them to templates. */
async function identityTerm(t: TrainingShape, ctx: AttackContext, opts: TrainOptions, plan: ReturnType<typeof resolveSurrogate>,
  idTerm: NonNullable<RunConfig['decoder']['identity']>): Promise<{ surrogate: Surrogate; idTargets: IdentityTargets; ms: number }> {
  const { data, flip } = t;
  const { train } = data;
  let surrogate = await openSurrogate(plan, ctx.workspaceDir);
  const dsId = data.dataset.id;
  const plain = await surrogateTargets(surrogate, train.crops, train.rels, data.size, dsId, { cacheDir: opts.cacheDir, workspaceDir: ctx.workspaceDir, log: (m) => ctx.log('info', m) });
  const flipped = flip ? await surrogateTargets(surrogate, flipCrops(train.crops, data.size), train.rels, data.size, dsId, { cacheDir: opts.cacheDir, workspaceDir: ctx.workspaceDir, flipped: true, log: (m) => ctx.log('info', m) }) : undefined;
  if (idTerm.target !== 'template') return { surrogate, idTargets: { dim: surrogate.dim, plain, ...(flipped ? { flipped } : {}) }, ms: 0 };
  // Distil the black box from the attacker's own pairs: a linear head from F's embeddings to templates.
  const t0 = Date.now();
  const n = train.rels.length;
  const feats = flipped ? concatRows(plain, flipped) : plain;
  const temps = flip ? concatRows(train.embeddings, train.flipEmbeddings as Float32Array) : train.embeddings;
  const head = fitTemplateHead(feats, temps, flipped ? 2 * n : n, surrogate.dim, data.dim);
  surrogate = withTemplateHead(surrogate, head);
  const idTargets = { dim: data.dim, plain: train.embeddings, ...(flip ? { flipped: train.flipEmbeddings as Float32Array } : {}) };
  // Part of the method, like the linear base: it counts against the time budget.
  const ms = Date.now() - t0;
  ctx.log('info', `identity term against the attacked templates: a linear head ${head.inDim}→${head.outDim} from ${plan.config.id}'s embeddings, fitted on ${flipped ? 2 * n : n} training pairs in ${(ms / 1000).toFixed(1)} s`);
  return { surrogate, idTargets, ms };
}

/** The training's budgets: epochs and, when set, minutes of this session (progress reports the one that runs out first). */
interface TrainingClock {
  startedAt: number;
  deadline: number;
  resumedAt: number;
  limitsAt(done: number): BudgetLimit[];
  budgetAt(done: number): ReturnType<typeof governingBudget>;
  /** Share of the governing budget used (the learning-rate schedule's clock). */
  fraction(done: number): number;
  progressOf(done: number, budget?: Budget): NonNullable<RunManifest['progress']>;
}

function trainingClock(config: RunConfig, t: TrainingShape, resumedAt: number, setupMs: number): TrainingClock {
  const { stepsPerEpoch, totalSteps } = t;
  const maxMinutes = config.training.maxMinutes;
  const startedAt = Date.now() - setupMs;
  const limitsAt = (done: number): BudgetLimit[] => [
    { kind: 'epochs', used: done / stepsPerEpoch, limit: config.training.epochs, usedAtStart: resumedAt / stepsPerEpoch },
    ...(maxMinutes ? [{ kind: 'minutes' as const, used: (Date.now() - startedAt) / 60_000, limit: maxMinutes }] : []),
  ];
  const budgetAt = (done: number) => governingBudget(limitsAt(done), (Date.now() - startedAt) / 1000);
  return {
    startedAt, resumedAt, deadline: maxMinutes ? startedAt + maxMinutes * 60_000 : Infinity, limitsAt, budgetAt,
    fraction: (done) => Math.max(done / totalSteps, maxMinutes ? (Date.now() - startedAt) / (maxMinutes * 60_000) : 0),
    progressOf: (done, budget = budgetAt(done).budget) => ({ step: done, totalSteps, epoch: Math.floor(done / stepsPerEpoch), totalEpochs: config.training.epochs, budget }),
  };
}

interface LoopEnd { stopReason: string; stopBudget?: Budget; lastLoss: number; testLoss: number; stoppedEarly: boolean }

/** The training loop: batches in a seeded order per epoch, the schedule, held-out losses, checkpoints; stops at a budget or on cancel. */
async function trainSteps(config: RunConfig, ctx: AttackContext, t: TrainingShape, decoder: DecoderRunner, metrics: MetricsWriter, clock: TrainingClock, idTargets?: IdentityTargets): Promise<LoopEnd> {
  const { data, pairs, B, stepsPerEpoch, totalSteps, ckptDir } = t;
  const end: LoopEnd = { stopReason: '', lastLoss: NaN, testLoss: NaN, stoppedEarly: false };
  let windowStart = Date.now();
  let windowImages = 0;
  let order: Int32Array | undefined;
  let orderEpoch = -1;
  const corrupt = (step: number) => (step > 0 && step === clock.resumedAt ? `the checkpoint it resumed from (${ckptDir}) may be corrupt` : 'lower training.learningRate');
  while (decoder.step < totalSteps) {
    if (ctx.signal.aborted) {
      await checkpoint(t, decoder, clock, end.stopBudget);
      updateManifest(t.runDir, { stopReason: `cancelled at step ${decoder.step} (checkpoint kept; run the config again to resume)` });
      throw new JobCancelledError();
    }
    if (Date.now() > clock.deadline) {
      end.stoppedEarly = true;
      const m = clock.limitsAt(decoder.step).find((l) => l.kind === 'minutes');
      end.stopBudget = m ? { kind: 'minutes', used: m.used, limit: m.limit } : undefined;
      end.stopReason = budgetReached({ kind: 'minutes', limit: config.training.maxMinutes as number });
      break;
    }
    const step = decoder.step;
    const epoch = Math.floor(step / stepsPerEpoch);
    if (epoch !== orderEpoch) { order = permutation(pairs, config.training.seed * 100003 + epoch); orderEpoch = epoch; }
    const at = (step % stepsPerEpoch) * B;
    const idx = (order as Int32Array).subarray(at, Math.min(at + B, pairs));
    const lr = scheduledLearningRate(config.training.lrSchedule, config.training.learningRate, clock.fraction(step));
    decoder.setLearningRate(lr);
    const outcome = await decoder.trainStep(hostBatch(data.train, t.flippedTargets, idx, data.dim, data.size, idTargets));
    if (outcome.skipped) {
      ctx.log('warn', `step ${decoder.step} skipped: ${outcome.reason}`);
      if (decoder.consecutiveSkips >= MAX_SKIPPED_STEPS) {
        throw new Error(`training stopped at step ${decoder.step}: ${decoder.consecutiveSkips} consecutive steps had non-finite gradients; ${corrupt(step)}`);
      }
      await yieldToEventLoop();
      continue;
    }
    end.lastLoss = outcome.loss;
    if (!Number.isFinite(end.lastLoss)) throw new Error(`training diverged at step ${step + 1}: loss is ${end.lastLoss}; ${corrupt(step)}`);
    windowImages += idx.length;
    const elapsed = (Date.now() - windowStart) / 1000;
    const imgPerSec = elapsed > 0 ? windowImages / elapsed : 0;
    if (elapsed > 10) { windowStart = Date.now(); windowImages = 0; }
    const line: MetricsLine = { time: new Date().toISOString(), step: decoder.step, epoch, split: 'train', loss: end.lastLoss, imgPerSec, lr, ...(outcome.terms ? { terms: outcome.terms } : {}) };
    metrics.append(line);
    const done = decoder.step;
    if (done % config.training.evalEvery === 0 || done === totalSteps) {
      end.testLoss = await heldOutLossOf(decoder, data);
      metrics.append({ time: new Date().toISOString(), step: done, epoch, split: 'test', loss: end.testLoss });
    }
    ctx.progress(done, totalSteps, { loss: end.lastLoss, imgPerSec, epoch, ...(Number.isFinite(end.testLoss) ? { testLoss: end.testLoss } : {}) }, undefined, clock.budgetAt(done));
    if (done % config.training.checkpointEvery === 0) await checkpoint(t, decoder, clock, end.stopBudget);
    await yieldToEventLoop();
  }
  if (!end.stopReason) {
    end.stopBudget = { kind: 'epochs', used: decoder.step / stepsPerEpoch, limit: config.training.epochs };
    end.stopReason = budgetReached(end.stopBudget);
  }
  return end;
}

async function checkpoint(t: TrainingShape, decoder: DecoderRunner, clock: TrainingClock, stopBudget?: Budget): Promise<void> {
  await decoder.save(t.ckptDir);
  updateManifest(t.runDir, { progress: clock.progressOf(decoder.step, stopBudget) });
}

/** The last held-out loss, the final checkpoint, the decoder in model/ with its meta.json, run.json finished. */
async function saveDecoder(config: RunConfig, ctx: AttackContext, t: TrainingShape, decoder: DecoderRunner, metrics: MetricsWriter, clock: TrainingClock, end: LoopEnd,
  surrogateRecord: DecoderModelMeta['surrogate']): Promise<TrainOutcome> {
  const { data, stepsPerEpoch, totalSteps, runDir } = t;
  const { stopReason, stopBudget, lastLoss } = end;
  let testLoss = end.testLoss;
  ctx.log('info', `stopped at step ${decoder.step} (epoch ${(decoder.step / stepsPerEpoch).toFixed(1)} of ${config.training.epochs}): ${stopReason}`);
  if (!Number.isFinite(testLoss) || end.stoppedEarly) {
    testLoss = await heldOutLossOf(decoder, data);
    metrics.append({ time: new Date().toISOString(), step: decoder.step, split: 'test', loss: testLoss });
  }
  await checkpoint(t, decoder, clock, stopBudget);
  const modelDir = path.join(runDir, RUN_FILES.model);
  await decoder.save(modelDir);
  const trainSeconds = (Date.now() - clock.startedAt) / 1000;
  const meta: DecoderModelMeta = {
    kind: 'faceinv-blackbox-decoder', encoderId: config.encoder, embeddingDim: data.dim, outputSize: data.size,
    template: TARGET_TEMPLATE, inputNormalization: 'l2', config,
    split: { seed: data.split.seed, testFraction: data.split.testFraction, train: data.split.train.length, test: data.split.test.length },
    steps: decoder.step, trainSeconds, testLoss, ...(surrogateRecord ? { surrogate: surrogateRecord } : {}),
  };
  writeJsonAtomic(path.join(modelDir, 'meta.json'), meta);
  updateManifest(runDir, { state: 'finished', trainSeconds, stopReason, progress: clock.progressOf(decoder.step, stopBudget) });
  ctx.progress(decoder.step, totalSteps, { loss: lastLoss, testLoss }, undefined, { budget: stopBudget, stopReason });
  ctx.log('info', `finished at step ${decoder.step}: train loss ${lastLoss.toFixed(4)}, held-out loss ${testLoss.toFixed(4)}, ${trainSeconds.toFixed(0)} s`);
  return { runDir, modelDir, steps: decoder.step, epochs: Math.ceil(decoder.step / stepsPerEpoch), trainSeconds, trainLoss: lastLoss, testLoss, stoppedEarly: end.stoppedEarly };
}

function concatRows(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
