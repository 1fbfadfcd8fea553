/**
 * `faceinv protect CONFIG`: the four ISO/IEC 30136 properties of each configured scheme, and of no protection,
 * on the held-out identities of the runs' seeded split (daemon/data/split.ts) under one encoder, from the
 * cached embeddings and aligned crops (daemon/data/embeddingCache.ts); the attacker's data is the training
 * side. Writes protect/<name>/report.html and report.json (report.ts).
 */
import * as path from 'node:path';
import type { ProtectConfig } from '../protocol/protectConfig';
import { resolveDatasetPath } from '../config/datasetPath';
import { openImageDataset, subsetByIdentity } from '../data/dataset';
import { getEmbeddingsWithCrops } from '../data/embeddingCache';
import { defaultCacheDir } from '../data/pipeline';
import { makeIdentitySplit, seededShuffle } from '../data/split';
import { planAttack, protectAttackSpec } from '../attack/plan';
import { loadEncoder } from '../encoders/load';
import { throwIfCancelled, type AttackContext as JobContext } from '../runs/attackContext';
import { evaluateScheme, evaluateUnprotected, type PropertyOptions, type RowResult, type SubjectSet } from './evaluate';
import { loadFaceInverter } from './faces';
import { writeProtectReport } from './report';
import { makeScheme } from './schemes';

/** Subject-bootstrap resamples of the EER / FNMR intervals (a few seconds per scheme on 400 k pairs). */
export const BOOTSTRAP_RESAMPLES = 200;

export interface ProtectOutcome { dir: string; html: string; json: string; rows: RowResult[]; seconds: number }

/** A 95 % interval, per cent: `[0.71–1.12]`. */
const ci = (c: readonly number[] | undefined) => (c ? `[${c.map((x) => (100 * x).toFixed(2)).join('–')}]` : '');
/** A 95 % interval of a value in [0, 1]: `[0.210–0.305]`. */
const ci3 = (c: readonly number[] | undefined) => (c ? `[${c.map((x) => x.toFixed(3)).join('–')}]` : '');

export function protectDirOf(config: ProtectConfig, workspaceDir: string): string {
  return path.resolve(workspaceDir, config.outDir ?? path.join('protect', config.name));
}

