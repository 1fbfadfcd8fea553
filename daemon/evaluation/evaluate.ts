/**
 * Attack evaluation on the run's held-out identities, stricter than the literature's single headline:
 * every reconstruction is scored by the attacked encoder and by encoders the attack never used (transfer;
 * an encoder the attack used as a surrogate or acceptance test is scored under that role, never as transfer:
 * roles.ts), under three protocols (`direct`, as NbNet's code scores; `redetect`, as a real photo through the
 * project's detector; `independent`, through face-api's detector, which the attack never used), at FMR
 * 1e-2 … 1e-5, beside two baselines that need no inversion (the nearest training face, the mean face) and a
 * control (the targets' own real aligned crops) scored through the same paths. Thresholds come from the
 * impostor pairs of each encoder on the test identities' real photos, with their support. Rates carry Wilson
 * intervals and counts, and identity-bootstrap intervals in which the thresholds are recomputed in every
 * resample (bootstrap.ts); failures count as failed attacks everywhere (type II included). Realism: Fréchet
 * distances in a transfer encoder's space (frechet.ts). See daemon/protocol/report.ts for the report.
 * The scoring itself is scoring.ts; under a run's deadline `independent` is scored last, when it fits
 * (independentBudget.ts); the split's real crops and baselines are detected and embedded once (detectionCache.ts,
 * cropEmbeddingCache.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import type { RunConfig } from '../protocol/runConfig';
import { resolveDatasetPath } from '../config/datasetPath';
import { openImageDataset, subsetByIdentity, type ImageDataset } from '../data/dataset';
import { getAlignedCrops, getEmbeddings, DataApiOptions, EmbeddingSet } from '../data/embeddingCache';
import { encoderTarget } from '../data/encoderTarget';
import { FACE_ANALYSIS_VERSION, FaceAnalyzer } from '../data/faceAnalysis';
import { decodeImage } from '../data/image';
import { defaultCacheDir, runFacePipeline } from '../data/pipeline';
import { DetectionCache } from './detectionCache';
import { IdentitySplit, parseSplit, seededShuffle } from '../data/split';
import { isTemplateName, type AlignmentSpec } from '../data/templates';
import { AttackContext, throwIfCancelled } from '../runs/attackContext';
import { EncoderRolesReport, EncoderThresholds, EvaluationReport, Protocol, ProtocolInfo, PROTOCOLS, ReportItem, ScoreRow, Subject } from '../protocol/report';
import { FaceApiAnalyzer } from '../data/faceApiDetector';
import { allPairScores, type AllPairScores } from '../data/verify';
import { modelFilesHash } from '../data/encoderTarget';
import { findEncoderConfig, scopeOf } from '../encoders/registry';
import { attackRoles, attackUsedDetector, withAliases, FACEAPI_DETECTOR_ID, notTransferReason, PIPELINE_DETECTOR_ID, roleOf, type AttackRoles } from './roles';
import { resampleIdentities } from './bootstrap';
import { encoderDim, realismEncoder, realismOf } from './realism';
import { ReconstructionIndexSchema } from '../protocol/webview';
import { ReconstructionIndex, RUN_FILES, RunManifest } from '../protocol/runFolder';
import { readJson, writeFileAtomic, writeJsonAtomic } from '../runs/runFolder';
import { decodeEmbeddings, writeReconstructions } from '../decoder/reconstruct';
import { loadDecoderModel } from '../decoder/decoderModel';
import { TARGET_TEMPLATE } from '../decoder/trainingSet';
import { meanImage, nearestRows } from './baselines';
import { renderGrid } from './grid';
import { pixelSimilarity } from './imageQuality';
import { meanFaceGeometry } from './meanGeometry';
import { detectIndependent, INDEPENDENT_CANVAS_FACTOR, INDEPENDENT_CANVAS_FILL, redetect, Redetected } from './protocols';
import { independentOverBudget } from './independentBudget';
import { reportMarkdown } from './reportMarkdown';
import { encoderScorer, logAttackRow, scoreSubjects, type EncoderScorer, type SubjectImages } from './scoring';
import { evaluationDistribution } from './distribution';

/** The operating points every report scores (false match rates). */
export const DEFAULT_OPERATING_POINTS = [1e-2, 1e-3, 1e-4, 1e-5];

