/**
 * The black-box training set: for every training image, its embedding obtained by querying
 * the encoder as a black box, paired with a target face — the image's own aligned crop, or its identity's
 * *average face* (pixel mean of the identity's aligned crops). With flip augmentation the encoder is also
 * queried on the mirrored crop, and the mirrored target is used (faces are near-symmetric, so this doubles
 * the pairs without inventing identities).
 *
 * Targets are `arcface-5pt` aligned crops at the decoder's output size, so reconstructions come out in the
 * same alignment every encoder's pipeline understands.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunConfig } from '../protocol/runConfig';
import { getAlignedCrops, getEmbeddings, DataApiOptions } from '../data/embeddingCache';
import { defaultCacheDir } from '../data/pipeline';
import { formatProgress, ProgressSink } from '../data/progress';
import { ImageDataset, limitIdentities, openImageDataset } from '../data/dataset';
import { IdentitySplit, makeIdentitySplit, parseSplit, splitToJson } from '../data/split';
import type { FaceFailure } from '../data/errors';
import { tf } from '../tfjs/tf';
import { loadEncoderById } from '../encoders/load';
import { encoderTarget } from '../data/encoderTarget';
import { writeFileAtomic } from '../runs/runFolder';
import { RUN_FILES } from '../protocol/runFolder';

/** The decoder's target template. */
export const TARGET_TEMPLATE = 'arcface-5pt';

export interface PairSet {
  /** Dataset-relative path of each source image. */
  rels: string[];
  identities: string[];
  /** [N, dim] L2-normalised encoder outputs. */
  embeddings: Float32Array;
  /** [N, dim] embeddings of the mirrored crops (flip augmentation), when enabled. */
  flipEmbeddings?: Float32Array;
  /** [N, S, S, 3] uint8 aligned crops (the type-I reference pictures). */
  crops: Uint8Array;
  /** Row in `targets` of each pair. */
  targetIndex: Int32Array;
  /** [T, S, S, 3] uint8 targets: average faces (one per identity) or the crops themselves. */
  targets: Uint8Array;
}

export interface TrainingData {
  dataset: ImageDataset;
  split: IdentitySplit;
  dim: number;
  size: number;
  train: PairSet;
  /** Held-out identities carved from the training side for model selection (split.validationFraction > 0). */
  validation: PairSet | null;
  test: PairSet;
  failed: FaceFailure[];
}


/** Pixel mean of each identity's crops: [T, S, S, 3] uint8, T = distinct identities in order of appearance. */
export function averageFaces(crops: Uint8Array, identities: readonly string[], size: number): { targets: Uint8Array; targetIndex: Int32Array } {
  const S3 = size * size * 3;
  const ids = [...new Set(identities)];
  const slot = new Map(ids.map((id, i) => [id, i]));
  const sums = new Float64Array(ids.length * S3);
  const counts = new Int32Array(ids.length);
  const targetIndex = new Int32Array(identities.length);
  identities.forEach((id, n) => {
    const t = slot.get(id) as number;
    targetIndex[n] = t;
    counts[t]++;
    const src = crops.subarray(n * S3, (n + 1) * S3);
    const base = t * S3;
    for (let k = 0; k < S3; k++) sums[base + k] += src[k];
  });
  const targets = new Uint8Array(ids.length * S3);
  for (let t = 0; t < ids.length; t++) {
    for (let k = 0; k < S3; k++) targets[t * S3 + k] = Math.round(sums[t * S3 + k] / counts[t]);
  }
  return { targets, targetIndex };
}

/** Mirrors [N, S, S, 3] uint8 crops left-right. */
export function flipCrops(crops: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(crops.length);
  const row = size * 3;
  for (let base = 0; base < crops.length; base += size * row) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const s = base + y * row + x * 3;
        const d = base + y * row + (size - 1 - x) * 3;
        out[d] = crops[s]; out[d + 1] = crops[s + 1]; out[d + 2] = crops[s + 2];
      }
    }
  }
  return out;
}

/**
 * Embeddings of the mirrored encoder-aligned crops, cached beside the embedding cache (keyed by encoder,
 * model hash, dataset and image list) so every run of the same encoder and data reuses them.
 */
async function flipEmbeddings(ds: ImageDataset, encoderId: string, rels: string[], dim: number, opts: DataApiOptions, log: (m: string) => void): Promise<Float32Array> {
  const target = encoderTarget(encoderId, { workspaceDir: opts.workspaceDir });
  const listHash = createHash('sha1').update(rels.join('\n')).digest('hex').slice(0, 16);
  const cacheFile = path.join(opts.cacheDir ?? defaultCacheDir(), 'flip', `${encoderId}-${target.modelHash.slice(0, 16)}`, `${ds.id}-${listHash}.f32`);
  if (fs.existsSync(cacheFile)) {
    const buf = fs.readFileSync(cacheFile);
    if (buf.byteLength === rels.length * dim * 4) return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  }
  const encoder = await loadEncoderById(encoderId, { workspaceDir: opts.workspaceDir });
  try {
    const cropSet = await getAlignedCrops(ds, target.alignment.template, target.alignment.size, opts);
    const size = cropSet.alignment.size;
    const index = new Map(cropSet.rels.map((r, i) => [r, i]));
    const S3 = size * size * 3;
    const out = new Float32Array(rels.length * dim);
    const batch = 32;
    const t0 = Date.now();
    for (let start = 0; start < rels.length; start += batch) {
      const n = Math.min(batch, rels.length - start);
      const chunk = new Uint8Array(n * S3);
      for (let k = 0; k < n; k++) {
        const i = index.get(rels[start + k]);
        if (i === undefined) throw new Error(`no ${encoderId} crop for ${rels[start + k]}`);
        chunk.set(cropSet.crops.subarray(i * S3, (i + 1) * S3), k * S3);
      }
      const flipped = flipCrops(chunk, size);
      const images = tf.tidy(() => tf.tensor4d(flipped, [n, size, size, 3], 'int32').toFloat().div(255) as tf.Tensor4D);
      try {
        const rows = await encoder.embed(images);
        rows.forEach((r, k) => out.set(r, (start + k) * dim));
      } finally {
        images.dispose();
      }
      if (start === 0 || Math.floor(start / batch) % 40 === 0) log(`flip embeddings: ${start + n}/${rels.length} (${((start + n) / ((Date.now() - t0) / 1000)).toFixed(0)} img/s)`);
    }
    writeFileAtomic(cacheFile, new Uint8Array(out.buffer));
    return out;
  } finally {
    encoder.dispose();
  }
}

