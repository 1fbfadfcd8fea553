/**
 * face-api ResNet (dlib-style, 150×150 → 128) forward at a given batch, loaded by id like every encoder
 * (`faceapi-resnet128`). Reports why when the encoder cannot be loaded.
 */
import { tf } from '../tfjs/tf';
import { loadEncoderById } from '../encoders/load';

export type FaceApiResult = { ok: true; batch: number; msPerBatch: number; imgPerSec: number; via: 'forward' | 'embed' } | { ok: false; reason: string };

interface EncoderLike {
  inputSize: number;
  embed(x: tf.Tensor4D): Promise<Float32Array[]>;
  forward?(x: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
}

export async function benchFaceApi(batch = 8, reps = 3): Promise<FaceApiResult> {
  let enc: EncoderLike;
  try {
    enc = (await loadEncoderById('faceapi-resnet128')) as unknown as EncoderLike;
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