export interface EvaluateOptions extends DataApiOptions {
  /** Encoders scoring the attack, besides the attacked one. */
  evalEncoders?: string[];
  /** At most this many test images (seeded choice); default: config.evaluation.maxImages or all. */
  maxImages?: number;
  operatingPoints?: number[];
  /** Score the `independent` protocol too (default true; it runs a second detector and costs the most). */
  independent?: boolean;
  /** Identity-bootstrap resamples (default 1000; 0 = none). */
  bootstrapResamples?: number;
  /**
   * When the run's wall-clock budget ends (Date.now() units): the `independent` protocol, whose detector costs
   * the most, is scored only when its detections and its scoring fit before it (independentBudget.ts).
   */
  deadline?: number;
}

/**
 * Resamples of the identity bootstrap. 1000 keeps the Monte-Carlo error of a 95 % percentile bound near
 * ±0.5 point at these sample sizes (Efron & Tibshirani 1993, §19.3: B ≈ 1000 for percentile intervals) and
 * costs seconds (resampled thresholds are weighted quantiles of scores sorted once). Fixed, not tuned.
 */
export const BOOTSTRAP_RESAMPLES = 1000;
/** Resamples of the Fréchet distance's interval (each costs two eigen-decompositions). */
export const REALISM_RESAMPLES = 100;

export interface OpenedRun {
  runDir: string;
  config: RunConfig;
  manifest: RunManifest;
  split: IdentitySplit;
  datasetDir: string;
}

/** Reads a run folder's config, manifest and split; a missing or corrupt one is named with what to do. */
export function openRun(runDir: string, workspaceDir: string): OpenedRun {
  const file = (f: string) => path.join(runDir, f);
  for (const f of [RUN_FILES.config, RUN_FILES.manifest, RUN_FILES.split]) {
    if (!fs.existsSync(file(f))) {
      throw new Error(`${runDir} is not a finished run folder: ${f} is missing` +
        (f === RUN_FILES.split ? ' (a run from an older version: run its config again to record the identity split)' : ' (run its config first)'));
    }
  }
  const config = readJson<RunConfig>(file(RUN_FILES.config));
  const manifest = readJson<RunManifest>(file(RUN_FILES.manifest));
  if (manifest.kind !== 'blackbox' && manifest.kind !== 'whitebox') throw new Error(`${file(RUN_FILES.manifest)}: "kind" must be blackbox or whitebox, got ${JSON.stringify(manifest.kind)}`);
  const split = parseSplit(fs.readFileSync(file(RUN_FILES.split), 'utf8'), file(RUN_FILES.split));
  return { runDir, config, manifest, split, datasetDir: resolveDatasetPath(config.dataset.path, workspaceDir) };
}

/** Seeded choice of at most `max` rows, kept in dataset order; a smaller `max` picks a subset of a larger one. */
export function chooseRows(n: number, max: number | undefined, seed: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  if (!max || max >= n) return all;
  return seededShuffle(all, seed ^ 0xe7a1).slice(0, max).sort((a, b) => a - b);
}

/** A decoder run without reconstructions yet: decode the chosen test embeddings into reconstructions/. */
async function decodeTestSet(run: OpenedRun, attacked: EmbeddingSet, rows: number[], opts: DataApiOptions, ctx: AttackContext): Promise<ReconstructionIndex> {
  const { decoder, meta } = await loadDecoderModel(run.runDir);
  try {
    const size = meta.outputSize;
    const testDs = subsetByIdentity(openImageDataset(run.datasetDir), run.split.test);
    const crops = await getAlignedCrops(testDs, TARGET_TEMPLATE, size, opts);
    const cropRow = new Map(crops.rels.map((r, i) => [r, i]));
    const S3 = size * size * 3;
    ctx.log('info', `decoding ${rows.length} test embeddings`);
    const images = decodeEmbeddings(decoder, rows.map((r) => attacked.embeddings.slice(r * attacked.dim, (r + 1) * attacked.dim)));
    const items = rows.map((r, k) => {
      const c = cropRow.get(attacked.rels[r]);
      return {
        id: attacked.rels[r], identity: attacked.identities[r], source: attacked.rels[r],
        image: images.subarray(k * S3, (k + 1) * S3),
        ...(c !== undefined ? { original: crops.crops.subarray(c * S3, (c + 1) * S3) } : {}),
      };
    });
    return await writeReconstructions(path.join(run.runDir, RUN_FILES.reconstructions), items, size,
      { encoderId: meta.encoderId, model: path.join(run.runDir, RUN_FILES.model), title: `${run.config.name}: reconstructions of held-out faces`, frame: { template: TARGET_TEMPLATE, size } });
  } finally {
    decoder.dispose();
  }
}

