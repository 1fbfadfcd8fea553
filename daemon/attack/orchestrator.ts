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
import { limitIdentities, openImageDataset, subsetByIdentity, type ImageDataset } from '../data/dataset';
import { getAlignedCrops, getEmbeddings, getEmbeddingsWithCrops, uncachedEmbeddings } from '../data/embeddingCache';
import type { AlignmentSpec } from '../data/templates';
import { chooseRows, evaluateRun } from '../evaluation/evaluate';
import { PIPELINE_DETECTOR_ID } from '../evaluation/roles';
import type { EvaluationReport } from '../protocol/report';
import { RUN_FILES, type ReconstructionIndex, type RunManifest } from '../protocol/runFolder';
import { claimRunFolder, MetricsWriter, readJson, runDirOf, truncateMetrics, updateManifest } from '../runs/runFolder';
import { writeReconstructions } from '../decoder/reconstruct';
import { trainBlackBox } from '../decoder/train';
import type { RouteDecision } from '../encoders/judge';
import type { AttackContext } from '../runs/attackContext';
import { JobCancelledError, throwIfCancelled } from '../runs/attackContext';
import { openDecoderFaceModel } from './faceModel/decoder';
import { buildPcaFaceModel, PcaFaceModel } from './faceModel/pca';
import { findPcaFaceModel, keepPcaFaceModel } from './faceModel/pcaCache';
import { defaultCacheDir } from '../data/pipeline';
import type { FaceModel } from './faceModel/types';
import { checkFrame, renderFaces } from './inversion';
import { ensureRunSplit, readRunSplit } from './runSplit';
import { invertTargets, type Inversion, type InvertHooks } from './invert';
import { planAttack, runAttackSpec, searchesByQueries, type AttackPlan } from './plan';
import { MIN_SEARCH_MINUTES, queryReportHooks, reportQuerySearch, reportWhitebox, searchMinutes, whiteboxReportHooks, type QueryReportInput } from './runReport';
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
  const plan = planAttack(runAttackSpec(config), ctx.workspaceDir);
  const { entry, enc, decision } = plan;
  if (entry.shadows) ctx.log('warn', `encoder "${enc.id}" comes from the workspace's ${entry.file}, which replaces the shipped ${entry.shadows}`);
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
      await attack(config, ctx, { runDir, plan, dataset, split, dataOpts, phase, ...(config.minutes !== undefined ? { deadline: t0 + config.minutes * 60_000 } : {}) });
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
  const report = opts.evaluate === false ? undefined : await evaluateRun(runDir, ctx, { ...dataOpts, evalEncoders: opts.evalEncoders, ...(config.minutes !== undefined ? { deadline: t0 + config.minutes * 60_000 } : {}) });
  return { runDir, decision, attackSeconds, ...(report ? { report } : {}) };
}

/** One run's attack: its plan, folder, data and split, and how its setup reports. */
interface RunAttack {
  runDir: string;
  plan: AttackPlan;
  dataset: ImageDataset;
  split: ReturnType<typeof ensureRunSplit>;
  dataOpts: { cacheDir?: string; workers?: number; workspaceDir: string };
  phase: ReturnType<typeof runPhases>;
  /** When the run's wall-clock budget (config.minutes) ends, Date.now() units. */
  deadline?: number;
}

/** The face model with the attacker's pairs (for the start) and, for PCA, the photos a surrogate prior is fitted on. */
interface RunFaceModel { model: FaceModel; pairs: AttackerPairs; photos?: AttackerPhotos }

/** The held-out targets: their templates, ids, rows of the test set and identities. */
interface HeldOut { targets: Float32Array[]; ids: string[]; identities: string[] }

