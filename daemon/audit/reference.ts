/**
 * The audit's reference set: labelled photos (one folder per person) that stand in for the attacker's own
 * data — they calibrate the audited system's thresholds (genuine and impostor pairs), build the face model
 * and the ridge start, and supply the lookalike baseline. Default LFW; optionally one side of a seeded
 * identity split (daemon/data/split.ts), which reproduces a run's attacker data exactly (`use: "train"`
 * with the run's seed and testFraction leaves its held-out people out).
 *
 * Embeddings of the reference under an encoder come from the face pipeline's cache when its workers can
 * load the encoder (the shipped file-based encoders), else the aligned crops come from the pipeline and are
 * embedded here by the loaded encoder (a workspace or HTTP encoder), cached per encoder hash and reference.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AuditConfig } from '../protocol/auditConfig';
import type { EncoderConfig } from '../protocol/encoderConfig';
import { resolveDatasetPath } from '../config/datasetPath';
import { ImageDataset, limitIdentities, openImageDataset, subsetByIdentity } from '../data/dataset';
import { DataApiOptions, getAlignedCrops, getEmbeddings, getEmbeddingsWithCrops } from '../data/embeddingCache';
import { encoderTarget } from '../data/encoderTarget';
import { defaultCacheDir } from '../data/pipeline';
import { hashIdentities, makeIdentitySplit } from '../data/split';
import type { AlignmentSpec } from '../data/templates';
import { httpEncoderHash } from '../encoders/httpEncoder';
import { EncoderConfigEntry, SHIPPED_ENCODER_DIR } from '../encoders/registry';
import type { Encoder } from '../encoders/types';
import { embedCrops } from '../evaluation/protocols';
import { writeFileAtomic, writeJsonAtomic } from '../runs/runFolder';

/** The service-level failure an encoder reports (HTTP encoders), if any. */
export function serviceProblem(e: Encoder): Error | undefined {
  return (e as { serviceProblem?: Error }).serviceProblem;
}

export interface ReferenceSet {
  dataset: ImageDataset;
  /** Cache key: dataset id + hash of its identities. */
  key: string;
  description: string;
}

export function openReference(ref: AuditConfig['reference'], workspaceDir: string, seed: number): ReferenceSet {
  const dir = resolveDatasetPath(ref.path, workspaceDir);
  let ds = limitIdentities(openImageDataset(dir), ref.maxIdentities, seed);
  let side = '';
  if (ref.split) {
    const s = makeIdentitySplit(ds.identities, { seed: ref.split.seed, testFraction: ref.split.testFraction });
    ds = subsetByIdentity(ds, ref.split.use === 'train' ? s.train : s.test);
    side = `, the ${ref.split.use === 'train' ? 'training' : 'test'} side of the seed-${ref.split.seed} identity split (testFraction ${ref.split.testFraction})`;
  }
  if (ds.images.length < 2) throw new Error(`reference set ${dir}${side}: ${ds.images.length} photo(s); thresholds need labelled pairs of photos`);
  const key = `${ds.id}-${hashIdentities(ds.identities).slice(0, 12)}`;
  const name = ref.path === 'lfw' ? `LFW (${path.basename(ds.root)})` : path.basename(ds.root);
  return { dataset: ds, key, description: `${name}: ${ds.images.length.toLocaleString('en-US')} photos of ${ds.identities.length.toLocaleString('en-US')} people${side}` };
}

/** What identifies an encoder's answers (cache keys, the report): model-file hash, or the service mapping for HTTP. */
export function encoderHash(entry: EncoderConfigEntry, workspaceDir: string): string {
  if (entry.config.format === 'http') return httpEncoderHash(entry.config);
  return encoderTarget(entry.config.id, { workspaceDir }).modelHash;
}

/** True when the face pipeline's workers can load this encoder themselves (they know only the shipped configs). */
function pipelineCanEmbed(entry: EncoderConfigEntry): boolean {
  return entry.config.format !== 'http' && path.dirname(path.resolve(entry.file)) === path.resolve(SHIPPED_ENCODER_DIR);
}

export interface ReferenceEmbeddings {
  rels: string[];
  identities: string[];
  /** [n, dim] unit-norm. */
  embeddings: Float32Array;
  dim: number;
  /** [n, S, S, 3] crops in `frame`, when asked for. */
  crops?: Uint8Array;
  /** Photos the pipeline or the encoder could not take. */
  failed: number;
}

export interface ReferenceEmbeddingOptions extends DataApiOptions {
  workspaceDir: string;
  log?: (m: string) => void;
  signal?: AbortSignal;
}