function readIndex(file: string): ReconstructionIndex {
  const index = readJson<unknown>(file);
  if (!Value.Check(ReconstructionIndexSchema, index)) {
    const first = [...Value.Errors(ReconstructionIndexSchema, index)][0];
    throw new Error(`${file} is not a reconstruction index (${first ? `${first.path || '/'}: ${first.message}` : 'bad shape'}); re-run the attack to rewrite it`);
  }
  return index;
}

async function readCrop(file: string, size: number | undefined): Promise<Uint8Array> {
  let img;
  try {
    img = await decodeImage(file, { minSide: 8 });
  } catch (err) {
    throw new Error(`reconstruction ${file} cannot be read (${(err as Error).message}); re-run the attack to rewrite it`);
  }
  if (img.width !== img.height || (size !== undefined && img.width !== size)) {
    throw new Error(`reconstruction ${file} is ${img.width}×${img.height} px, expected ${size ?? 'a square'}${size ? `×${size}` : ''}`);
  }
  return img.data;
}

function describeMethod(run: OpenedRun): string {
  if (run.manifest.method) return run.manifest.method;
  const c = run.config;
  return run.manifest.kind === 'whitebox'
    ? `white-box latent search through ${c.encoder}`
    : `black-box decoder (${c.target} targets, ${c.decoder.loss}, ${c.decoder.outputSize}²)`;
}

/** The attack's roles from run.json; an older run with the detector check on used the pipeline's detector. */
function rolesOfRun(run: OpenedRun, attackedId: string): AttackRoles {
  const roles = attackRoles(run.manifest, attackedId, path.join(run.runDir, RUN_FILES.manifest));
  const checked = (run.config as { search?: { detectorCheck?: boolean } }).search?.detectorCheck;
  if (!roles.acceptanceDetector && run.manifest.kind === 'blackbox' && checked) roles.acceptanceDetector = PIPELINE_DETECTOR_ID;
  return roles;
}

/** `direct` and `redetect` always; `independent` unless switched off or the attack used face-api's detector. */
function chooseProtocols(independent: boolean, roles: AttackRoles, ctx: AttackContext): Protocol[] {
  if (!independent) return ['direct', 'redetect'];
  if (attackUsedDetector(FACEAPI_DETECTOR_ID, roles)) {
    ctx.log('warn', `the attack used ${FACEAPI_DETECTOR_ID} (run.json encoderRoles), so no protocol here is independent of it: "independent" is not scored`);
    return ['direct', 'redetect'];
  }
  return [...PROTOCOLS];
}

function cacheDirOf(opts: EvaluateOptions): string {
  return path.resolve(opts.cacheDir ?? defaultCacheDir());
}

function detectionCache(opts: EvaluateOptions): DetectionCache {
  return new DetectionCache(cacheDirOf(opts), FACEAPI_DETECTOR_ID);
}

/** Per `<subject>/redetect`, the face the project's detector finds in each image (or why none). */
async function detectRedetect(subjects: readonly SubjectImages[], size: number, ctx: AttackContext, opts: EvaluateOptions): Promise<Map<string, Redetected[]>> {
  const found = new Map<string, Redetected[]>();
  // The pipeline's detector answers by its face-analysis version: a change to it makes new answers.
  const cache = new DetectionCache(cacheDirOf(opts), `${PIPELINE_DETECTOR_ID}-fa${FACE_ANALYSIS_VERSION}`);
  const total = subjects.reduce((a, s) => a + s.images.length, 0);
  ctx.log('info', `detecting faces in ${total} images (reconstructions, baselines, real crops) with ${PIPELINE_DETECTOR_ID}`);
  const analyzer = await FaceAnalyzer.load();
  try {
    for (const s of subjects) found.set(`${s.subject}/redetect`, await redetect(analyzer, s.images, size, s.images.map((_, i) => `${s.subject} ${i}`), cache));
  } finally {
    await analyzer.dispose();
  }
  return found;
}

/**
 * Adds `<subject>/independent` to `found` — face-api's face in each image's grey canvas, cached by content —
 * when the run's deadline (if any) leaves room for the detections the cache lacks and for scoring them at
 * `scoringSeconds` (measured on this machine by the protocols already scored); otherwise why not.
 */