async function attack(config: RunConfig, ctx: AttackContext, p: RunAttack): Promise<void> {
  const { runDir, plan, split } = p;
  const trainDs = subsetByIdentity(p.dataset, split.train);
  const testDs = subsetByIdentity(p.dataset, split.test);
  // Only a decoder's training resumes across runs; anything else starts its clock again (an overwritten run's time is not carried).
  const trainSecondsBefore = trainsDecoder(config) ? readJson<{ trainSeconds?: number }>(path.join(runDir, RUN_FILES.manifest)).trainSeconds ?? 0 : 0;
  const tAttack = Date.now();
  if (p.deadline !== undefined) forecastFirstRun(config, ctx, p, trainDs, testDs);
  const { model, pairs, photos } = config.faceModel.kind === 'pca' ? await pcaFaceModel(config, ctx, p, trainDs) : await decoderFaceModel(config, ctx, p, trainDs);
  try {
    checkFrame(model, plan.enc);
    const held = await heldOutTargets(config, ctx, p, testDs);
    ctx.log('info', `${held.targets.length} held-out targets of ${new Set(held.identities).size} identities; start: ${config.start}`);
    if (p.deadline !== undefined) await prepareTransferGalleries(config, ctx, p, testDs);
    const start = startLatents(plan.start, held.targets, pairs);
    model.clampLatents(start);
    throwIfCancelled(ctx);

    const metricsFile = path.join(runDir, RUN_FILES.metrics);
    if (!trainsDecoder(config)) truncateMetrics(metricsFile, -1);
    const metrics = new MetricsWriter(metricsFile);
    const writeIndex = await indexWriter(config, ctx, p, model, testDs, held);
    announcePhase(ctx, p.phase('attack', plan.decision.route === 'whitebox' ? 'white-box search' : config.search.method !== 'none' ? 'query search' : "rendering the start's faces"));
    try {
      const report: QueryReportInput = { config, targets: held.targets, ids: held.ids, runDir, metrics, writeSnapshot: async (z, c, q) => { await writeIndex(z, c, q, { finish: false }); } };
      const res = await invertTargets(plan, model, held.targets, start, runHooks(config, ctx, p, metrics, report, photos));
      if (res.aborted) throw new JobCancelledError();
      if (plan.decision.route === 'whitebox') reportWhitebox(ctx, config, runDir, res);
      else if (searchesByQueries(plan)) reportQuerySearch(ctx, report, res);
      await writeIndex(res.latents, ...answerFigures(plan, res, held.targets.length));
    } finally {
      metrics.close();
    }
    const seconds = trainSecondsBefore + (Date.now() - tAttack) / 1000;
    updateManifest(runDir, { state: 'finished', trainSeconds: seconds, method: methodText(config, plan.decision, model) });
    ctx.log('info', `attack finished in ${(seconds / 60).toFixed(1)} min: ${methodText(config, plan.decision, model)}`);
  } finally {
    model.dispose();
  }
}

/** How the run reports the inversion: metrics and progress per step, snapshots, the search's share of the budget. */
function runHooks(config: RunConfig, ctx: AttackContext, p: RunAttack, metrics: MetricsWriter, report: QueryReportInput, photos?: AttackerPhotos): InvertHooks {
  const base: InvertHooks = { signal: ctx.signal, workspaceDir: ctx.workspaceDir, log: (level, m) => ctx.log(level, m), cacheDir: p.dataOpts.cacheDir, ...(photos ? { photos } : {}) };
  if (p.plan.decision.route === 'whitebox') return { ...base, ...whiteboxReportHooks(ctx, config, metrics) };
  const startedAt = Date.now();
  const minutes = searchesByQueries(p.plan) ? searchMinutes(config, p.deadline, startedAt, (m) => ctx.log('warn', m)) : undefined;
  return { ...base, ...(minutes !== undefined ? { minutes, startedAt } : {}), ...queryReportHooks(ctx, report) };
}

/** The cosine and queries the index records per answer: the optimiser's cosine, queries on the black box (0 without a search). */
function answerFigures(plan: AttackPlan, res: Inversion, n: number): [(number | undefined)[], (number | undefined)[]] {
  const cosine = res.cosine ?? new Array<undefined>(n).fill(undefined);
  const queries = plan.decision.route === 'blackbox' ? res.queries ?? new Array<number>(n).fill(0) : new Array<undefined>(n).fill(undefined);
  return [cosine, queries];
}

/** Dataset passes report as setup phases: a new run is shown with what it is doing from its first second. */
function setupOpts(ctx: AttackContext, p: RunAttack, label: string) {
  return { ...p.dataOpts, progress: phaseSink(ctx, p.phase('setup', label)) };
}

