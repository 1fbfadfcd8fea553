/**
 * face-api ResNet (dlib-style, 150×150 → 128) forward at a given batch, through the encoder registry
 * (`faceapi-resnet128`). Reports why when the encoder cannot be loaded.
 */
import { tf } from '../engine/tf';

export type FaceApiResult = { ok: true; batch: number; msPerBatch: number; imgPerSec: number; via: 'forward' | 'embed' } | { ok: false; reason: string };

interface EncoderLike {
  inputSize: number;
  embed(x: tf.Tensor4D): Promise<Float32Array[]>;
  forward?(x: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
}

export async function benchFaceApi(batch = 8, reps = 3): Promise<FaceApiResult> {
  let loadById: (id: string) => Promise<EncoderLike>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    loadById = (require('../encoders/registry') as { loadEncoderById: (id: string) => Promise<EncoderLike> }).loadEncoderById;
    if (typeof loadById !== 'function') return { ok: false, reason: 'daemon/encoders/registry has no loadEncoderById' };
  } catch (e) {
    return { ok: false, reason: `daemon/encoders/registry not available: ${(e as Error).message.split('\n')[0]}` };
  }
  let enc: EncoderLike;
  try {
    enc = await loadById('faceapi-resnet128');
  } catch (e) {
    return { ok: false, reason: (e as Error).message.split('\n')[0] };
  }
  const s = enc.inputSize;
  const x = tf.randomUniform([batch, s, s, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  try {
    const via = enc.forward ? 'forward' : 'embed';
    const once = async (): Promise<void> => {
      if (enc.forward) { const y = enc.forward(x); await y.data(); y.dispose(); } else await enc.embed(x);
    };
    await once();
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) await once();
    const ms = (performance.now() - t0) / reps;
    return { ok: true, batch, msPerBatch: ms, imgPerSec: (batch * 1000) / ms, via };
  } finally {
    x.dispose();
    enc.dispose();
  }
}
