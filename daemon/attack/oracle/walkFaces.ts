/**
 * The boundary walk (./boundaryWalk.ts) on faces: from an accepted photo, in the PCA face model's latent space
 * with the photo's pixel residual (photo − its rendering) kept, so the walk starts exactly at the photo and only
 * the model's components move. Each submitted face is rendered, rounded to 8 bits (what a PNG carries) and
 * answered by `accepts` (the system: its encoder's template of the face against the enrolled one).
 */
import type { PcaFaceModel } from '../faceModel/pca';
import { tf } from '../../tfjs/tf';
import { boundaryWalk, type WalkOptions } from './boundaryWalk';

/** The system's answer for `n` faces ([n, S, S, 3] in [0, 1], 8-bit values): one counted query each. */
export type AcceptFaces = (faces: tf.Tensor4D) => Promise<boolean[]>;

export interface WalkedFaces {
  /** The accepted face (uint8 crop [S, S, 3]) at each budget. */
  faces: Uint8Array[];
  queries: number;
  moved: number;
  radius: number;
  /** The system's error that ended the walk early (WalkOptions.stopOn); the faces after it are the last accepted one. */
  error?: string;
}

/** Walks from `crop` (uint8 [S, S, 3] in the model's frame, a face the system accepted). */
export async function walkFromPhoto(model: PcaFaceModel, crop: Uint8Array, accepts: AcceptFaces, o: Omit<WalkOptions, 'clamp'>): Promise<WalkedFaces> {
  const S = model.frame.size, K = model.latentDim;
  if (crop.length !== S * S * 3) throw new Error(`walk: the photo has ${crop.length} values, the face model's frame ${S}×${S}×3`);
  const z0 = await model.project(crop, 1);
  const residual = tf.tidy(() => tf.sub(tf.div(tf.tensor4d(crop, [1, S, S, 3], 'float32'), 255), model.render(tf.tensor2d(z0, [1, K]))));
  const faces = (zs: Float32Array, n: number) => tf.tidy(() => tf.div(tf.round(tf.mul(tf.clipByValue(tf.add(model.render(tf.tensor2d(zs, [n, K])), residual), 0, 1), 255)), 255) as tf.Tensor4D);
  const decide = async (zs: Float32Array, n: number) => {
    const x = faces(zs, n);
    try { return await accepts(x); } finally { x.dispose(); }
  };
  // Latents stay within the model's clamp, or within the photo's own projection where that is further out.
  const c = model.description.clamp;
  const bound = Float32Array.from(z0, (v) => Math.max(c, Math.abs(v)));
  const clamp = (z: Float32Array) => { for (let i = 0; i < z.length; i++) z[i] = Math.max(-bound[i], Math.min(bound[i], z[i])); };
  try {
    const res = await boundaryWalk(z0, K, decide, { ...o, subspace: Math.min(o.subspace, K), clamp });
    const out: Uint8Array[] = [];
    for (const z of res.snapshots) {
      const px = tf.tidy(() => tf.round(tf.mul(faces(z, 1), 255)));
      out.push(Uint8Array.from(await px.data()));
      px.dispose();
    }
    return { faces: out, queries: res.queries, moved: res.moved, radius: res.radius, ...(res.error !== undefined ? { error: res.error } : {}) };
  } finally {
    residual.dispose();
  }
}
