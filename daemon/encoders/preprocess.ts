/**
 * Turning aligned crops into what a particular model takes, as the encoder config describes it
 * (daemon/protocol/encoderConfig.ts): size check, RGB→BGR, `(255·x − mean) / std`, NHWC→NCHW. Plus the L2
 * normalisation every encoder applies to its output. Pure TF.js ops, so gradients flow through them.
 */
import { tf } from '../tfjs/tf';
import type { EncoderConfig } from '../protocol/encoderConfig';

export type InputSpec = Pick<EncoderConfig, 'inputSize' | 'layout' | 'channelOrder' | 'normalization'>;

/**
 * Throws when `images` is not [N, S, S, 3] float32 with S = spec.inputSize. `who` names the encoder (and model
 * file) in the message.
 */
export function checkAlignedBatch(images: tf.Tensor, inputSize: number, who: string): void {
  const s = images.shape;
  if (s.length !== 4 || s[3] !== 3 || s[1] !== inputSize || s[2] !== inputSize || s[0] < 1) {
    throw new Error(`${who}: input must be aligned crops [N, ${inputSize}, ${inputSize}, 3] in [0,1], got [${s.join(', ')}]`);
  }
  if (images.dtype !== 'float32') {
    throw new Error(`${who}: input must be float32 in [0,1], got ${images.dtype}`);
  }
}

/**
 * [N,S,S,3] float32 RGB in [0,1] → model input: [N,S,S,3] (NHWC) or [N,3,S,S] (NCHW), float32, channels in the
 * model's order, values (255·x − mean)/std. Returns a new tensor; caller disposes.
 */
export function toModelInput(images: tf.Tensor4D, spec: InputSpec): tf.Tensor4D {
  return tf.tidy(() => {
    let x: tf.Tensor4D = images;
    if (spec.channelOrder === 'BGR') x = tf.reverse(x, 3);
    const { mean, std } = spec.normalization;
    // (255·x − m)/s = x·(255/s) − m/s, one mul + one sub per element.
    const scale = tf.tensor1d(std.map((s) => 255 / s));
    const shift = tf.tensor1d(mean.map((m, i) => m / std[i]));
    x = tf.sub(tf.mul(x, scale), shift);
    if (spec.layout === 'NCHW') x = tf.transpose(x, [0, 3, 1, 2]);
    return x;
  });
}

/** Row-wise L2 normalisation, differentiable (ε inside the root keeps the gradient finite at 0). */
export function l2NormalizeRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.add(tf.sum(tf.square(x), 1, true), 1e-12))));
}

/** In-place L2 normalisation of one row; zero rows stay zero. */
export function l2NormalizeInPlace(row: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < row.length; i++) s += row[i] * row[i];
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let i = 0; i < row.length; i++) row[i] *= inv;
  return row;
}

/** Splits a [N, D] row-major buffer into N rows (copies). */
export function splitRows(data: Float32Array, n: number, dim: number): Float32Array[] {
  if (data.length !== n * dim) throw new Error(`splitRows: ${data.length} values is not ${n} rows of ${dim}`);
  const rows: Float32Array[] = [];
  for (let i = 0; i < n; i++) rows.push(data.slice(i * dim, (i + 1) * dim));
  return rows;
}

/** Reads a [N, dim] tensor into N rows and disposes it (the host side of every encoder's embed/embedRaw). */
export async function takeRows(t: tf.Tensor2D, dim: number): Promise<Float32Array[]> {
  try {
    return splitRows((await t.data()) as Float32Array, t.shape[0], dim);
  } finally {
    t.dispose();
  }
}