/** The PCA face model of the attacker's training faces, in the attacked encoder's frame at `faceModel.size` (kept for every run with this split). */
async function pcaFaceModel(config: RunConfig, ctx: AttackContext, p: RunAttack, trainDs: ImageDataset): Promise<RunFaceModel> {
  const { enc } = p.plan;
  if (p.plan.faceModel.kind !== 'pca') throw new Error('pcaFaceModel: the plan has no PCA face model');
  const { components, clamp, size } = p.plan.faceModel;
  const frame: AlignmentSpec = { template: enc.alignment.template, size: size ?? enc.alignment.size };
  ctx.log('info', `the attacker's training data: ${trainDs.images.length} photos of ${p.split.train.length} identities, queried once each (cached after the first run)`);
  announcePhase(ctx, p.phase('setup', "embedding the attacker's photos"));
  const train = await getEmbeddingsWithCrops(trainDs, config.encoder, frame, setupOpts(ctx, p, "embedding the attacker's photos"));
  throwIfCancelled(ctx);
  const key = { datasetId: trainDs.id, rels: train.rels, frame, components, clamp, seed: p.plan.seed };
  const cacheDir = p.dataOpts.cacheDir ?? defaultCacheDir();
  let pca = findPcaFaceModel(p.runDir, cacheDir, key);
  if (!pca) {
    announcePhase(ctx, p.phase('setup', 'building the PCA face model'));
    ctx.log('info', `building the PCA face model: ${components} components of ${train.rels.length} training faces (kept for every run with this split)`);
    pca = await buildPcaFaceModel(train.crops, train.rels.length, frame, { components, clamp, seed: p.plan.seed, log: (m) => ctx.log('info', m), signal: ctx.signal });
    await keepPcaFaceModel(pca, p.runDir, cacheDir, key);
  } else {
    ctx.log('info', `using the PCA face model built for this split before (${pca.describe()})`);
  }
  const photos = { templates: train.embeddings, dim: train.dim, crops: train.crops, rels: train.rels, identities: train.identities, datasetId: trainDs.id };
  const pairs = { templates: train.embeddings, dim: train.dim, latents: await (pca as PcaFaceModel).project(train.crops, train.rels.length), latentDim: pca.latentDim, n: train.rels.length };
  if (p.plan.faceModel.kind === 'pca') pca.useFinish({ crops: train.crops, latents: pairs.latents, n: pairs.n }, p.plan.faceModel.finish);
  return { model: pca, pairs, photos };
}

/** The decoder this run trained, or another run's (refused when that run trained on this run's targets). */
async function decoderFaceModel(config: RunConfig, ctx: AttackContext, p: RunAttack, trainDs: ImageDataset): Promise<RunFaceModel> {
  const borrowed = p.plan.faceModel.kind === 'decoder' ? p.plan.faceModel.run : undefined;
  const genDir = borrowed ? path.resolve(ctx.workspaceDir, borrowed) : p.runDir;
  if (borrowed) {
    // A decoder from another run must not have trained on this run's targets.
    const genSplit = readRunSplit(genDir);
    const trained = new Set([...genSplit.train, ...genSplit.validation]);
    const leaked = p.split.test.filter((id) => trained.has(id));
    if (leaked.length) {
      throw new Error(`the decoder of ${genDir} was trained on ${leaked.length} of this run's held-out identities (e.g. ${leaked[0]}): ` +
        'its split differs from this run\'s; use the same dataset, split and dataset.maxIdentities as the decoder\'s run, or train a decoder in this run');
    }
  }
  const model = await openDecoderFaceModel(genDir, p.plan.enc);
  const train = await getEmbeddings(trainDs, config.encoder, setupOpts(ctx, p, "embedding the attacker's photos"));
  return { model, pairs: { templates: train.embeddings, dim: train.dim, latents: train.embeddings, latentDim: train.dim, n: train.rels.length } };
}

async function heldOutTargets(config: RunConfig, ctx: AttackContext, p: RunAttack, testDs: ImageDataset): Promise<HeldOut> {
  const testEmb = await getEmbeddings(testDs, config.encoder, setupOpts(ctx, p, 'embedding the held-out targets'));
  const rows = chooseRows(testEmb.rels.length, config.evaluation.maxImages, config.split.seed);
  return {
    targets: rows.map((r) => testEmb.embeddings.slice(r * testEmb.dim, (r + 1) * testEmb.dim)),
    ids: rows.map((r) => testEmb.rels[r]), identities: rows.map((r) => testEmb.identities[r]),
  };
}

/**
 * Under a wall-clock budget, said before any work: how many photos the caches still lack (a first run's setup,
 * paid once), and what the budget then cuts. The precise figure comes when the search starts (searchMinutes).
 */
