/**
 * Attack evaluation on the run's held-out identities, as the template-inversion literature reports it:
 * every reconstruction is re-embedded by each evaluation encoder through the same detection + alignment path
 * as real photos, then scored against the genuine templates (type I / type II success attack rates at
 * FMR 1e-2 and 1e-3, rank-1 identification), plus pixel similarity to the aligned source (SSIM, PSNR).
 * Thresholds come from the impostor distribution of each encoder on the same test identities (all
 * cross-identity pairs), so an encoder never seen by the attack (transfer) is scored the same way.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunConfig } from '../config/run';
import { resolveDatasetPath } from '../config/datasetPath';
import { openImageDataset, subsetByIdentity } from '../data/dataset';
import { getAlignedCrops, getEmbeddings, DataApiOptions, EmbeddingSet } from '../data/embeddingCache';
import { encoderTarget } from '../data/encoderTarget';
import { FaceAnalyzer } from '../data/faceAnalysis';
import { decodeImage } from '../data/image';
import { parseSplit, seededShuffle } from '../data/split';
import { allPairScores, operatingPoints } from '../data/verify';
import { loadEncoderById } from '../encoders/registry';
import { JobContext, throwIfCancelled } from '../jobs/context';
import { EncoderScores, EvaluationReport, ReconstructionIndex, RUN_FILES, RunManifest } from '../runs/layout';
import { readJson, writeFileAtomic, writeJsonAtomic } from '../runs/runFolder';
import { decodeEmbeddings, writeReconstructions } from '../blackbox/reconstruct';
import { loadDecoderModel } from '../blackbox/decoderModel';
import { TARGET_TEMPLATE } from '../blackbox/trainingSet';
import { renderGrid } from './grid';
import { psnr, ssim } from './imageQuality';
import { analyseReconstructions, embedAnalysed } from './reembed';
import { successAttackRates } from './sar';

export interface EvaluateOptions extends DataApiOptions {
  /** Encoders scoring the attack, besides the attacked one. */
  evalEncoders?: string[];
  /** At most this many test images (seeded choice); default: config.evaluation.maxImages or all. */
  maxImages?: number;
}

interface RunContext {
  runDir: string;
  config: RunConfig;
  manifest: RunManifest;
  testIdentities: string[];
  datasetDir: string;
}

function openRun(runDir: string, workspaceDir: string): RunContext {
  for (const f of [RUN_FILES.config, RUN_FILES.manifest, RUN_FILES.split]) {
    if (!fs.existsSync(path.join(runDir, f))) throw new Error(`${runDir} is not a finished run folder: ${f} is missing`);
  }
  const config = readJson<RunConfig>(path.join(runDir, RUN_FILES.config));
  const manifest = readJson<RunManifest>(path.join(runDir, RUN_FILES.manifest));
  const splitFile = path.join(runDir, RUN_FILES.split);
  const split = parseSplit(fs.readFileSync(splitFile, 'utf8'), splitFile);
  return { runDir, config, manifest, testIdentities: split.test, datasetDir: resolveDatasetPath(config.dataset.path, workspaceDir) };
}

/** Seeded choice of at most `max` rows, kept in dataset order. */
export function chooseRows(n: number, max: number | undefined, seed: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  if (!max || max >= n) return all;
  return seededShuffle(all, seed ^ 0xe7a1).slice(0, max).sort((a, b) => a - b);
}

/** Black box: decode the chosen test embeddings with the run's decoder into reconstructions/. */
async function reconstructTestSet(run: RunContext, attacked: EmbeddingSet, rows: number[], opts: EvaluateOptions, ctx: JobContext): Promise<ReconstructionIndex> {
  const { decoder, meta } = await loadDecoderModel(run.runDir);
  try {
    const size = meta.outputSize;
    const testDs = subsetByIdentity(openImageDataset(run.datasetDir), run.testIdentities);
    const crops = await getAlignedCrops(testDs, TARGET_TEMPLATE, size, opts);
    const cropRow = new Map(crops.rels.map((r, i) => [r, i]));
    const S3 = size * size * 3;
    const embeddings = rows.map((r) => attacked.embeddings.slice(r * attacked.dim, (r + 1) * attacked.dim));
    ctx.log('info', `decoding ${rows.length} test embeddings`);
    const images = decodeEmbeddings(decoder, embeddings);
    const items = rows.map((r, k) => {
      const c = cropRow.get(attacked.rels[r]);
      return {
        id: attacked.rels[r], identity: attacked.identities[r], source: attacked.rels[r],
        image: images.subarray(k * S3, (k + 1) * S3),
        ...(c !== undefined ? { original: crops.crops.subarray(c * S3, (c + 1) * S3) } : {}),
      };
    });
    return await writeReconstructions(path.join(run.runDir, RUN_FILES.reconstructions), items, size,
      { encoderId: meta.encoderId, model: path.join(run.runDir, RUN_FILES.model), title: `${run.config.name}: reconstructions of held-out faces` });
  } finally {
    decoder.dispose();
  }
}

