/**
 * From a recovered embedding to a face, with this project's one inversion and nothing new: the attack is
 * planned by daemon/attack/plan.ts (`protectAttackSpec`: the encoder's registry entry, the judge's route, the
 * engine, the white box's steps) and carried out by `invertTargets` (daemon/attack/invert.ts), as the run, the
 * audit and `faceinv invert` do. Its face model is the PCA face model of the attacker's own photos in the
 * encoder's frame (daemon/attack/faceModel/pca.ts, shared through the face-model cache with every run on the
 * same split), its start the ridge map template → latent (daemon/attack/start.ts), and `renderFaces`
 * (daemon/attack/inversion.ts) draws the answer. Each face is then embedded by the encoder itself, as a
 * system that captured it would.
 */
import { tf } from '../tfjs/tf';
import type { Encoder } from '../encoders/types';
import { buildPcaFaceModel, type PcaFaceModel } from '../attack/faceModel/pca';
import { findPcaFaceModel, keepPcaFaceModel } from '../attack/faceModel/pcaCache';
import { renderFaces } from '../attack/inversion';
import { invertTargets } from '../attack/invert';
import type { AttackPlan } from '../attack/plan';
import { startFrom, type AttackerPairs } from '../attack/start';
import { seededShuffle } from '../data/split';

export interface FaceInverter {
  /** Side of the square faces. */
  readonly size: number;
  /** [n] unit targets → faces ([S, S, 3] uint8 each) and the encoder's embeddings of them. */
  invert(targets: readonly Float32Array[]): Promise<{ faces: Uint8Array[]; embeddings: Float32Array[] }>;
  /** The encoder's embeddings of [S, S, 3] uint8 faces. */
  embed(faces: readonly Uint8Array[]): Promise<Float32Array[]>;
  dispose(): void;
}

export interface FaceInverterOptions {
  /** The attack (daemon/attack/plan.ts `protectAttackSpec`); its face model must be the PCA one. */
  plan: AttackPlan;
  encoder: Encoder;
  /** The attacker's own photos: unit embeddings [n, dim] and aligned crops [n, S, S, 3] in the encoder's frame. */
  train: { embeddings: Float32Array; crops: Uint8Array; rels: string[]; n: number; dim: number; datasetId: string };
  outDir: string;
  cacheDir: string;
  workspaceDir: string;
  log: (m: string) => void;
  signal?: AbortSignal;
}

/** Attacker photos the ridge start (template → face-model latent) is fitted on. */
export const RIDGE_PAIRS = 4000;

export async function loadFaceInverter(o: FaceInverterOptions): Promise<FaceInverter> {
  const { plan } = o;
  if (plan.faceModel.kind !== 'pca') throw new Error(`faceinv protect's face step needs a PCA face model of the attacker's photos, the plan has "${plan.faceModel.kind}"`);
  const { components, clamp } = plan.faceModel;
  const frame = { template: plan.enc.alignment.template, size: plan.enc.alignment.size };
  const key = { datasetId: o.train.datasetId, rels: o.train.rels, frame, components, clamp, seed: plan.seed };
  let pca: PcaFaceModel | null = findPcaFaceModel(o.outDir, o.cacheDir, key);
  if (pca) o.log(`face model: the PCA face model built for this split before (${pca.describe()})`);
  else {
    o.log(`face model: building the PCA face model (${components} components of ${o.train.n} attacker photos; kept for every run with this split)`);
    pca = await buildPcaFaceModel(o.train.crops, o.train.n, frame, { components, clamp, seed: plan.seed, log: o.log, signal: o.signal });
    await keepPcaFaceModel(pca, o.outDir, o.cacheDir, key);
  }
  const model = pca;
  // The ridge start's pairs: a seeded sample of the attacker's photos (projecting all 10⁴ crops costs minutes on 2 cores).
  const t0 = Date.now();
  const rows = Array.from(seededShuffle(Int32Array.from({ length: o.train.n }, (_, i) => i), plan.seed ^ 0xface).subarray(0, Math.min(o.train.n, RIDGE_PAIRS))).sort((a, b) => a - b);
  const S3 = model.frame.size * model.frame.size * 3, dim = o.train.dim;
  const crops = new Uint8Array(rows.length * S3), templates = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => { crops.set(o.train.crops.subarray(r * S3, (r + 1) * S3), i * S3); templates.set(o.train.embeddings.subarray(r * dim, (r + 1) * dim), i * dim); });
  const latents = await model.project(crops, rows.length);
  const pairs: AttackerPairs = { templates, dim, latents, latentDim: model.latentDim, n: rows.length };
  const start = startFrom(plan.start, pairs);
  o.log(`face model: ridge start fitted on ${rows.length} of the attacker's photos (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  const S = model.frame.size;
  const embed = async (faces: readonly Uint8Array[]): Promise<Float32Array[]> => {
    const out: Float32Array[] = [];
    for (let s = 0; s < faces.length; s += 32) {
      const chunk = faces.slice(s, s + 32);
      const flat = new Float32Array(chunk.length * S * S * 3);
      chunk.forEach((f, i) => { for (let k = 0; k < f.length; k++) flat[i * f.length + k] = f[k] / 255; });
      const x = tf.tensor4d(flat, [chunk.length, S, S, 3]);
      try {
        const resized = S === o.encoder.inputSize ? x : tf.image.resizeBilinear(x, [o.encoder.inputSize, o.encoder.inputSize]);
        out.push(...await o.encoder.embed(resized as tf.Tensor4D));
        if (resized !== x) resized.dispose();
      } finally {
        x.dispose();
      }
    }
    return out;
  };
  return {
    size: S,
    embed,
    async invert(targets) {
      if (!targets.length) return { faces: [], embeddings: [] };
      const z = start(targets);
      model.clampLatents(z);
      // The project's one inversion: the plan's white box (its steps, one restart, its engine), or the start itself.
      const inv = await invertTargets(plan, model, targets, z, {
        signal: o.signal ?? new AbortController().signal, workspaceDir: o.workspaceDir, log: (_level, m) => o.log(m),
      });
      if (inv.aborted) throw new Error('cancelled during the face step');
      const px = await renderFaces(model, inv.latents, targets.length);
      const faces = targets.map((_, i) => px.slice(i * S * S * 3, (i + 1) * S * S * 3));
      return { faces, embeddings: await embed(faces) };
    },
    dispose: () => model.dispose(),
  };
}
