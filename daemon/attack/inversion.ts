/**
 * What every inversion route checks and produces around its search: the face model's frame must reach the
 * encoder by a resize (same alignment template), targets must be finite templates of the encoder's size,
 * and latents become [N, S, S, 3] uint8 faces.
 */
import type { EncoderConfig } from '../protocol/encoderConfig';
import { tf } from '../tfjs/tf';
import type { FaceModel } from './faceModel/types';

/** Throws when the face model's faces cannot be mapped to the encoder's input by a resize. */
export function checkFrame(model: FaceModel, enc: EncoderConfig): void {
  if (model.frame.template !== enc.alignment.template) {
    throw new Error(`the face model renders ${model.frame.template} crops, but encoder ${enc.id} takes ${enc.alignment.template} crops: ` +
      'its output cannot be mapped to the encoder\'s input by a resize; use faceModel "pca" (built in the encoder\'s own frame)');
  }
}

/** Throws naming the first target of the wrong dimension or with a non-finite value. */
export function checkTargets(targets: readonly Float32Array[], enc: EncoderConfig): void {
  if (!targets.length) throw new Error('no targets to invert');
  targets.forEach((t, i) => {
    if (t.length !== enc.embeddingDim) throw new Error(`target ${i} has dimension ${t.length}, encoder ${enc.id} produces ${enc.embeddingDim}`);
    const bad = t.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`target ${i} value ${bad} is ${t[bad]} (not finite)`);
  });
}

/** Rendered latents ([n, latentDim]) as [n, S, S, 3] uint8 faces, finished as the face model says (FaceModel.finishFaces). */
export async function renderFaces(model: FaceModel, latents: Float32Array, n: number, o: { finish?: boolean } = {}): Promise<Uint8Array> {
  const k = model.latentDim;
  const S = model.frame.size;
  const out = new Uint8Array(n * S * S * 3);
  for (let s = 0; s < n; s += 64) {
    const m = Math.min(64, n - s);
    const px = tf.tidy(() => tf.cast(tf.round(tf.mul(model.render(tf.tensor2d(latents.subarray(s * k, (s + m) * k), [m, k])), 255)), 'int32'));
    out.set(await px.data() as Int32Array, s * S * S * 3);
    px.dispose();
  }
  // A live snapshot skips the finish (seconds per hundred faces, every snapshot, on the search's clock).
  if (o.finish !== false) await model.finishFaces?.(latents, n, out);
  return out;
}
