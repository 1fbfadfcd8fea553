/**
 * From a recovered embedding to a face, with this project's existing inversion and nothing new: the PCA face
 * model of the attacker's own photos in the encoder's frame (daemon/attack/faceModel/pca.ts, shared through
 * the face-model cache with every run on the same split), the ridge start from template to latent
 * (daemon/attack/start.ts `startLatents("ridge")`), optionally the white-box gradient search through the
 * encoder (daemon/attack/search/whiteboxRestarts.ts), and `renderFaces` (daemon/attack/inversion.ts). Each face
 * is then embedded by the encoder itself, as a system that captured it would.
 *
 * The narrowest entry the project has for "invert these targets" is the ridge start plus render (what
 * `faceinv invert` does without a decoder run); the lead plans one `invertTargets` for all callers, which this
 * file should then call instead of its own three lines.
 */
import type { EncoderConfig } from '../protocol/encoderConfig';
import { tf } from '../tfjs/tf';
import type { Encoder } from '../encoders/types';
import { buildPcaFaceModel, type PcaFaceModel } from '../attack/faceModel/pca';
import { findPcaFaceModel, keepPcaFaceModel } from '../attack/faceModel/pcaCache';
import { renderFaces } from '../attack/inversion';
import { whiteboxWithRestarts } from '../attack/search/whiteboxRestarts';
import { startLatents, type AttackerPairs } from '../attack/start';
import { defaultWhitebox } from '../protocol/runConfig';
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
  enc: EncoderConfig;
  encoder: Encoder;
  /** The attacker's own photos: unit embeddings [n, dim] and aligned crops [n, S, S, 3] in the encoder's frame. */
  train: { embeddings: Float32Array; crops: Uint8Array; rels: string[]; n: number; dim: number; datasetId: string };
  outDir: string;
  cacheDir: string;
  seed: number;
  whiteboxSteps: number;
  workspaceDir: string;
  log: (m: string) => void;
  signal?: AbortSignal;
}

export const FACE_MODEL_COMPONENTS = 512;
export const FACE_MODEL_CLAMP = 3;
/** Attacker photos the ridge start (template → face-model latent) is fitted on. */
export const RIDGE_PAIRS = 4000;

export async function loadFaceInverter(o: FaceInverterOptions): Promise<FaceInverter> {
  const frame = { template: o.enc.alignment.template, size: o.enc.alignment.size };
  const key = { datasetId: o.train.datasetId, rels: o.train.rels, frame, components: FACE_MODEL_COMPONENTS, clamp: FACE_MODEL_CLAMP, seed: o.seed };
  let pca: PcaFaceModel | null = findPcaFaceModel(o.outDir, o.cacheDir, key);
  if (pca) o.log(`face model: the PCA face model built for this split before (${pca.describe()})`);
  else {
    o.log(`face model: building the PCA face model (${FACE_MODEL_COMPONENTS} components of ${o.train.n} attacker photos; kept for every run with this split)`);
    pca = await buildPcaFaceModel(o.train.crops, o.train.n, frame, { components: FACE_MODEL_COMPONENTS, clamp: FACE_MODEL_CLAMP, seed: o.seed, log: o.log, signal: o.signal });
    await keepPcaFaceModel(pca, o.outDir, o.cacheDir, key);
  }
  const model = pca;
  // The ridge start's pairs: a seeded sample of the attacker's photos (projecting all 10⁴ crops costs minutes on 2 cores).
  const t0 = Date.now();
  const rows = Array.from(seededShuffle(Int32Array.from({ length: o.train.n }, (_, i) => i), o.seed ^ 0xface).subarray(0, Math.min(o.train.n, RIDGE_PAIRS))).sort((a, b) => a - b);
  const S3 = model.frame.size * model.frame.size * 3, dim = o.train.dim;
  const crops = new Uint8Array(rows.length * S3), templates = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => { crops.set(o.train.crops.subarray(r * S3, (r + 1) * S3), i * S3); templates.set(o.train.embeddings.subarray(r * dim, (r + 1) * dim), i * dim); });
  const latents = await model.project(crops, rows.length);
  const pairs: AttackerPairs = { templates, dim, latents, latentDim: model.latentDim, n: rows.length };
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
      let z = startLatents('ridge', targets, pairs);
      model.clampLatents(z);
      if (o.whiteboxSteps > 0) {
        const res = await whiteboxWithRestarts(model, o.enc, targets, z, { ...defaultWhitebox(), steps: o.whiteboxSteps, restarts: 1 },
          { seed: o.seed, signal: o.signal, workspaceDir: o.workspaceDir, warn: o.log });
        z = res.latents;
      }
      const px = await renderFaces(model, z, targets.length);
      const faces = targets.map((_, i) => px.slice(i * S * S * 3, (i + 1) * S * S * 3));
      return { faces, embeddings: await embed(faces) };
    },
    dispose: () => model.dispose(),
  };
}
