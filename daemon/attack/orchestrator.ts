/**
 * One owner of a run: resolves the encoder config once, judges the route once, makes (or reads) the identity
 * split once and stores it in the run folder, obtains the face model, attacks every held-out target, writes
 * the reconstructions, and evaluates — passing the decision, the split and the resolved options down.
 *
 *   face model   pca (built from the attacker's training faces) | decoder (trained here, or another run's)
 *   start        ridge | nearest | decoder
 *   route        white box: gradient search through E (known.differentiable)
 *                black box: query search (zeroth-order | genetic) or none (the start is the answer)
 *
 * Shared by `faceinv run`, `faceinv demo` and the daemon's `run` job. A rerun of a finished run re-evaluates
 * it; an interrupted decoder training resumes from its checkpoint.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { configIdentity, type RunConfig } from '../protocol/runConfig';
import { resolveDatasetPath } from '../config/datasetPath';
import { limitIdentities, openImageDataset, subsetByIdentity } from '../data/dataset';
import { getAlignedCrops, getEmbeddings, getEmbeddingsWithCrops } from '../data/embeddingCache';
import type { AlignmentSpec } from '../data/templates';
import { findEncoderConfig, scopeOf } from '../encoders/registry';
import { chooseRows, evaluateRun } from '../evaluation/evaluate';
import { PIPELINE_DETECTOR_ID } from '../evaluation/roles';
import type { EvaluationReport } from '../protocol/report';
import { RUN_FILES, type ReconstructionIndex, type RunManifest } from '../protocol/runFolder';
import { claimRunFolder, MetricsWriter, readJson, truncateMetrics, updateManifest } from '../runs/runFolder';
import { loadDecoderModel } from '../blackbox/decoderModel';
import { writeReconstructions } from '../blackbox/reconstruct';
import { runDirOf, trainBlackBox } from '../blackbox/train';
import { judgeRoute, RouteDecision } from '../encoders/judge';
import type { AttackContext } from '../runs/context';
import { JobCancelledError, throwIfCancelled } from '../runs/context';
import { DecoderFaceModel } from './faceModel/decoder';
import { buildPcaFaceModel, PcaFaceModel } from './faceModel/pca';
import { findPcaFaceModel, keepPcaFaceModel } from './faceModel/pcaCache';
import { defaultCacheDir } from '../data/pipeline';
import type { FaceModel } from './faceModel/types';
import { makeFaceCheck } from './faceCheck';
import { checkFrame, renderFaces } from './inversion';
import { ensureRunSplit, readRunSplit } from './runSplit';
import { whiteboxWithRestarts } from './search/whiteboxRestarts';
import { blackboxSearch } from './blackboxSearch';
import type { AttackerPhotos } from './search/surrogatePrior';
import { AttackerPairs, startLatents } from './start';
import { announcePhase, phaseSink, runPhases } from './phases';

export interface AttackOptions {
  overwrite?: boolean;
  cacheDir?: string;
  workers?: number;
  /** Evaluate after the attack (default true). */
  evaluate?: boolean;
  evalEncoders?: string[];
}

export interface AttackOutcome {
  runDir: string;
  decision: RouteDecision;
  report?: EvaluationReport;
  /** Wall time of the attack itself (training, face model, search), seconds. */
  attackSeconds: number;
}

function methodText(config: RunConfig, decision: RouteDecision, model: FaceModel): string {
  const start = { ridge: 'ridge-regression start', nearest: 'top-5 nearest training faces start', decoder: "the decoder's answer as start" }[config.start];
  if (decision.route === 'whitebox') {
    const w = config.whitebox;
    return `white box: ${model.describe()}; ${start}; ${w.steps} gradient steps through ${config.encoder}${w.restarts > 1 ? ` × ${w.restarts} restarts` : ''}${w.select === 'detected' ? ', answers the face detector finds' : ''}`;
  }
  const search = config.search.method === 'none' ? 'no per-target queries' : `${config.search.method} search, ${config.search.queries} queries per target`;
  return `black box: ${model.describe()}; ${start}; ${search}`;
}


