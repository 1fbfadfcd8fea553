/**
 * The data API the rest of the daemon calls: embeddings of a dataset under an encoder, and aligned crops of a
 * dataset under a template, both served from the resumable caches of pipeline.ts (computed on first use,
 * read back afterwards). Failed images are left out of `files` and listed in `failed`.
 */
import { openImageDataset, ImageDataset } from './dataset';
import * as path from 'node:path';
import { defaultCacheDir, embeddingsLogPath, facesLogPath, imageKey, imageSlot, runFacePipeline, PipelineOptions, PipelineOutcome, PipelineStats, EncoderTarget } from './pipeline';
import { RecordLog } from './recordLog';
import { encoderTarget } from './encoderTarget';
import type { FaceFailure } from './errors';
import { AlignmentSpec, alignmentKey, getTemplate } from './templates';

export interface DataApiOptions extends PipelineOptions {
  /** Workspace: its encoder configs are looked up besides the shipped ones, and `{ path }` models are relative to it. */
  workspaceDir?: string;
  /** Use this encoder identity instead of looking the id up in the registry (tests, custom loaders). */
  encoderTarget?: EncoderTarget;
}

export interface EmbeddingSet {
  encoder: EncoderTarget;
  /** Absolute paths of the embedded images, dataset order. */
  files: string[];
  /** Dataset-relative paths (`<Identity>/<file>`), same order. */
  rels: string[];
  /** Identity of each file. */
  identities: string[];
  /** [files.length, dim] row-major, each row L2-normalised. */
  embeddings: Float32Array;
  dim: number;
  failed: FaceFailure[];
  stats: PipelineStats;
}

export interface CropSet {
  alignment: AlignmentSpec;
  files: string[];
  rels: string[];
  identities: string[];
  /** [files.length, size, size, 3] uint8 RGB. */
  crops: Uint8Array;
  failed: FaceFailure[];
  stats: PipelineStats;
}

function toDataset(d: ImageDataset | string): ImageDataset {
  return typeof d === 'string' ? openImageDataset(d) : d;
}

/** Embeddings of every image of `dataset` (a folder or an opened dataset) under encoder `encoderId`. */
export async function getEmbeddings(dataset: ImageDataset | string, encoderId: string, opts: DataApiOptions = {}): Promise<EmbeddingSet> {
  const ds = toDataset(dataset);
  const enc = opts.encoderTarget ?? encoderTarget(encoderId, { workspaceDir: opts.workspaceDir });
  return embeddingSetOf(await runFacePipeline(ds, { encoder: enc }, opts), enc);
}

/**
 * How many images of `dataset` getEmbeddings would still have to run through the face pipeline for
 * `encoderId`: neither embedded in the cache nor a cached failure. Reads the caches only (a first run's forecast).
 */
export function uncachedEmbeddings(dataset: ImageDataset | string, encoderId: string, opts: DataApiOptions = {}): number {
  const ds = toDataset(dataset);
  const enc = opts.encoderTarget ?? encoderTarget(encoderId, { workspaceDir: opts.workspaceDir });
  const cacheDir = path.resolve(opts.cacheDir ?? defaultCacheDir());
  const emb = RecordLog.open(embeddingsLogPath(cacheDir, ds.id, enc), imageSlot);
  const faces = RecordLog.open(facesLogPath(cacheDir, ds.id), imageSlot);
  try {
    return ds.images.filter((img) => {
      const key = imageKey(img);
      if (key.endsWith('|missing') || emb.has(key)) return false;
      const face = faces.get(key);
      return !(face && face.toString('utf8').startsWith('{"fail"'));
    }).length;
  } finally {
    emb.close();
    faces.close();
  }
}

/** The successful rows of a pipeline pass that embedded with `enc`. */
function embeddingSetOf(out: PipelineOutcome, enc: EncoderTarget): EmbeddingSet {
  const keep = out.ok;
  return {
    encoder: enc,
    files: keep.map((i) => out.images[i].file),
    rels: keep.map((i) => out.images[i].rel),
    identities: keep.map((i) => out.images[i].identity),
    embeddings: out.embeddings as Float32Array,
    dim: out.dim ?? 0,
    failed: out.failures,
    stats: out.stats,
  };
}

/**
 * Embeddings and, from the same pass over the images, aligned crops for one template (e.g. the attacker's
 * training faces in the attacked encoder's frame, for its face model); rows are the same images in the same order.
 */
export async function getEmbeddingsWithCrops(dataset: ImageDataset | string, encoderId: string, spec: AlignmentSpec, opts: DataApiOptions = {}): Promise<EmbeddingSet & { crops: Uint8Array; alignment: AlignmentSpec }> {
  const ds = toDataset(dataset);
  const enc = opts.encoderTarget ?? encoderTarget(encoderId, { workspaceDir: opts.workspaceDir });
  const alignment: AlignmentSpec = { template: getTemplate(spec.template).name, size: spec.size };
  const out = await runFacePipeline(ds, { encoder: enc, crops: [alignment] }, opts);
  return { ...embeddingSetOf(out, enc), crops: out.crops.get(alignmentKey(alignment)) as Uint8Array, alignment };
}

/**
 * Aligned crops of every image of `dataset` for `template` at side `size` (e.g. the decoder's targets:
 * 'arcface-5pt', 128), from the crop cache `<cache>/crops/…/<template>-<size>/<dataset>.log`.
 */
export async function getAlignedCrops(dataset: ImageDataset | string, template: string, size: number, opts: DataApiOptions = {}): Promise<CropSet> {
  const ds = toDataset(dataset);
  const spec: AlignmentSpec = { template: getTemplate(template).name, size };
  const out = await runFacePipeline(ds, { crops: [spec] }, opts);
  const crops = out.crops.get(alignmentKey(spec)) as Uint8Array;
  const keep = out.ok;
  return {
    alignment: spec,
    files: keep.map((i) => out.images[i].file),
    rels: keep.map((i) => out.images[i].rel),
    identities: keep.map((i) => out.images[i].identity),
    crops,
    failed: out.failures,
    stats: out.stats,
  };
}