export async function runProtect(config: ProtectConfig, ctx: JobContext, opts: { cacheDir?: string; workers?: number; command?: string } = {}): Promise<ProtectOutcome> {
  const t0 = Date.now();
  const ws = ctx.workspaceDir;
  // The face step's attack, planned once as the run's and the audit's are (the encoder's registry entry, route, engine).
  const plan = planAttack(protectAttackSpec(config), ws);
  const enc = plan.enc;
  // Every scheme is built first, so degenerate parameters fail before any data is read.
  const schemes = config.schemes.map((c) => makeScheme(c, enc.embeddingDim));
  const dir = protectDirOf(config, ws);
  const datasetDir = resolveDatasetPath(config.dataset.path, ws);
  const dataset = openImageDataset(datasetDir);
  const split = makeIdentitySplit(dataset.identities, { seed: config.dataset.split.seed, testFraction: config.dataset.split.testFraction });
  const frame = { template: enc.alignment.template, size: enc.alignment.size };
  const dataOpts = { cacheDir: opts.cacheDir, workers: opts.workers, workspaceDir: ws };
  ctx.log('info', `split seed ${split.seed}: ${split.test.length} held-out subjects, ${split.train.length} attacker identities`);
  const tData = Date.now();
  const train = await getEmbeddingsWithCrops(subsetByIdentity(dataset, split.train), config.encoder, frame, dataOpts);
  throwIfCancelled(ctx);
  const testAll = await getEmbeddingsWithCrops(subsetByIdentity(dataset, split.test), config.encoder, frame, dataOpts);
  throwIfCancelled(ctx);
  // The subjects: at most maxImagesPerIdentity photos each (dataset order), at most maxIdentities (seeded).
  const d = testAll.dim;
  let keepIds = [...new Set(testAll.identities)].sort();
  if (config.dataset.maxIdentities !== undefined && keepIds.length > config.dataset.maxIdentities) keepIds = seededShuffle(keepIds, config.seed).slice(0, config.dataset.maxIdentities);
  const keep = new Set(keepIds);
  const count = new Map<string, number>();
  const rows: number[] = [];
  testAll.identities.forEach((id, i) => {
    if (!keep.has(id)) return;
    const c = count.get(id) ?? 0;
    if (c < config.dataset.maxImagesPerIdentity) { rows.push(i); count.set(id, c + 1); }
  });
  const subjects: SubjectSet = {
    dim: d, embeddings: new Float32Array(rows.length * d), identities: rows.map((r) => testAll.identities[r]), rels: rows.map((r) => testAll.rels[r]),
  };
  rows.forEach((r, i) => subjects.embeddings.set(testAll.embeddings.subarray(r * d, (r + 1) * d), i * d));
  const S3 = frame.size * frame.size * 3;
  const cropOf = new Map(rows.map((r) => [testAll.rels[r], testAll.crops.slice(r * S3, (r + 1) * S3)]));
  ctx.log('info', `${rows.length} photos of ${keep.size} held-out subjects; the attacker has ${train.rels.length} photos (cached embeddings and crops read in ${((Date.now() - tData) / 1000).toFixed(0)} s)`);

  const encoder = await loadEncoder(enc, { workspaceDir: ws });
  ctx.log('info', `face step: ${plan.decision.route === 'whitebox' ? `white box, ${plan.whitebox.steps} gradient steps through ${enc.id} from the ridge start` : `the ridge start alone (${plan.decision.reason})`}`);
  const faces = await loadFaceInverter({
    plan, encoder, train: { embeddings: train.embeddings, crops: train.crops, rels: train.rels, n: train.rels.length, dim: train.dim, datasetId: subsetByIdentity(dataset, split.train).id },
    outDir: dir, cacheDir: opts.cacheDir ?? defaultCacheDir(), workspaceDir: ws,
    log: (m) => ctx.log('info', m), signal: ctx.signal,
  });
  const setup = (Date.now() - t0) / 1000;
  ctx.log('info', `setup done in ${setup.toFixed(0)} s`);
  try {
    const o: PropertyOptions = {
      fmrs: config.operatingPoints, targets: config.attack.targets, steps: config.attack.steps, learningRate: config.attack.learningRate,
      ridgeLambda: config.attack.ridgeLambda, attackerPhotos: config.attack.attackerPhotos, baselinePool: config.attack.baselinePool,
      omega: config.unlinkability.omega, bins: config.unlinkability.bins, seed: config.seed, keySeed: 0, keepFaces: config.attack.keepFaces, resamples: BOOTSTRAP_RESAMPLES,
      log: (m) => ctx.log('info', m),
    };
    const attacker = { dim: d, embeddings: train.embeddings, identities: train.identities };
    const results: RowResult[] = [];
    const total = schemes.length + 1;
    ctx.progress(0, total, {}, 'no protection');
    const none = await evaluateUnprotected(subjects, attacker, faces, o);
    results.push(none);
    ctx.log('info', `no protection: EER ${(100 * none.accuracy.normal.eer).toFixed(2)} % ${ci(none.accuracy.normal.intervals?.eer)}, D↔sys ${none.unlinkability.dsys.toFixed(3)} ${ci3(none.unlinkability.dsysCI)} (${none.seconds.toFixed(0)} s)`);
    for (const [k, scheme] of schemes.entries()) {
      throwIfCancelled(ctx);
      ctx.progress(k + 1, total, {}, scheme.label);
      const r = await evaluateScheme(scheme, subjects, attacker, faces, { ...o, keySeed: config.schemes[k].keySeed }, none.accuracy.normal);
      results.push(r);
      ctx.log('info', `${r.label}: EER ${(100 * r.accuracy.normal.eer).toFixed(2)} % ${ci(r.accuracy.normal.intervals?.eer)} (stolen key ${(100 * (r.accuracy.stolenKey?.eer ?? NaN)).toFixed(2)} % ${ci(r.accuracy.stolenKey?.intervals?.eer)}), D↔sys ${r.unlinkability.dsys.toFixed(3)} ${ci3(r.unlinkability.dsysCI)}, ` +
        `stolen-key faces SAR-II @${o.fmrs[0]} ${(100 * r.attack.stolenKey.protectedOp[0].typeII).toFixed(0)} % [${r.attack.stolenKey.protectedOp[0].typeIICI.map((x) => (100 * x).toFixed(0)).join('–')}] vs baseline ${(100 * r.attack.baseline.protectedOp[0].typeII).toFixed(0)} % (${r.seconds.toFixed(0)} s)`);
    }
    ctx.progress(total, total, {}, 'writing the report');
    const seconds = (Date.now() - t0) / 1000;
    const genuine = none.accuracy.normal.genuine, impostor = none.accuracy.normal.impostor;
    const files = await writeProtectReport(dir, {
      config, rows: results, subjects: { identities: keep.size, photos: rows.length, genuinePairs: genuine, impostorPairs: impostor },
      attacker: { photos: train.rels.length, identities: new Set(train.identities).size }, victimCrops: cropOf, faceSize: frame.size,
      seconds: { total: seconds, setup, perRow: Object.fromEntries(results.map((r) => [r.label, r.seconds])) },
      command: opts.command ?? `faceinv protect ${config.name}`, encoder: enc.id,
    });
    return { dir, ...files, rows: results, seconds };
  } finally {
    faces.dispose();
    encoder.dispose();
  }
}