export async function runAttack(config: RunConfig, ctx: AttackContext, opts: AttackOptions = {}): Promise<AttackOutcome> {
  const t0 = Date.now();
  const entry = findEncoderConfig(config.encoder, scopeOf(ctx.workspaceDir));
  const enc = entry.config;
  if (entry.shadows) ctx.log('warn', `encoder "${enc.id}" comes from the workspace's ${entry.file}, which replaces the shipped ${entry.shadows}`);
  const decision = judgeRoute(enc, config.route);
  ctx.log('info', `route: ${decision.route} — ${decision.reason}`);
  const runDir = runDirOf(config, ctx.workspaceDir);
  const datasetDir = resolveDatasetPath(config.dataset.path, ctx.workspaceDir);
  const dataOpts = { cacheDir: opts.cacheDir, workers: opts.workers, workspaceDir: ctx.workspaceDir };
  const phase = runPhases(opts.evaluate !== false);

  const indexFile = path.join(runDir, RUN_FILES.reconstructionIndex);
  const manifestFile = path.join(runDir, RUN_FILES.manifest);
  const finished = !opts.overwrite && fs.existsSync(indexFile) && fs.existsSync(manifestFile) &&
    readJson<{ state?: string; method?: string }>(manifestFile).state === 'finished' && readJson<{ method?: string }>(manifestFile).method !== undefined;
  if (finished) {
    claimRunFolder(runDir, configIdentity(config), false);
    ctx.setRunDir(runDir);
    ctx.log('info', `${runDir}: the attack already finished; evaluating it again`);
  } else {
    if (trainsDecoder(config)) {
      // The seed's route: train the decoder in this run folder first (resumable); it claims the folder.
      announcePhase(ctx, phase('attack', 'training the decoder'));
      await trainBlackBox(config, ctx, { overwrite: opts.overwrite, cacheDir: opts.cacheDir, workers: opts.workers, decision });
    } else {
      claimRunFolder(runDir, configIdentity(config), opts.overwrite ?? false);
    }
    ctx.setRunDir(runDir);
    const dataset = limitIdentities(openImageDataset(datasetDir), config.dataset.maxIdentities, config.split.seed);
    const split = ensureRunSplit(runDir, dataset, config);
    updateManifest(runDir, {
      name: config.name, kind: decision.route, encoderId: config.encoder, embeddingDim: enc.embeddingDim,
      encoderConfig: { file: entry.file, ...(entry.shadows ? { shadows: entry.shadows } : {}) },
      route: { chosen: decision.route, requested: decision.requested, reason: decision.reason },
      encoderRoles: encoderRoles(config, decision),
      ...(fs.existsSync(manifestFile) ? {} : { createdAt: new Date().toISOString() }), state: 'running',
    });
    try {
      await attack(config, ctx, { runDir, enc, decision, dataset, split, dataOpts, phase, ...(config.minutes !== undefined ? { deadline: t0 + config.minutes * 60_000 } : {}) });
    } catch (err) {
      // A cancelled run says so in run.json (the dashboard otherwise takes it for a run.json of an older version).
      updateManifest(runDir, err instanceof JobCancelledError || ctx.signal.aborted
        ? { state: 'interrupted', stopReason: 'cancelled before the attack finished (run the config again to start it over)' }
        : { state: 'failed', error: (err as Error).message });
      throw err;
    }
  }
  const attackSeconds = readJson<{ trainSeconds?: number }>(manifestFile).trainSeconds ?? (Date.now() - t0) / 1000;
  if (opts.evaluate !== false) announcePhase(ctx, phase('evaluation', 'evaluating the reconstructions'));
  const report = opts.evaluate === false ? undefined : await evaluateRun(runDir, ctx, { ...dataOpts, evalEncoders: opts.evalEncoders });
  return { runDir, decision, attackSeconds, ...(report ? { report } : {}) };
}

interface AttackPlan {
  runDir: string;
  enc: ReturnType<typeof findEncoderConfig>['config'];
  decision: RouteDecision;
  dataset: ReturnType<typeof openImageDataset>;
  split: ReturnType<typeof ensureRunSplit>;
  dataOpts: { cacheDir?: string; workers?: number; workspaceDir: string };
  phase: ReturnType<typeof runPhases>;
  /** When the run's wall-clock budget (config.minutes) ends, Date.now() units. */
  deadline?: number;
}