async function detectIndependentInBudget(subjects: readonly SubjectImages[], size: number, found: Map<string, Redetected[]>, scoringSeconds: number, ctx: AttackContext, opts: EvaluateOptions): Promise<{ notScored?: string }> {
  const cache = detectionCache(opts);
  const analyzer = await FaceApiAnalyzer.load();
  try {
    if (opts.deadline !== undefined) {
      const notScored = await independentOverBudget(analyzer, subjects.flatMap((s) => s.images), size, cache, opts.deadline, scoringSeconds);
      if (notScored) {
        ctx.log('warn', `the "independent" protocol is not scored: ${notScored}`);
        return { notScored };
      }
    }
    ctx.log('info', `detecting the same images with ${FACEAPI_DETECTOR_ID} on a grey canvas ${INDEPENDENT_CANVAS_FACTOR}× the crop`);
    for (const s of subjects) {
      throwIfCancelled(ctx);
      found.set(`${s.subject}/independent`, await detectIndependent(analyzer, s.images, size, s.images.map((_, i) => `${s.subject} ${i}`), INDEPENDENT_CANVAS_FACTOR, cache));
    }
    return {};
  } finally {
    analyzer.dispose();
  }
}

/** What each protocol's detector was, whether the attack used it, and how many faces it missed per subject. */
function describeProtocols(protocols: readonly Protocol[], roles: AttackRoles, found: Map<string, Redetected[]>, independentNotScored?: string): ProtocolInfo[] {
  const missed = (protocol: Protocol) => {
    const out: Record<string, number> = {};
    for (const [key, list] of found) if (key.endsWith(`/${protocol}`)) out[key.split('/')[0]] = list.filter((x) => !x.face).length;
    return out;
  };
  const skipped: ProtocolInfo[] = independentNotScored
    ? [{ protocol: 'independent', detector: FACEAPI_DETECTOR_ID, usedByAttack: attackUsedDetector(FACEAPI_DETECTOR_ID, roles), notFound: {}, notScored: independentNotScored }]
    : [];
  return [...protocols.map((protocol): ProtocolInfo => {
    if (protocol === 'direct') return { protocol, detector: null, usedByAttack: false, notFound: {} };
    const detector = protocol === 'redetect' ? PIPELINE_DETECTOR_ID : FACEAPI_DETECTOR_ID;
    const canvas = protocol === 'redetect'
      ? { factor: 2, fill: 'the crop\'s mean border colour' }
      : { factor: INDEPENDENT_CANVAS_FACTOR, fill: `grey rgb(${INDEPENDENT_CANVAS_FILL.join(', ')})` };
    return { protocol, detector, canvas, usedByAttack: attackUsedDetector(detector, roles), notFound: missed(protocol) };
  }), ...skipped];
}

/** The report's roles: the attack's, the transfer encoders, and why the others are not transfer. */
function rolesReport(roles: AttackRoles, evalIds: readonly string[]): EncoderRolesReport {
  const notes = evalIds.map((e) => notTransferReason(e, roles)).filter((n): n is string => n !== null);
  return {
    attacked: roles.attacked, surrogates: roles.surrogates,
    ...(roles.acceptanceDetector ? { acceptanceDetector: roles.acceptanceDetector } : {}),
    transfer: evalIds.filter((e) => roleOf(e, roles) === 'transfer'), notes,
  };
}

/** The attack's reconstructions (written by the attack, or decoded now for a decoder run), checked to come from held-out identities. */
async function readReconstructions(run: OpenedRun, attacked: Awaited<ReturnType<typeof getEmbeddings>>, ctx: AttackContext, opts: EvaluateOptions, dataOpts: DataApiOptions) {
  const indexFile = path.join(run.runDir, RUN_FILES.reconstructionIndex);
  let index: ReconstructionIndex;
  if (fs.existsSync(indexFile)) index = readIndex(indexFile);
  else if (run.manifest.kind === 'blackbox' && fs.existsSync(path.join(run.runDir, RUN_FILES.model, 'meta.json'))) {
    index = await decodeTestSet(run, attacked, chooseRows(attacked.rels.length, opts.maxImages ?? run.config.evaluation.maxImages, run.config.split.seed), dataOpts, ctx);
  } else throw new Error(`${indexFile} is missing: run the attack of ${run.runDir} first`);
  const testSet = new Set(run.split.test);
  const items = index.items.filter((it) => it.source !== undefined);
  if (!items.length) throw new Error(`${indexFile}: no reconstructions with a known source image to evaluate`);
  for (const it of items) {
    const identity = (it.source as string).split('/')[0];
    if (!testSet.has(identity)) {
      throw new Error(`${indexFile}: reconstruction ${it.id} comes from ${it.source}, whose identity is not among the run's held-out identities (split.json); refusing to score it`);
    }
  }
  const recDir = path.join(run.runDir, RUN_FILES.reconstructions);
  const recons = await Promise.all(items.map((it) => readCrop(path.join(recDir, it.image), index.frame?.size)));
  const size = Math.round(Math.sqrt(recons[0].length / 3));
  recons.forEach((r, i) => { if (r.length !== recons[0].length) throw new Error(`reconstruction ${items[i].image} differs in size from ${items[0].image}`); });
  const frameTemplate = index.frame?.template ?? TARGET_TEMPLATE;
  if (!isTemplateName(frameTemplate)) throw new Error(`${indexFile}: unknown frame template "${frameTemplate}"`);
  const frame: AlignmentSpec = { template: frameTemplate, size };
  const originals = await Promise.all(items.map((it) => (it.original ? readCrop(path.join(recDir, it.original), size) : Promise.resolve(undefined))));

  return { items, recons, size, frame, originals };
}