async function readPngRgb(file: string): Promise<Uint8Array> {
  return (await decodeImage(file, { minSide: 8 })).data;
}

function pct(v: number | null): string {
  return v === null ? 'n/a' : `${(100 * v).toFixed(1)}%`;
}

export function reportMarkdown(r: EvaluationReport): string {
  const lines = [
    `# Attack evaluation: ${r.run}`,
    '',
    `Attacked encoder **${r.attackedEncoderId}** (${r.route} route); ${r.images} reconstructions of ${r.identities} held-out identities` +
      `${r.identitiesWithoutTypeII ? ` (${r.identitiesWithoutTypeII} identities have a single image: no type II pairs)` : ''}.`,
    `Pixel similarity to the aligned source: SSIM ${r.ssim.toFixed(3)}, PSNR ${r.psnr.toFixed(2)} dB.`,
    '',
    '| scored by | transfer | type I @1e-3 | type I @1e-2 | type II @1e-3 | type II @1e-2 | rank-1 | mean cos | thr @1e-3 | thr @1e-2 | not embedded |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.scores.map((s) => `| ${s.encoderId} | ${s.transfer ? 'yes' : 'no'} | ${pct(s.typeI.fmr1e3)} | ${pct(s.typeI.fmr1e2)} | ${pct(s.typeII.fmr1e3)} | ${pct(s.typeII.fmr1e2)} | ` +
      `${pct(s.rank1)} | ${s.meanCosine.toFixed(3)} | ${s.thresholds.fmr1e3.toFixed(3)} | ${s.thresholds.fmr1e2.toFixed(3)} | ${s.notEmbedded}/${s.count} |`),
    '',
    'Type I: reconstruction vs the template of its own source image. Type II: vs every other image of the same person.',
    'Thresholds: cosine at the given false match rate over all cross-identity pairs of the test identities.',
    '',
  ];
  return lines.join('\n');
}