async function attack(config: RunConfig, ctx: AttackContext, p: AttackPlan): Promise<void> {
  const { runDir, enc, decision, split, dataOpts } = p;
  // Dataset passes report as setup phases: a new run is shown with what it is doing from its first second.
  const setup = (label: string) => ({ ...dataOpts, progress: phaseSink(ctx, p.phase('setup', label)) });
  const trainDs = subsetByIdentity(p.dataset, split.train);
  const testDs = subsetByIdentity(p.dataset, split.test);
  // Only a decoder's training resumes across runs; anything else starts its clock again (an overwritten run's time is not carried).
  const trainSecondsBefore = trainsDecoder(config) ? readJson<{ trainSeconds?: number }>(path.join(runDir, RUN_FILES.manifest)).trainSeconds ?? 0 : 0;
  const tAttack = Date.now();

  // The face model, in a frame the attacked encoder takes by a resize.
  let model: FaceModel;
  let pairs: AttackerPairs;
  let photos: AttackerPhotos | undefined;
  if (config.faceModel.kind === 'pca') {
    const frame: AlignmentSpec = { template: enc.alignment.template, size: enc.alignment.size };
    ctx.log('info', `the attacker's training data: ${trainDs.images.length} photos of ${split.train.length} identities, queried once each (cached after the first run)`);
    announcePhase(ctx, p.phase('setup', "embedding the attacker's photos"));
    const train = await getEmbeddingsWithCrops(trainDs, config.encoder, frame, setup("embedding the attacker's photos"));
    throwIfCancelled(ctx);
    const key = { datasetId: trainDs.id, rels: train.rels, frame, components: config.faceModel.components, clamp: config.faceModel.clamp, seed: config.training.seed };
    const cacheDir = dataOpts.cacheDir ?? defaultCacheDir();
    let pca = findPcaFaceModel(runDir, cacheDir, key);
    if (!pca) {
      announcePhase(ctx, p.phase('setup', 'building the PCA face model'));
      ctx.log('info', `building the PCA face model: ${config.faceModel.components} components of ${train.rels.length} training faces (kept for every run with this split)`);
      pca = await buildPcaFaceModel(train.crops, train.rels.length, frame, { components: config.faceModel.components, clamp: config.faceModel.clamp, seed: config.training.seed, log: (m) => ctx.log('info', m), signal: ctx.signal });
      await keepPcaFaceModel(pca, runDir, cacheDir, key);
    } else {
      ctx.log('info', `using the PCA face model built for this split before (${pca.describe()})`);
    }
    model = pca;
    photos = { templates: train.embeddings, dim: train.dim, crops: train.crops, rels: train.rels, identities: train.identities, datasetId: trainDs.id };
    pairs = { templates: train.embeddings, dim: train.dim, latents: await (pca as PcaFaceModel).project(train.crops, train.rels.length), latentDim: pca.latentDim, n: train.rels.length };
  } else {
    const genDir = config.faceModel.run ? path.resolve(ctx.workspaceDir, config.faceModel.run) : runDir;
    if (config.faceModel.run) {
      // A decoder from another run must not have trained on this run's targets.
      const genSplit = readRunSplit(genDir);
      const trained = new Set([...genSplit.train, ...genSplit.validation]);
      const leaked = split.test.filter((id) => trained.has(id));
      if (leaked.length) {
        throw new Error(`the decoder of ${genDir} was trained on ${leaked.length} of this run's held-out identities (e.g. ${leaked[0]}): ` +
          'its split differs from this run\'s; use the same dataset, split and dataset.maxIdentities as the decoder\'s run, or train a decoder in this run');
      }
    }
    const loaded = await loadDecoderModel(genDir);
    if (loaded.meta.encoderId !== config.encoder) {
      loaded.decoder.dispose();
      throw new Error(`the decoder of ${genDir} was trained on ${loaded.meta.encoderId} templates, this run attacks ${config.encoder}`);
    }
    model = new DecoderFaceModel(loaded);
    const train = await getEmbeddings(trainDs, config.encoder, setup("embedding the attacker's photos"));
    pairs = { templates: train.embeddings, dim: train.dim, latents: train.embeddings, latentDim: train.dim, n: train.rels.length };
  }
  try {
    checkFrame(model, enc);
    const k = model.latentDim;
    const testEmb = await getEmbeddings(testDs, config.encoder, setup('embedding the held-out targets'));
    const rows = chooseRows(testEmb.rels.length, config.evaluation.maxImages, config.split.seed);
    const targets = rows.map((r) => testEmb.embeddings.slice(r * testEmb.dim, (r + 1) * testEmb.dim));
    const ids = rows.map((r) => testEmb.rels[r]);
    ctx.log('info', `${targets.length} held-out targets of ${new Set(rows.map((r) => testEmb.identities[r])).size} identities; start: ${config.start}`);
    const start = startLatents(config.start, targets, pairs);
    model.clampLatents(start);
    throwIfCancelled(ctx);

    const metricsFile = path.join(runDir, RUN_FILES.metrics);
    if (!trainsDecoder(config)) truncateMetrics(metricsFile, -1);
    const metrics = new MetricsWriter(metricsFile);
    const S = model.frame.size;
    const testCrops = await getAlignedCrops(testDs, model.frame.template, S, setup('aligning the held-out photos'));
    announcePhase(ctx, p.phase('attack', decision.route === 'whitebox' ? 'white-box search' : config.search.method !== 'none' ? 'query search' : "rendering the start's faces"));
    const cropRow = new Map(testCrops.rels.map((r, i) => [r, i]));
    const S3 = S * S * 3;
    const writeIndex = async (latents: Float32Array, cosine: (number | undefined)[], queries: (number | undefined)[]): Promise<ReconstructionIndex> => {
      const images = await renderFaces(model, latents, targets.length);
      return writeReconstructions(path.join(runDir, RUN_FILES.reconstructions), ids.map((id, i) => {
        const c = cropRow.get(id);
        return {
          id, identity: testEmb.identities[rows[i]], source: id, image: images.subarray(i * S3, (i + 1) * S3),
          ...(c !== undefined ? { original: testCrops.crops.subarray(c * S3, (c + 1) * S3) } : {}),
          ...(cosine[i] !== undefined && Number.isFinite(cosine[i]) ? { cosine: cosine[i] } : {}),
          ...(queries[i] !== undefined ? { queries: queries[i] } : {}),
        };
      }), S, { encoderId: config.encoder, title: `${config.name}: reconstructions of held-out faces`, frame: model.frame });
    };
    let latents = start;
    let cosine: (number | undefined)[] = targets.map(() => undefined);
    let queries: (number | undefined)[] = decision.route === 'blackbox' ? targets.map(() => 0) : targets.map(() => undefined);
    try {
      if (decision.route === 'whitebox') {
        let step = 0;
        const check = config.whitebox.select === 'detected' ? await makeFaceCheck(model) : null;
        const res = await whiteboxWithRestarts(model, enc, targets, start, config.whitebox, {
          ...(check ? { detect: check.detect } : {}),
          seed: config.training.seed, signal: ctx.signal, engine: config.training.engine, workspaceDir: ctx.workspaceDir,
          warn: (m) => ctx.log('warn', m),
          onStep: (b, batches, s) => {
            step++;
            metrics.append({ time: new Date().toISOString(), step, split: 'search', loss: s.loss, cosine: s.meanCosine });
            const used = b * config.whitebox.steps + s.step, limit = batches * config.whitebox.steps;
            ctx.progress(used, limit, { loss: s.loss, cosine: s.meanCosine, batch: b + 1 }, undefined,
              { budget: { kind: 'steps', used, limit }, ...(used === limit ? { stopReason: `budget of ${config.whitebox.steps} gradient steps × ${config.whitebox.restarts} restart(s) per target reached` } : {}) });
          },
        });
        await check?.dispose();
        const undetected = res.detected.filter((d) => !d).length;
        if (check && undetected) ctx.log('warn', `${undetected} white-box answers are not found by the face detector in any of the ${config.whitebox.restarts} restart(s)`);
        if (res.aborted) throw new JobCancelledError();
        const diverged = res.diverged.filter(Boolean).length;
        if (diverged) ctx.log('warn', `${diverged} targets diverged (non-finite loss) and were stopped; their best result so far is kept`);
        latents = res.latents;
        cosine = res.cosine;
        ctx.log('info', `white box on ${res.engine.chosen} (${res.engine.reason})`);
        updateManifest(runDir, { engine: res.engine });
      } else if (config.search.method !== 'none') {
        const out = await blackboxSearch(ctx, {
          config, enc, model, targets, ids, start, runDir, metrics, cacheDir: dataOpts.cacheDir, ...(photos ? { photos } : {}), ...(p.deadline ? { deadline: p.deadline } : {}),
          writeSnapshot: async (z, c, q) => { await writeIndex(z, c, q); },
        });
        latents = out.latents;
        cosine = out.cosine;
        queries = out.queries;
      }
      await writeIndex(latents, cosine, queries);
    } finally {
      metrics.close();
    }
    const seconds = trainSecondsBefore + (Date.now() - tAttack) / 1000;
    updateManifest(runDir, { state: 'finished', trainSeconds: seconds, method: methodText(config, decision, model) });
    ctx.log('info', `attack finished in ${(seconds / 60).toFixed(1)} min: ${methodText(config, decision, model)}`);
  } finally {
    model.dispose();
  }
}

/** Every model the attack uses, by role (run.json), so none of them is counted as transfer. */
function encoderRoles(config: RunConfig, decision: RouteDecision): NonNullable<RunManifest['encoderRoles']> {
  const surrogates = new Set<string>();
  if (decision.route === 'blackbox' && config.search.method === 'zeroth-order' && config.search.surrogate) surrogates.add(config.search.surrogate.encoder);
  if (trainsDecoder(config) && config.decoder.identity) surrogates.add(config.decoder.identity.surrogate);
  const detects = decision.route === 'whitebox' ? config.whitebox.select === 'detected' : config.search.method !== 'none' && config.search.detectorCheck;
  return { attacked: config.encoder, surrogates: [...surrogates], ...(detects ? { acceptanceDetector: PIPELINE_DETECTOR_ID } : {}) };
}

function trainsDecoder(config: RunConfig): boolean {
  return config.faceModel.kind === 'decoder' && !config.faceModel.run;
}