function forecastFirstRun(config: RunConfig, ctx: AttackContext, p: RunAttack, trainDs: ImageDataset, testDs: ImageDataset): void {
  const parts = [
    { what: "the attacker's photos", n: uncachedEmbeddings(trainDs, config.encoder, p.dataOpts) },
    { what: 'the held-out photos', n: uncachedEmbeddings(testDs, config.encoder, p.dataOpts) },
    ...config.evaluation.encoders.filter((e) => e !== config.encoder).map((e) => ({ what: `the held-out photos under ${e}`, n: uncachedEmbeddings(testDs, e, p.dataOpts) })),
  ].filter((x) => x.n > 0);
  if (!parts.length) return;
  const total = parts.reduce((a, x) => a + x.n, 0);
  ctx.log('warn', `first run on this machine: ${total.toLocaleString('en-US')} photos are not embedded yet (${parts.map((x) => `${x.n.toLocaleString('en-US')} of ${x.what}`).join(', ')}); ` +
    `this setup is paid once and may not fit the run's ${config.minutes} min (about 4 min on a quiet 2-core machine, several times that on a loaded one): ` +
    `the search then gets what is left (at least ${MIN_SEARCH_MINUTES} min, fewer queries per target) and the "independent" protocol is scored only if its detections still fit; later runs reuse the caches`);
}

/**
 * Under a wall-clock budget, the held-out photos' templates under each evaluation encoder are made now
 * (cached): they are the evaluation's costliest part on a first run (2,555 photos through human-faceres),
 * and made before the search they are paid from the search's share, which is measured after setup, instead
 * of overrunning the evaluation's fixed share.
 */
async function prepareTransferGalleries(config: RunConfig, ctx: AttackContext, p: RunAttack, testDs: ImageDataset): Promise<void> {
  for (const encId of config.evaluation.encoders.filter((e) => e !== config.encoder)) {
    throwIfCancelled(ctx);
    await getEmbeddings(testDs, encId, setupOpts(ctx, p, `embedding the held-out photos with ${encId} (the evaluation's gallery)`));
  }
}

/** Writes the reconstruction index (faces beside the aligned originals): the final one and the live snapshots. */
async function indexWriter(config: RunConfig, ctx: AttackContext, p: RunAttack, model: FaceModel, testDs: ImageDataset, held: HeldOut) {
  const S = model.frame.size, S3 = S * S * 3;
  const testCrops = await getAlignedCrops(testDs, model.frame.template, S, setupOpts(ctx, p, 'aligning the held-out photos'));
  const cropRow = new Map(testCrops.rels.map((r, i) => [r, i]));
  return async (latents: Float32Array, cosine: (number | undefined)[], queries: (number | undefined)[], o: { finish?: boolean } = {}): Promise<ReconstructionIndex> => {
    const images = await renderFaces(model, latents, held.targets.length, o);
    return writeReconstructions(path.join(p.runDir, RUN_FILES.reconstructions), held.ids.map((id, i) => {
      const c = cropRow.get(id);
      return {
        id, identity: held.identities[i], source: id, image: images.subarray(i * S3, (i + 1) * S3),
        ...(c !== undefined ? { original: testCrops.crops.subarray(c * S3, (c + 1) * S3) } : {}),
        ...(cosine[i] !== undefined && Number.isFinite(cosine[i]) ? { cosine: cosine[i] } : {}),
        ...(queries[i] !== undefined ? { queries: queries[i] } : {}),
      };
    }), S, { encoderId: config.encoder, title: `${config.name}: reconstructions of held-out faces`, frame: model.frame });
  };
}

/** Every model the attack uses, by role (run.json), so none of them is counted as transfer. */
function encoderRoles(config: RunConfig, decision: RouteDecision): NonNullable<RunManifest['encoderRoles']> {
  const surrogates = new Set<string>();
  if (decision.route === 'blackbox' && (config.search.method === 'zeroth-order' || config.search.method === 'secant') && config.search.surrogate) surrogates.add(config.search.surrogate.encoder);
  if (trainsDecoder(config) && config.decoder.identity) surrogates.add(config.decoder.identity.surrogate);
  const detects = decision.route === 'whitebox' ? config.whitebox.select === 'detected' : config.search.method !== 'none' && config.search.detectorCheck;
  return { attacked: config.encoder, surrogates: [...surrogates], ...(detects ? { acceptanceDetector: PIPELINE_DETECTOR_ID } : {}) };
}

function trainsDecoder(config: RunConfig): boolean {
  return config.faceModel.kind === 'decoder' && !config.faceModel.run;
}