/**
 * The reference under `entry`'s encoder (and, with `frame`, its crops in that frame, row for row).
 * `encoder` is loaded by the caller when the pipeline cannot embed (HTTP, workspace encoders).
 */
export async function referenceEmbeddings(ref: ReferenceSet, entry: EncoderConfigEntry, frame: AlignmentSpec | null, encoder: () => Promise<Encoder>, o: ReferenceEmbeddingOptions): Promise<ReferenceEmbeddings> {
  const enc: EncoderConfig = entry.config;
  if (pipelineCanEmbed(entry)) {
    const set = frame ? await getEmbeddingsWithCrops(ref.dataset, enc.id, frame, o) : await getEmbeddings(ref.dataset, enc.id, o);
    return { rels: set.rels, identities: set.identities, embeddings: set.embeddings, dim: set.dim, ...(frame ? { crops: (set as unknown as { crops: Uint8Array }).crops } : {}), failed: set.failed.length };
  }
  const spec: AlignmentSpec = { template: enc.alignment.template, size: enc.alignment.size };
  const crops = await getAlignedCrops(ref.dataset, spec.template, spec.size, o);
  const hash = encoderHash(entry, o.workspaceDir);
  const base = path.join(path.resolve(o.cacheDir ?? defaultCacheDir()), 'audit', 'reference-embeddings', enc.id, hash.slice(0, 16), ref.key);
  const n = crops.rels.length;
  const relsHash = crypto.createHash('sha1').update(crops.rels.join('\n')).digest('hex');
  let emb: Float32Array | undefined;
  let ok: Uint8Array | undefined;
  try {
    const meta = JSON.parse(fs.readFileSync(`${base}.json`, 'utf8')) as { relsHash: string; dim: number; ok: number[] };
    const buf = fs.readFileSync(`${base}.f32`);
    if (meta.relsHash === relsHash && meta.dim === enc.embeddingDim && buf.byteLength === n * meta.dim * 4 && meta.ok.length === n) {
      emb = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
      ok = Uint8Array.from(meta.ok);
    }
  } catch { /* not cached yet */ }
  if (!emb || !ok) {
    o.log?.(`embedding ${n} reference photos with ${enc.id} (${enc.format}; cached afterwards)`);
    const e = await encoder();
    const S = spec.size * spec.size * 3;
    emb = new Float32Array(n * enc.embeddingDim);
    ok = new Uint8Array(n);
    const step = 256;
    for (let s = 0; s < n; s += step) {
      if (o.signal?.aborted) throw new Error('cancelled');
      const items = Array.from({ length: Math.min(step, n - s) }, (_, i) => ({ crop: crops.crops.subarray((s + i) * S, (s + i + 1) * S) }));
      const rows = await embedCrops(e, items, spec);
      // A service that fails as a whole must not leave a calibration with holes in the cache.
      const down = serviceProblem(e);
      if (down) throw new Error(`the reference photos could not be embedded: ${down.message}; nothing was cached — run again once the service answers`);
      rows.forEach((r, i) => { if (r.embedding) { emb!.set(r.embedding, (s + i) * enc.embeddingDim); ok![s + i] = 1; } });
      o.log?.(`  reference embeddings: ${Math.min(n, s + step)} / ${n}`);
    }
    fs.mkdirSync(path.dirname(base), { recursive: true });
    writeFileAtomic(`${base}.f32`, new Uint8Array(emb.buffer, emb.byteOffset, emb.byteLength));
    writeJsonAtomic(`${base}.json`, { relsHash, dim: enc.embeddingDim, ok: Array.from(ok), createdAt: new Date().toISOString() });
  }
  const keep = Array.from({ length: n }, (_, i) => i).filter((i) => ok![i]);
  const dim = enc.embeddingDim;
  const out = new Float32Array(keep.length * dim);
  keep.forEach((r, i) => out.set(emb!.subarray(r * dim, (r + 1) * dim), i * dim));
  let frameCrops: Uint8Array | undefined;
  if (frame) {
    const fc = frame.template === spec.template && frame.size === spec.size ? crops : await getAlignedCrops(ref.dataset, frame.template, frame.size, o);
    const row = new Map(fc.rels.map((r, i) => [r, i]));
    const F = frame.size * frame.size * 3;
    frameCrops = new Uint8Array(keep.length * F);
    keep.forEach((r, i) => { const j = row.get(crops.rels[r]); if (j !== undefined) frameCrops!.set(fc.crops.subarray(j * F, (j + 1) * F), i * F); });
  }
  return {
    rels: keep.map((r) => crops.rels[r]), identities: keep.map((r) => crops.identities[r]), embeddings: out, dim,
    ...(frameCrops ? { crops: frameCrops } : {}), failed: crops.failed.length + (n - keep.length),
  };
}