export interface BuildOptions extends DataApiOptions {
  runDir: string;
  datasetDir: string;
  log(message: string): void;
}

function pick<T extends { length: number }>(rows: number[], src: Uint8Array | Float32Array, width: number): T {
  const out = new (src.constructor as { new(n: number): Uint8Array | Float32Array })(rows.length * width);
  rows.forEach((r, k) => out.set(src.subarray(r * width, (r + 1) * width), k * width));
  return out as unknown as T;
}

/** A data-pipeline progress sink that reports through a log function every `seconds`. */
export function loggingProgress(label: string, log: (m: string) => void, seconds = 15): ProgressSink {
  const t0 = Date.now();
  let last = 0;
  const line = (d: number, t: number, f: number) => formatProgress(label, d, t, f, (Date.now() - t0) / 1000);
  return {
    update(done, total, failed) {
      if (Date.now() - last < seconds * 1000) return;
      last = Date.now();
      log(line(done, total, failed));
    },
    finish(done, total, failed) { if (Date.now() - t0 > 2000) log(line(done, total, failed)); },
  };
}

/** Builds (or reads back from caches) everything training and evaluation need, and saves the split. */
export async function buildTrainingData(config: RunConfig, opts: BuildOptions): Promise<TrainingData> {
  const dataset = limitIdentities(openImageDataset(opts.datasetDir), config.dataset.maxIdentities, config.split.seed);
  const splitFile = path.join(opts.runDir, RUN_FILES.split);
  const split = fs.existsSync(splitFile)
    ? parseSplit(fs.readFileSync(splitFile, 'utf8'), splitFile)
    : makeIdentitySplit(dataset.identities, { seed: config.split.seed, testFraction: config.split.testFraction, validationFraction: config.split.validationFraction });
  if (!fs.existsSync(splitFile)) writeFileAtomic(splitFile, splitToJson(split));

  const size = config.decoder.outputSize;
  opts.log(`embedding ${dataset.images.length} images of ${dataset.identities.length} identities with ${config.encoder} (cached after the first run)`);
  const emb = await getEmbeddings(dataset, config.encoder, { ...opts, progress: opts.progress ?? loggingProgress('embed', opts.log) });
  opts.log(`aligning ${dataset.images.length} images to ${TARGET_TEMPLATE} ${size}×${size} (cached after the first run)`);
  const crops = await getAlignedCrops(dataset, TARGET_TEMPLATE, size, { ...opts, progress: opts.progress ?? loggingProgress('align', opts.log) });
  const cropRow = new Map(crops.rels.map((r, i) => [r, i]));
  const failed = [...emb.failed];
  const S3 = size * size * 3;

  const sides = { train: new Set(split.train), validation: new Set(split.validation), test: new Set(split.test) };
  const build = async (side: 'train' | 'validation' | 'test'): Promise<PairSet> => {
    const embRows: number[] = [];
    const cRows: number[] = [];
    emb.rels.forEach((rel, i) => {
      const c = cropRow.get(rel);
      if (c !== undefined && sides[side].has(emb.identities[i])) { embRows.push(i); cRows.push(c); }
    });
    const rels = embRows.map((i) => emb.rels[i]);
    const identities = embRows.map((i) => emb.identities[i]);
    const sideCrops = pick<Uint8Array>(cRows, crops.crops, S3);
    const embeddings = pick<Float32Array>(embRows, emb.embeddings, emb.dim);
    const { targets, targetIndex } = config.target === 'average-face'
      ? averageFaces(sideCrops, identities, size)
      : { targets: sideCrops, targetIndex: Int32Array.from(rels.map((_, i) => i)) };
    const flip = side === 'train' && config.training.augmentation.flip
      ? await flipEmbeddings(dataset, config.encoder, rels, emb.dim, opts, opts.log)
      : undefined;
    return { rels, identities, embeddings, crops: sideCrops, targets, targetIndex, ...(flip ? { flipEmbeddings: flip } : {}) };
  };
  const train = await build('train');
  const validation = split.validation.length ? await build('validation') : null;
  const test = await build('test');
  if (train.rels.length === 0) throw new Error(`no usable training images in ${opts.datasetDir} (all failed or split empty)`);
  if (test.rels.length === 0) throw new Error(`no usable test images in ${opts.datasetDir}`);
  return { dataset, split, dim: emb.dim, size, train, validation, test, failed };
}
