/**
 * What a tune searches on, from the run's training identities only (./validationCarve.ts): the attacked
 * encoder's templates and crops of the training side; the PCA face model, the ridge start and the
 * surrogate's photos from the fit identities; validation targets (a seeded choice of validation photos) and
 * the attacked encoder's thresholds from the validation photos' impostor pairs. The face model is cached per
 * fit set and frame (daemon/attack/faceModel/pcaCache.ts), so a second tune of the same encoder reuses it.
 */
import * as path from 'node:path';
import type { RunConfig } from '../../protocol/runConfig';
import { limitIdentities, openImageDataset, subsetByIdentity } from '../../data/dataset';
import { getEmbeddingsWithCrops, type DataApiOptions } from '../../data/embeddingCache';
import { defaultCacheDir } from '../../data/pipeline';
import type { AlignmentSpec } from '../../data/templates';
import { resolveDatasetPath } from '../../config/datasetPath';
import { chooseRows } from '../../evaluation/evaluate';
import { encoderThresholds } from '../../evaluation/thresholds';
import { buildPcaFaceModel, type PcaFaceModel } from '../faceModel/pca';
import { findPcaFaceModel, keepPcaFaceModel, pcaKey, type PcaKey } from '../faceModel/pcaCache';
import type { AttackerPhotos } from '../search/surrogatePrior';
import { startLatents } from '../start';
import { assertNoTestIdentities, carveValidation, checkValidationSize, type ValidationCarve } from './validationCarve';

/** False-match rates whose validation thresholds are printed beside the ranking. */
export const TUNE_FMRS = [1e-3, 1e-4] as const;

export interface TrainingSide {
  carve: ValidationCarve;
  frame: AlignmentSpec;
  dim: number;
  /** The fit identities' photos (templates, crops in the frame): the attacker's own photos. */
  photos: AttackerPhotos;
  /** Validation photos: templates, identities. */
  valTemplates: Float32Array;
  valIdentities: string[];
  valRels: string[];
}

function rowsOf<T extends Float32Array | Uint8Array>(src: T, rows: readonly number[], w: number): T {
  const out = new (src.constructor as new (n: number) => T)(rows.length * w);
  rows.forEach((r, i) => out.set(src.subarray(r * w, (r + 1) * w), i * w));
  return out;
}

/** The training side of the run's split, embedded by the attacked encoder with crops in its frame. */
export async function loadTrainingSide(config: RunConfig, frame: AlignmentSpec, workspaceDir: string, opts: DataApiOptions): Promise<TrainingSide> {
  const ds = limitIdentities(openImageDataset(resolveDatasetPath(config.dataset.path, workspaceDir)), config.dataset.maxIdentities, config.split.seed);
  const carve = carveValidation(ds.identities, config.split);
  const trainDs = subsetByIdentity(ds, [...carve.fit, ...carve.validation]);
  assertNoTestIdentities(carve, trainDs.images.map((im) => im.identity), 'the photos the tune reads');
  const data = await getEmbeddingsWithCrops(trainDs, config.encoder, frame, { ...opts, workspaceDir });
  const val = new Set(carve.validation);
  const fitRows: number[] = [], valRows: number[] = [];
  data.identities.forEach((id, i) => (val.has(id) ? valRows : fitRows).push(i));
  checkValidationSize(new Set(valRows.map((r) => data.identities[r])).size, carve.validationFraction);
  const S3 = frame.size * frame.size * 3, d = data.dim;
  const photos: AttackerPhotos = {
    templates: rowsOf(data.embeddings, fitRows, d), dim: d, crops: rowsOf(data.crops, fitRows, S3),
    rels: fitRows.map((r) => data.rels[r]), identities: fitRows.map((r) => data.identities[r]),
    // Its own id: the surrogate's embeddings of these photos are cached apart from a run's (other photos).
    datasetId: `${ds.id}-tune-val${carve.validationFraction}`,
  };
  return {
    carve, frame, dim: d, photos, valTemplates: rowsOf(data.embeddings, valRows, d),
    valIdentities: valRows.map((r) => data.identities[r]), valRels: valRows.map((r) => data.rels[r]),
  };
}

/** The PCA face model of the fit photos (cached per fit set, frame, size, clamp and seed). */
export async function tuneFaceModel(side: TrainingSide, components: number, clamp: number, seed: number, cacheDir: string | undefined, log: (m: string) => void): Promise<PcaFaceModel> {
  const n = side.photos.rels.length;
  const key: PcaKey = { datasetId: side.photos.datasetId, rels: side.photos.rels, frame: side.frame, components, clamp, seed };
  const cache = cacheDir ?? defaultCacheDir();
  const dir = path.join(cache, 'tune', `pca-${pcaKey(key)}`);
  const found = findPcaFaceModel(dir, cache, key);
  if (found) return found;
  log(`building the PCA face model of the fit photos: ${components} components of ${n} faces (cached for the next tune)`);
  const pca = await buildPcaFaceModel(side.photos.crops, n, side.frame, { components, clamp, seed, log });
  await keepPcaFaceModel(pca, dir, cache, key);
  return pca;
}

/** Validation targets (a seeded choice of `count` validation photos) and the start latents for them. */
export async function validationTargets(side: TrainingSide, model: PcaFaceModel, config: RunConfig, count: number): Promise<{ targets: Float32Array[]; start: Float32Array; identities: number }> {
  const d = side.dim;
  const rows = chooseRows(side.valIdentities.length, count, config.split.seed);
  const targets = rows.map((r) => side.valTemplates.slice(r * d, (r + 1) * d));
  const p = side.photos, n = p.rels.length;
  const pairs = { templates: p.templates, dim: d, latents: await model.project(p.crops, n), latentDim: model.latentDim, n };
  const start = startLatents(config.start, targets, pairs);
  model.clampLatents(start);
  return { targets, start, identities: new Set(rows.map((r) => side.valIdentities[r])).size };
}

/** The attacked encoder's thresholds at TUNE_FMRS from the validation photos' impostor pairs. */
export function validationThresholds(side: TrainingSide, encoderId: string): number[] {
  const gallery = { embeddings: side.valTemplates, dim: side.dim, identities: side.valIdentities, rels: side.valRels };
  return encoderThresholds(encoderId, gallery, [...new Set(side.valIdentities)], TUNE_FMRS).points.map((p) => p.threshold);
}
