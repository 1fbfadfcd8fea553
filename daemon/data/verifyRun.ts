/**
 * `faceinv verify` as a function: embed the dataset (cached), score LFW pairs.txt with the 10-fold protocol,
 * derive FMR thresholds from the all-pairs impostor distribution of the split's test identities, save them.
 */
import { openImageDataset } from './dataset';
import { findProtocolFile, readPairs } from './lfw';
import { makeIdentitySplit } from './split';
import { getEmbeddings, DataApiOptions, EmbeddingSet } from './embeddingCache';
import { defaultCacheDir } from './pipeline';
import {
  allPairScores, operatingPoints, PairScores, saveThresholds, scorePairs, tarAtFar, TenFoldResult, tenFold, ThresholdsFile,
} from './verify';

export interface VerifyOptions extends DataApiOptions {
  encoderId: string;
  datasetDir: string;
  /** pairs.txt (default: found next to the dataset). Without one, only the FMR thresholds are computed. */
  pairsFile?: string;
  seed?: number;
  testFraction?: number;
  /** FMRs to save thresholds for (default [1e-2, 1e-3]). */
  fmrs?: number[];
}

export interface VerifyOutcome {
  thresholds: ThresholdsFile;
  thresholdsFile: string;
  tenFold?: TenFoldResult;
  pairs?: PairScores;
  embeddings: EmbeddingSet;
}

export async function verifyEncoder(opts: VerifyOptions): Promise<VerifyOutcome> {
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const ds = openImageDataset(opts.datasetDir);
  const pairsFile = opts.pairsFile ?? findProtocolFile([ds.givenDir, ds.root], 'pairs.txt') ?? undefined;
  const pairs = pairsFile ? readPairs(pairsFile) : undefined;
  const emb = await getEmbeddings(ds, opts.encoderId, { ...opts, cacheDir });
  if (emb.files.length === 0) throw new Error(`no image of ${ds.root} could be embedded (${emb.failed.length} failures)`);

  let tf: TenFoldResult | undefined;
  let ps: PairScores | undefined;
  let far: { tar: number; threshold: number } | undefined;
  if (pairs) {
    ps = scorePairs(pairs, emb);
    tf = tenFold(ps);
    far = tarAtFar(ps, 1e-3);
  }
  const split = makeIdentitySplit(ds.identities, { seed: opts.seed ?? 0, testFraction: opts.testFraction ?? 0.2 });
  const { genuine, impostor, images } = allPairScores(emb, split.test);
  if (impostor.length === 0) throw new Error(`the ${split.test.length} test identities give no impostor pair`);
  const points = operatingPoints(genuine, impostor, opts.fmrs ?? [1e-2, 1e-3]);
  const thresholds: ThresholdsFile = {
    version: 1,
    encoderId: emb.encoder.id,
    modelHash: emb.encoder.modelHash,
    alignment: emb.encoder.alignment,
    dataset: ds.root,
    split: { seed: split.seed, testFraction: split.testFraction, identitiesHash: split.identitiesHash, identities: split.test.length, images },
    impostorPairs: impostor.length,
    genuinePairs: genuine.length,
    points,
    lfw: tf && ps && far ? {
      accuracyMean: tf.mean,
      accuracyStd: tf.std,
      tarAtFar1e3: far.tar,
      thresholdAtFar1e3: far.threshold,
      pairsWithFailures: ps.pairsWithFailures,
      failedPairImages: ps.failedImages.length,
    } : undefined,
    failedImages: emb.failed.length,
    createdAt: new Date().toISOString(),
  };
  const thresholdsFile = saveThresholds(cacheDir, thresholds);
  return { thresholds, thresholdsFile, tenFold: tf, pairs: ps, embeddings: emb };
}