interface ReportParts {
  run: OpenedRun; attacked: Awaited<ReturnType<typeof getEmbeddings>>; attackedId: string;
  /** The attacked encoder's all-pair scores: its thresholds' and the score distribution's. */
  attackedPairs: AllPairScores; items: ReconstructionIndex['items'];
  recons: Uint8Array[]; originals: (Uint8Array | undefined)[]; size: number; frame: AlignmentSpec; points: number[];
  thresholds: EncoderThresholds[]; rows: ScoreRow[]; attackedCos: Map<string, { cosine: number | null; failure?: string }[]>;
  nearestRels: string[]; roles: AttackRoles; evalIds: string[]; protocolInfo: ReturnType<typeof describeProtocols>;
  resamples: ReturnType<typeof resampleIdentities> | null; realism: ReturnType<typeof realismOf> | undefined;
  /** The baselines' images (pixel-similarity references) and, per target, another held-out photo of the same person. */
  subjects: readonly SubjectImages[]; samePerson: readonly (Uint8Array | undefined)[];
}

/** A subject's image for each target (subjects share images through `of`). */
function subjectImages(subjects: readonly SubjectImages[], subject: SubjectImages['subject']): Uint8Array[] {
  const s = subjects.find((x) => x.subject === subject);
  if (!s) throw new Error(`evaluation: no ${subject} images`);
  return s.of.map((k) => s.images[k]);
}