export async function evaluateRun(runDir: string, ctx: JobContext, opts: EvaluateOptions = {}): Promise<EvaluationReport> {
  const run = openRun(path.resolve(runDir), ctx.workspaceDir);
  ctx.setRunDir(run.runDir);
  const attackedId = run.config.encoder;
  const evalIds = [attackedId, ...(opts.evalEncoders ?? run.config.evaluation.encoders).filter((e) => e !== attackedId)];
  const testDs = subsetByIdentity(openImageDataset(run.datasetDir), run.testIdentities);
  const dataOpts: DataApiOptions = { ...opts, workspaceDir: ctx.workspaceDir };

  ctx.log('info', `embedding ${testDs.images.length} test images with ${attackedId}`);
  const attacked = await getEmbeddings(testDs, attackedId, dataOpts);
  throwIfCancelled(ctx);
  let index: ReconstructionIndex;
  if (run.manifest.kind === 'blackbox') {
    const rows = chooseRows(attacked.rels.length, opts.maxImages ?? run.config.evaluation.maxImages, run.config.split.seed);
    index = await reconstructTestSet(run, attacked, rows, dataOpts, ctx);
  } else {
    const file = path.join(run.runDir, RUN_FILES.reconstructionIndex);
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run the white-box inversion of this run first`);
    index = readJson<ReconstructionIndex>(file);
  }
  const items = index.items.filter((it) => it.source !== undefined);
  if (!items.length) throw new Error(`${run.runDir}: no reconstructions with a known source image to evaluate`);
  const recDir = path.join(run.runDir, RUN_FILES.reconstructions);
  const recons = await Promise.all(items.map((it) => readPngRgb(path.join(recDir, it.image))));
  const originals = await Promise.all(items.map((it) => (it.original ? readPngRgb(path.join(recDir, it.original)) : Promise.resolve(undefined))));
  const size = Math.round(Math.sqrt(recons[0].length / 3));

  ctx.log('info', `detecting faces in ${items.length} reconstructions`);
  const analyzer = await FaceAnalyzer.load();
  let analysed;
  try {
    analysed = await analyseReconstructions(analyzer, recons, size, items.map((it) => it.image));
  } finally {
    await analyzer.dispose();
  }
  const noFace = analysed.filter((a) => !a.face).length;
  if (noFace) ctx.log('warn', `${noFace} of ${items.length} reconstructions have no detectable face: they count as failed attacks`);

  const scores: EncoderScores[] = [];
  let attackedCosines: Float32Array | undefined;
  let attackedThr1e3 = NaN;
  for (const [k, encId] of evalIds.entries()) {
    throwIfCancelled(ctx);
    ctx.progress(k, evalIds.length, {}, `scoring with ${encId}`);
    const gallery = encId === attackedId ? attacked : await getEmbeddings(testDs, encId, dataOpts);
    const pairs = allPairScores(gallery, run.testIdentities);
    const [p2, p3] = operatingPoints(pairs.genuine, pairs.impostor, [1e-2, 1e-3]);
    const thresholds = { fmr1e2: p2.threshold, fmr1e3: p3.threshold };
    const encoder = await loadEncoderById(encId, { workspaceDir: ctx.workspaceDir });
    let probesEmb: (Float32Array | null)[];
    try {
      const target = encoderTarget(encId, { workspaceDir: ctx.workspaceDir });
      probesEmb = await embedAnalysed(encoder, analysed, target.alignment);
    } finally {
      encoder.dispose();
    }
    const row = new Map(gallery.rels.map((r, i) => [r, i]));
    const probes = items.map((it, i) => ({ embedding: row.has(it.source as string) ? probesEmb[i] : null, sourceRow: row.get(it.source as string) ?? 0 }));
    const sar = successAttackRates(probes, gallery, thresholds);
    if (encId === attackedId) { attackedCosines = sar.cosines; attackedThr1e3 = thresholds.fmr1e3; }
    scores.push({
      encoderId: encId, transfer: encId !== attackedId, thresholds, typeI: sar.typeI, typeII: sar.typeII,
      rank1: sar.rank1, meanCosine: sar.meanCosine, notEmbedded: sar.notEmbedded, count: sar.count,
    });
    ctx.log('info', `${encId}: type I @1e-3 ${pct(sar.typeI.fmr1e3)}, type II @1e-3 ${pct(sar.typeII.fmr1e3)}, rank-1 ${pct(sar.rank1)}`);
  }

  let ssimSum = 0, psnrSum = 0, nq = 0;
  originals.forEach((o, i) => {
    if (!o) return;
    ssimSum += ssim(recons[i], o, size);
    const p = psnr(recons[i], o);
    psnrSum += Number.isFinite(p) ? p : 100;
    nq++;
  });
  const perIdentity = new Map<string, number>();
  for (const id of attacked.identities) perIdentity.set(id, (perIdentity.get(id) ?? 0) + 1);
  const probeIds = new Set(items.map((it) => it.identity ?? ''));
  const report: EvaluationReport = {
    createdAt: new Date().toISOString(),
    run: run.config.name,
    attackedEncoderId: attackedId,
    route: run.manifest.kind,
    identities: probeIds.size,
    images: items.length,
    identitiesWithoutTypeII: [...probeIds].filter((id) => (perIdentity.get(id) ?? 0) < 2).length,
    ssim: nq ? ssimSum / nq : NaN,
    psnr: nq ? psnrSum / nq : NaN,
    scores,
    items: items.map((it, i) => ({
      id: it.id, identity: it.identity ?? '', cosine: attackedCosines ? attackedCosines[i] : NaN,
      success1e3: attackedCosines ? attackedCosines[i] >= attackedThr1e3 : false,
    })),
  };
  const evalDir = path.join(run.runDir, RUN_FILES.evaluation);
  writeJsonAtomic(path.join(run.runDir, RUN_FILES.evaluationReport), report);
  writeFileAtomic(path.join(run.runDir, RUN_FILES.evaluationMarkdown), reportMarkdown(report));
  const show = items.slice(0, 24).map((it, i) => ({
    original: originals[i], reconstruction: recons[i], ok: report.items[i].success1e3,
    lines: [
      `cos ${Number.isFinite(report.items[i].cosine) ? report.items[i].cosine.toFixed(3) : 'no face'} ${report.items[i].success1e3 ? '✓' : '✗'} @1e-3`,
      (it.identity ?? '').slice(0, 24),
    ],
  }));
  fs.mkdirSync(evalDir, { recursive: true });
  await renderGrid(path.join(run.runDir, RUN_FILES.evaluationGrid), show, size);
  ctx.progress(evalIds.length, evalIds.length, { typeI1e3: scores[0].typeI.fmr1e3 }, 'done');
  return report;
}
