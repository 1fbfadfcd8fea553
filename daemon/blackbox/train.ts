/**
 * Black-box inverse-decoder training (seed claims 2–6): embeddings from the queried encoder in, aligned
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
import { tf } from '../engine/tf';
import { Decoder, DecoderOptions } from '../nets/decoder';
import { DecoderRunner, HostBatch, openDecoderRunner } from '../ort/decoderRunner';
import { JobCancelledError, AttackContext, throwIfCancelled, yieldToEventLoop } from '../runs/context';
import { budgetReached, governingBudget, type Budget, type BudgetLimit } from '../protocol/budget';
import { MetricsLine, RUN_FILES, type RunManifest } from '../protocol/runFolder';
import { claimRunFolder, MetricsWriter, truncateMetrics, updateManifest, writeJsonAtomic } from '../runs/runFolder';
import { buildTrainingData, flipCrops, PairSet, TrainingData } from './trainingSet';
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

export function runDirOf(config: RunConfig, workspaceDir: string): string {
  return path.resolve(workspaceDir, config.runsDir, config.name);
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
  const idTerm = config.decoder.identity && config.decoder.identity.weight > 0 ? config.decoder.identity : null;
  if (config.decoder.identity && !(Number.isFinite(config.decoder.identity.weight) && config.decoder.identity.weight >= 0)) {
    throw new Error(`decoder.identity.weight must be a finite number ≥ 0, got ${config.decoder.identity.weight}`);
  }
  // Checked before any data is built: a surrogate that cannot be used is a config error.
  const surrogatePlan = idTerm ? resolveSurrogate(idTerm.surrogate, config.encoder, config.training.engine ?? 'auto', config.decoder.outputSize, ctx.workspaceDir) : null;
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

  const ckptDir = path.join(runDir, RUN_FILES.checkpoints, 'latest');
  const decoderOptions: DecoderOptions = {
    inputDim: data.dim, outputSize: config.decoder.outputSize, residualLayers: config.decoder.residualLayers,
    noiseVariance: config.decoder.noiseVariance, loss: config.decoder.loss, learningRate: config.training.learningRate,
    seed: config.training.seed,
    ...(config.decoder.baseChannels !== undefined ? { baseChannels: config.decoder.baseChannels } : {}),
    ...(config.decoder.linearBase ? { linearBase: true } : {}),
    ...(config.decoder.ssimWeight > 0 ? { ssimWeight: config.decoder.ssimWeight } : {}),
    ...(idTerm ? { identityWeight: idTerm.weight } : {}),
  };
  const resumeFrom = findCheckpoint(ckptDir);
  // Time spent before the first step that belongs to the method (fitting the linear base) counts against
  // the time budget, so every option is compared at equal wall time.
  let setupMs = 0;
  let linear: LinearBaseInit | null = null;
  if (config.decoder.linearBase && !resumeFrom) {
    const t0 = Date.now();
    const n = train.rels.length;
    linear = await fitLinearBase({
      n: pairs, dim: data.dim, outDim: data.size * data.size * 3,
      z: flip ? concatRows(train.embeddings, train.flipEmbeddings as Float32Array) : train.embeddings,
      pixels: (r) => {
        const S3 = data.size * data.size * 3;
        const t = train.targetIndex[r >= n ? r - n : r];
        return (r >= n ? (flippedTargets as Uint8Array) : train.targets).subarray(t * S3, (t + 1) * S3);
      },
    }, undefined, ctx.signal);
    setupMs = Date.now() - t0;
    ctx.log('info', `linear base: ridge regression from ${data.dim}-d templates to ${data.size}×${data.size} pixels on ${pairs} pairs in ${(setupMs / 1000).toFixed(1)} s`);
  }
  let surrogate: Surrogate | null = null;
  let idTargets: IdentityTargets | undefined;
  if (surrogatePlan && idTerm) {
    surrogate = await openSurrogate(surrogatePlan, ctx.workspaceDir);
    const dsId = data.dataset.id;
    const plain = await surrogateTargets(surrogate, train.crops, train.rels, data.size, dsId, { cacheDir: opts.cacheDir, workspaceDir: ctx.workspaceDir, log: (m) => ctx.log('info', m) });
    const flipped = flip ? await surrogateTargets(surrogate, flipCrops(train.crops, data.size), train.rels, data.size, dsId, { cacheDir: opts.cacheDir, workspaceDir: ctx.workspaceDir, flipped: true, log: (m) => ctx.log('info', m) }) : undefined;
    if (idTerm.target === 'template') {
      // Distil the black box from the attacker's own pairs: a linear head from F's embeddings to templates.
      const t0 = Date.now();
      const n = train.rels.length;
      const feats = flipped ? concatRows(plain, flipped) : plain;
      const temps = flip ? concatRows(train.embeddings, train.flipEmbeddings as Float32Array) : train.embeddings;
      const head = fitTemplateHead(feats, temps, flipped ? 2 * n : n, surrogate.dim, data.dim);
      surrogate = withTemplateHead(surrogate, head);
      idTargets = { dim: data.dim, plain: train.embeddings, ...(flip ? { flipped: train.flipEmbeddings as Float32Array } : {}) };
      const headMs = Date.now() - t0;
      // Part of the method, like the linear base: it counts against the time budget.
      setupMs += headMs;
      ctx.log('info', `identity term against the attacked templates: a linear head ${head.inDim}→${head.outDim} from ${surrogatePlan.config.id}'s embeddings, fitted on ${flipped ? 2 * n : n} training pairs in ${(headMs / 1000).toFixed(1)} s`);
    } else {
      idTargets = { dim: surrogate.dim, plain, ...(flipped ? { flipped } : {}) };
    }
  }
  let decoder: DecoderRunner;
  try {
    decoder = await openDecoderRunner(config.training.engine ?? 'auto', {
      create: decoderOptions, resumeFrom, batch: B, warn: (m) => ctx.log('warn', m), linear,
      identity: surrogate ? { id: surrogate.id, dim: surrogate.dim, ort: surrogate.ort, ortObstacle: surrogate.plan.ortObstacle, tfjs: () => surrogate!.tfjs() } : null,
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
  const resumedAt = decoder.step;
  if (resumedAt > 0) ctx.log('info', `resumed from checkpoint at step ${resumedAt}`);
  truncateMetrics(metricsFile, decoder.step);
  const metrics = new MetricsWriter(metricsFile);
  const startedAt = Date.now() - setupMs;
  const deadline = config.training.maxMinutes ? startedAt + config.training.maxMinutes * 60_000 : Infinity;
  // Budgets (protocol/budget.ts): the epochs of the config and, when set, its minutes (of this session,
  // as the deadline above counts them); progress reports the one that runs out first.
  const limitsAt = (done: number): BudgetLimit[] => [
    { kind: 'epochs', used: done / stepsPerEpoch, limit: config.training.epochs, usedAtStart: resumedAt / stepsPerEpoch },
    ...(config.training.maxMinutes ? [{ kind: 'minutes' as const, used: (Date.now() - startedAt) / 60_000, limit: config.training.maxMinutes }] : []),
  ];
  const budgetAt = (done: number) => governingBudget(limitsAt(done), (Date.now() - startedAt) / 1000);
  /** Share of the governing budget used (the learning-rate schedule's clock). */
  const budgetFraction = (done: number) => Math.max(done / totalSteps, config.training.maxMinutes ? (Date.now() - startedAt) / (config.training.maxMinutes * 60_000) : 0);
  const progressOf = (done: number, budget = budgetAt(done).budget): NonNullable<RunManifest['progress']> =>
    ({ step: done, totalSteps, epoch: Math.floor(done / stepsPerEpoch), totalEpochs: config.training.epochs, budget });
  let stopReason = '';
  let stopBudget: Budget | undefined;
  let lastLoss = NaN;
  let testLoss = NaN;
  let stoppedEarly = false;
  let windowStart = Date.now();
  let windowImages = 0;
  const checkpoint = async () => {
    await decoder.save(ckptDir);
    updateManifest(runDir, { progress: progressOf(decoder.step, stopBudget) });
  };
  try {
    let order: Int32Array | undefined;
    let orderEpoch = -1;
    while (decoder.step < totalSteps) {
      if (ctx.signal.aborted) {
        await checkpoint();
        updateManifest(runDir, { stopReason: `cancelled at step ${decoder.step} (checkpoint kept; run the config again to resume)` });
        throw new JobCancelledError();
      }
      if (Date.now() > deadline) {
        stoppedEarly = true;
        stopBudget = limitsAt(decoder.step).find((l) => l.kind === 'minutes');
        if (stopBudget) stopBudget = { kind: 'minutes', used: stopBudget.used, limit: stopBudget.limit };
        stopReason = budgetReached({ kind: 'minutes', limit: config.training.maxMinutes as number });
        break;
      }
      const step = decoder.step;
      const epoch = Math.floor(step / stepsPerEpoch);
      if (epoch !== orderEpoch) { order = permutation(pairs, config.training.seed * 100003 + epoch); orderEpoch = epoch; }
      const at = (step % stepsPerEpoch) * B;
      const idx = (order as Int32Array).subarray(at, Math.min(at + B, pairs));
      const lr = scheduledLearningRate(config.training.lrSchedule, config.training.learningRate, budgetFraction(step));
      decoder.setLearningRate(lr);
      const outcome = await decoder.trainStep(hostBatch(train, flippedTargets, idx, data.dim, data.size, idTargets));
      if (outcome.skipped) {
        ctx.log('warn', `step ${decoder.step} skipped: ${outcome.reason}`);
        if (decoder.consecutiveSkips >= MAX_SKIPPED_STEPS) {
          throw new Error(`training stopped at step ${decoder.step}: ${decoder.consecutiveSkips} consecutive steps had non-finite gradients; ` +
            (step > 0 && step === resumedAt ? `the checkpoint it resumed from (${ckptDir}) may be corrupt` : 'lower training.learningRate'));
        }
        await yieldToEventLoop();
        continue;
      }
      lastLoss = outcome.loss;
      if (!Number.isFinite(lastLoss)) {
        throw new Error(`training diverged at step ${step + 1}: loss is ${lastLoss}; ` +
          (step > 0 && step === resumedAt ? `the checkpoint it resumed from (${ckptDir}) may be corrupt` : 'lower training.learningRate'));
      }
      windowImages += idx.length;
      const elapsed = (Date.now() - windowStart) / 1000;
      const imgPerSec = elapsed > 0 ? windowImages / elapsed : 0;
      if (elapsed > 10) { windowStart = Date.now(); windowImages = 0; }
      const line: MetricsLine = { time: new Date().toISOString(), step: decoder.step, epoch, split: 'train', loss: lastLoss, imgPerSec, lr, ...(outcome.terms ? { terms: outcome.terms } : {}) };
      metrics.append(line);
      const done = decoder.step;
      if (done % config.training.evalEvery === 0 || done === totalSteps) {
        testLoss = await heldOutLossOf(decoder, data);
        metrics.append({ time: new Date().toISOString(), step: done, epoch, split: 'test', loss: testLoss });
      }
      ctx.progress(done, totalSteps, { loss: lastLoss, imgPerSec, epoch, ...(Number.isFinite(testLoss) ? { testLoss } : {}) }, undefined, budgetAt(done));
      if (done % config.training.checkpointEvery === 0) await checkpoint();
      await yieldToEventLoop();
    }
    if (!stopReason) {
      stopBudget = { kind: 'epochs', used: decoder.step / stepsPerEpoch, limit: config.training.epochs };
      stopReason = budgetReached(stopBudget);
    }
    ctx.log('info', `stopped at step ${decoder.step} (epoch ${(decoder.step / stepsPerEpoch).toFixed(1)} of ${config.training.epochs}): ${stopReason}`);
    if (!Number.isFinite(testLoss) || stoppedEarly) {
      testLoss = await heldOutLossOf(decoder, data);
      metrics.append({ time: new Date().toISOString(), step: decoder.step, split: 'test', loss: testLoss });
    }
    await checkpoint();
    const modelDir = path.join(runDir, RUN_FILES.model);
    await decoder.save(modelDir);
    const trainSeconds = (Date.now() - startedAt) / 1000;
    const meta: DecoderModelMeta = {
      kind: 'faceinv-blackbox-decoder', encoderId: config.encoder, embeddingDim: data.dim, outputSize: data.size,
      template: 'arcface-5pt', inputNormalization: 'l2', config,
      split: { seed: data.split.seed, testFraction: data.split.testFraction, train: data.split.train.length, test: data.split.test.length },
      steps: decoder.step, trainSeconds, testLoss, ...(surrogateRecord ? { surrogate: surrogateRecord } : {}),
    };
    writeJsonAtomic(path.join(modelDir, 'meta.json'), meta);
    updateManifest(runDir, { state: 'finished', trainSeconds, stopReason, progress: progressOf(decoder.step, stopBudget) });
    ctx.progress(decoder.step, totalSteps, { loss: lastLoss, testLoss }, undefined, { budget: stopBudget, stopReason });
    ctx.log('info', `finished at step ${decoder.step}: train loss ${lastLoss.toFixed(4)}, held-out loss ${testLoss.toFixed(4)}, ${trainSeconds.toFixed(0)} s`);
    return { runDir, modelDir, steps: decoder.step, epochs: Math.ceil(decoder.step / stepsPerEpoch), trainSeconds, trainLoss: lastLoss, testLoss, stoppedEarly };
  } catch (err) {
    updateManifest(runDir, err instanceof JobCancelledError ? { state: 'interrupted' } : { state: 'failed', error: (err as Error).message, stopReason: undefined });
    throw err;
  } finally {
    metrics.close();
    await decoder.dispose();
    await surrogate?.dispose();
  }
}

function concatRows(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