/** The evaluation report: per item, per encoder and protocol, image quality, and what the run spent. */
function buildReport(r: ReportParts): { report: EvaluationReport; reportItems: ReportItem[] } {
  const { run, attacked, attackedId, attackedPairs, items, recons, originals, size, frame, points, thresholds, rows, attackedCos, nearestRels, roles, evalIds, protocolInfo, resamples, realism, subjects, samePerson } = r;
  const attackedThr = thresholds[0].points;
  const scoredOf = (key: string, i: number) => (attackedCos.get(key) as { cosine: number | null; failure?: string }[])[i];
  const reportItems: ReportItem[] = items.map((it, i) => {
    const red = scoredOf('attack/redetect', i);
    let passesAt: number | null = null;
    for (const p of attackedThr) if (red.cosine !== null && red.cosine > p.threshold) passesAt = passesAt === null ? p.fmr : Math.min(passesAt, p.fmr);
    return {
      id: it.id, identity: it.identity ?? (it.source as string).split('/')[0], source: it.source as string, image: it.image,
      attack: { direct: scoredOf('attack/direct', i), redetect: red, ...(attackedCos.has('attack/independent') ? { independent: scoredOf('attack/independent', i) } : {}) },
      nearestFace: { rel: nearestRels[i], direct: scoredOf('nearest-face/direct', i), redetect: scoredOf('nearest-face/redetect', i) },
      passesAt,
      ...(it.cosine !== undefined && Number.isFinite(it.cosine) ? { optimiserCosine: it.cosine } : {}),
      ...(it.queries !== undefined ? { queries: it.queries } : {}),
    };
  });

  const imageQuality = {
    ...pixelSimilarity(recons, originals, size),
    references: [
      { subject: 'mean-face' as const, ...pixelSimilarity(subjectImages(subjects, 'mean-face'), originals, size) },
      { subject: 'nearest-face' as const, ...pixelSimilarity(subjectImages(subjects, 'nearest-face'), originals, size) },
      { subject: 'same-person' as const, ...pixelSimilarity(samePerson, originals, size) },
    ],
  };
  const perIdentity = new Map<string, number>();
  for (const id of attacked.identities) perIdentity.set(id, (perIdentity.get(id) ?? 0) + 1);
  const probeIds = new Set(reportItems.map((it) => it.identity));
  const optimiser = reportItems.map((it) => it.optimiserCosine).filter((c): c is number => c !== undefined);
  const queries = reportItems.map((it) => it.queries).filter((q): q is number => q !== undefined);
  const report: EvaluationReport = {
    version: 2,
    createdAt: new Date().toISOString(),
    run: run.config.name,
    attackedEncoderId: attackedId,
    route: run.manifest.kind,
    method: describeMethod(run),
    frame: { template: frame.template, size: frame.size },
    probes: items.length,
    identities: probeIds.size,
    singleImageIdentities: [...probeIds].filter((id) => (perIdentity.get(id) ?? 0) < 2).length,
    operatingPoints: points,
    thresholds,
    rows,
    imageQuality,
    ...(optimiser.length ? { optimiserMeanCosine: optimiser.reduce((a, b) => a + b, 0) / optimiser.length } : {}),
    ...(queries.length ? { queriesPerTarget: queries.reduce((a, b) => a + b, 0) / queries.length } : run.manifest.kind === 'blackbox' ? { queriesPerTarget: 0 } : {}),
    ...(run.manifest.trainSeconds !== undefined ? { attackSeconds: run.manifest.trainSeconds } : {}),
    items: reportItems,
    // The score-distribution plot of the dashboard and the audit report: histograms, not raw scores.
    distribution: evaluationDistribution(attacked, run.split.test, thresholds[0], attackedCos, attackedPairs),
    encoderRoles: rolesReport(roles, evalIds),
    protocols: protocolInfo,
    ...(resamples ? { bootstrap: { resamples: resamples.multiplicity.length, seed: resamples.seed, identities: resamples.identities.length, unit: 'identity' as const } } : {}),
    ...(realism ? { realism } : {}),
  };
  return { report, reportItems };
}

/** Writes report.json, the Markdown summary and the grid of the first faces beside their originals and nearest faces. */
async function writeEvaluation(run: OpenedRun, report: EvaluationReport, reportItems: ReportItem[], nearestImages: SubjectImages, originals: (Uint8Array | undefined)[], recons: Uint8Array[], size: number): Promise<void> {
  const evalDir = path.join(run.runDir, RUN_FILES.evaluation);
  fs.mkdirSync(evalDir, { recursive: true });
  writeJsonAtomic(path.join(run.runDir, RUN_FILES.evaluationReport), report);
  writeFileAtomic(path.join(run.runDir, RUN_FILES.evaluationMarkdown), reportMarkdown(report));
  const show = reportItems.slice(0, 24).map((it, i) => ({
    original: originals[i], reconstruction: recons[i], baseline: nearestImages.images[nearestImages.of[i]], ok: it.passesAt !== null && it.passesAt <= 1e-3,
    lines: [
      it.attack.redetect.cosine === null ? `no face (${it.attack.redetect.failure ?? 'failed'})` : `cos ${it.attack.redetect.cosine.toFixed(3)} ${it.passesAt !== null ? `✓ @${it.passesAt}` : '✗'}`,
      `nearest face ${it.nearestFace.redetect.cosine === null ? 'no face' : it.nearestFace.redetect.cosine.toFixed(3)}`,
      it.identity.slice(0, 24),
    ],
  }));
  await renderGrid(path.join(run.runDir, RUN_FILES.evaluationGrid), show, size);
}

/** Per target, another held-out photo of its identity (the first in the crops' order other than the target's own), if it has one. */
function samePersonCrops(items: ReconstructionIndex['items'], rels: readonly string[], crop: (row: number) => Uint8Array): (Uint8Array | undefined)[] {
  const firstTwo = new Map<string, number[]>();
  rels.forEach((r, i) => { const id = r.split('/')[0]; const l = firstTwo.get(id) ?? []; if (l.length < 2) firstTwo.set(id, [...l, i]); });
  return items.map((it) => {
    const source = it.source as string;
    const other = (firstTwo.get(source.split('/')[0]) ?? []).find((row) => rels[row] !== source);
    return other === undefined ? undefined : crop(other);
  });
}

