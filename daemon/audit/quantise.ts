/**
 * What a real system is given is an 8-bit image: every face the audit submits to the audited encoder is
 * rounded to 1/255 first, whatever the encoder (ONNX in-process, a command, an HTTP service taking PNGs).
 * So the search sees exactly what a service would, the faces it finds are the 8-bit ones the report scores,
 * and an audit through an HTTP front of an encoder gives the figures of the same encoder called directly.
 */
import { tf } from '../tfjs/tf';
import type { AlignedBatch, Encoder } from '../encoders/types';

/** `inner` behind 8-bit rounding of its input; disposing the wrapper leaves `inner` to its owner. */
export function eightBit(inner: Encoder): Encoder {
  return {
    id: inner.id,
    dim: inner.dim,
    inputSize: inner.inputSize,
    async embed(images: AlignedBatch): Promise<Float32Array[]> {
      const q = tf.tidy(() => tf.div(tf.round(tf.mul(tf.clipByValue(images, 0, 1), 255)), 255)) as AlignedBatch;
      try {
        return await inner.embed(q);
      } finally {
        q.dispose();
      }
    },
    dispose: () => undefined,
  };
}