/** The subjects scored beside the attack: the nearest training face, the mean training face and (the control) the targets' own photos. */
async function baselineSubjects(items: ReconstructionIndex['items'], recons: Uint8Array[], targets: Float32Array[], frame: AlignmentSpec, attackedId: string,
  testDs: ImageDataset, trainDs: ImageDataset, dataOpts: DataApiOptions, ctx: AttackContext) {
  const size = frame.size;
  // Baselines from the attacker's own training photos, in the reconstructions' frame.
  ctx.log('info', `baselines: the nearest of ${trainDs.images.length} training faces, and the mean training face`);
  const trainEmb = await getEmbeddings(trainDs, attackedId, dataOpts);
  const trainCrops = await getAlignedCrops(trainDs, frame.template, frame.size, dataOpts);
  const trainCropRow = new Map(trainCrops.rels.map((r, i) => [r, i]));
  const S3 = size * size * 3;
  const nearest = nearestRows(targets, trainEmb.embeddings, trainEmb.dim);
  const nearestRels = nearest.map((n) => trainEmb.rels[n.row]);
  const uniqueNearest = [...new Set(nearestRels)];
  const cropOf = (rel: string) => {
    const c = trainCropRow.get(rel);
    if (c === undefined) throw new Error(`nearest training face ${rel} has no ${frame.template} crop`);
    return trainCrops.crops.subarray(c * S3, (c + 1) * S3);
  };
  // The control: the targets' own real photos, aligned by the project's pipeline into the same frame.
  const testCrops = await getAlignedCrops(testDs, frame.template, frame.size, dataOpts);
  const testCropRow = new Map(testCrops.rels.map((r, i) => [r, i]));
  const realCrops = items.map((it) => {
    const c = testCropRow.get(it.source as string);
    if (c === undefined) throw new Error(`${it.source} (reconstruction ${it.id}) has no ${frame.template} crop: its photo failed the face pipeline`);
    return testCrops.crops.subarray(c * S3, (c + 1) * S3);
  });
  const subjects: SubjectImages[] = [
    { subject: 'attack', images: recons, of: items.map((_, i) => i) },
    { subject: 'nearest-face', images: uniqueNearest.map(cropOf), of: nearestRels.map((r) => uniqueNearest.indexOf(r)) },
    { subject: 'mean-face', images: [meanImage(trainCrops.crops, trainCrops.rels.length)], of: items.map(() => 0) },
    { subject: 'real-crop', images: realCrops, of: items.map((_, i) => i) },
  ];
  const trainAnalyses = (await runFacePipeline(trainDs, {}, dataOpts)).analyses;
  const meanGeometry = meanFaceGeometry(trainAnalyses, frame);

  return { subjects, nearestRels, meanGeometry, samePerson: samePersonCrops(items, testCrops.rels, (c) => testCrops.crops.subarray(c * S3, (c + 1) * S3)) };
}

export async function evaluateRun(runDir: string, ctx: AttackContext, opts: EvaluateOptions = {}): Promise<EvaluationReport> {
  const run = openRun(path.resolve(runDir), ctx.workspaceDir);
  ctx.setRunDir(run.runDir);
  const points = opts.operatingPoints ?? DEFAULT_OPERATING_POINTS;
  const attackedId = run.config.encoder;
  const evalIds = [attackedId, ...(opts.evalEncoders ?? run.config.evaluation.encoders).filter((e) => e !== attackedId)];
  // Roles first: a run.json that contradicts the config fails before any work.
  const roles = withAliases(rolesOfRun(run, attackedId), evalIds, (id) => modelFilesHash(findEncoderConfig(id, scopeOf(ctx.workspaceDir)).config, ctx.workspaceDir));
  for (const e of evalIds) { const why = notTransferReason(e, roles); if (why) ctx.log('warn', why); }
  const full = openImageDataset(run.datasetDir);
  const testDs = subsetByIdentity(full, run.split.test);
  const trainDs = subsetByIdentity(full, run.split.train);
  const dataOpts: DataApiOptions = { ...opts, workspaceDir: ctx.workspaceDir };

  ctx.log('info', `embedding ${testDs.images.length} test images with ${attackedId}`);
  const attacked = await getEmbeddings(testDs, attackedId, dataOpts);
  throwIfCancelled(ctx);

  const { items, recons, size, frame, originals } = await readReconstructions(run, attacked, ctx, opts, dataOpts);

  const attackedRow = new Map(attacked.rels.map((r, i) => [r, i]));
  const targets = items.map((it) => {
    const r = attackedRow.get(it.source as string);
    if (r === undefined) throw new Error(`${it.source} (reconstruction ${it.id}) has no ${attackedId} template: its photo failed the face pipeline`);
    return attacked.embeddings.subarray(r * attacked.dim, (r + 1) * attacked.dim);
  });

  const { subjects, nearestRels, meanGeometry, samePerson } = await baselineSubjects(items, recons, targets, frame, attackedId, testDs, trainDs, dataOpts, ctx);

  const chosen = chooseProtocols(opts.independent ?? true, roles, ctx);
  const found = await detectRedetect(subjects, size, ctx, opts);

  const B = opts.bootstrapResamples ?? BOOTSTRAP_RESAMPLES;
  const resamples = B > 0 ? resampleIdentities([...run.split.test].sort(), B, (run.config.split.seed ^ 0xb0075) >>> 0) : null;
  const bootIdentity = resamples ? new Map(resamples.identities.map((id, k) => [id, k])) : null;
  const realismId = realismEncoder(evalIds, roles, (id) => encoderDim(id, ctx.workspaceDir));
  const realismEmb = new Map<Subject, (Float32Array | null)[]>();

  const rows: ScoreRow[] = [];
  const thresholds: EncoderThresholds[] = [];
  const attackedCos = new Map<string, { cosine: number | null; failure?: string }[]>();
  const attackedPairs = allPairScores(attacked, run.split.test);
  const shared = { cacheDir: cacheDirOf(opts), attackedId, points, resamples, bootIdentity, realismId, realismEmb, rows, attackedCos, subjects, found, items, frame, meanGeometry, ctx };
  // `direct` and `redetect` first, every encoder; their measured time is what `independent` would cost to score.
  const first = chosen.filter((p) => p !== 'independent');
  const scorers: EncoderScorer[] = [];
  let scoringMs = 0;
  for (const [k, encId] of evalIds.entries()) {
    throwIfCancelled(ctx);
    ctx.progress(k, evalIds.length, {}, `scoring with ${encId}`);
    const scorer = await encoderScorer(encId, roleOf(encId, roles), { id: attackedId, set: attacked, pairs: attackedPairs }, run.split.test, testDs, points, resamples, dataOpts);
    thresholds.push(scorer.thresholds);
    scorers.push(scorer);
    const t0 = Date.now();
    await scoreSubjects({ ...shared, ...scorer, protocols: first });
    scoringMs += Date.now() - t0;
    logAttackRow(rows, encId, scorer.role, 'redetect', points, ctx);
  }
  // Realism reads `direct` alone: done before `independent`, whose budget it then does not need to cover.
  if (realismId) ctx.log('info', `realism: Fréchet distances in ${realismId}'s feature space`);
  const realism = realismId ? realismOf(realismId, realismEmb, items.map((it) => (it.source as string).split('/')[0]), resamples, REALISM_RESAMPLES) : undefined;
  let notScored: string | undefined;
  if (chosen.includes('independent')) {
    notScored = (await detectIndependentInBudget(subjects, size, found, scoringMs / 1000 / first.length, ctx, opts)).notScored;
    for (const scorer of notScored ? [] : scorers) {
      throwIfCancelled(ctx);
      await scoreSubjects({ ...shared, ...scorer, protocols: ['independent'] });
      logAttackRow(rows, scorer.encId, scorer.role, 'independent', points, ctx);
    }
  }
  const protocols = notScored ? first : chosen;
  // Rows in the report's order (encoder, then protocol), whichever pass scored them.
  const order = (r: ScoreRow) => evalIds.indexOf(r.encoderId) * PROTOCOLS.length + PROTOCOLS.indexOf(r.protocol);
  rows.sort((x, y) => order(x) - order(y));
  const protocolInfo = describeProtocols(protocols, roles, found, notScored);
  for (const p of protocolInfo) {
    const n = p.notFound.attack ?? 0;
    if (n) ctx.log('warn', `${n} of ${recons.length} reconstructions have no face for ${p.detector} ("${p.protocol}"): they count as failed attacks`);
  }

  const { report, reportItems } = buildReport({ run, attacked, attackedId, attackedPairs, items, recons, originals, size, frame, points, thresholds, rows, attackedCos, nearestRels, roles, evalIds, protocolInfo, resamples, realism, subjects, samePerson });
  await writeEvaluation(run, report, reportItems, subjects[1], originals, recons, size);
  ctx.progress(evalIds.length, evalIds.length, {}, 'done');
  return report;
}

