/**
 * Run-time values of an imported ONNX graph and the layout bookkeeping.
 *
 * ONNX image tensors are NCHW; TF.js convolutions (wasm/XNNPACK, cpu) are NHWC. Rank-4 activations produced by
 * convolutions therefore stay NHWC (`nhwc: true`: TF.js shape [N,H,W,C] stands for ONNX shape [N,C,H,W]), and
 * are transposed back to ONNX layout only where an op needs the logical layout (Reshape, Flatten, Gemm, …).
 * Element-wise ops run in either layout; constants they meet are broadcast into the same layout.
 */
import { tf } from '../tfjs/tf';
import { HostArray } from './hostArray';

export interface TensorValue {
  kind: 'tensor';
  t: tf.Tensor;
  /** true: rank-4 tensor stored NHWC, logically NCHW. */
  nhwc: boolean;
}
export interface HostValue {
  kind: 'host';
  a: HostArray;
}
export type Value = TensorValue | HostValue;

export const tv = (t: tf.Tensor, nhwc = false): TensorValue => ({ kind: 'tensor', t, nhwc });
export const hv = (a: HostArray): HostValue => ({ kind: 'host', a });

/** The ONNX (logical) shape of a value. */
export function logicalShape(v: Value): number[] {
  if (v.kind === 'host') return v.a.dims;
  const s = v.t.shape;
  return v.nhwc ? [s[0], s[3], s[1], s[2]] as number[] : s.slice();
}

/** Host array → a new tensor (float32 / int32 / bool), ONNX layout. */
export function hostToTensor(a: HostArray): tf.Tensor {
  const dtype = a.dtype === 'float32' ? 'float32' : a.dtype === 'bool' ? 'bool' : 'int32';
  return tf.tensor(Array.from(a.data), a.dims, dtype);
}

/** The value as a tensor in ONNX layout (NHWC → NCHW transposed; a plain reshape when H = W = 1). */
export function toPlain(v: Value): tf.Tensor {
  if (v.kind === 'host') return hostToTensor(v.a);
  if (!v.nhwc) return v.t;
  const [n, h, w, c] = v.t.shape;
  if (h === 1 && w === 1) return tf.reshape(v.t, [n, c, 1, 1]);
  return tf.transpose(v.t, [0, 3, 1, 2]);
}

/** A rank-4 value as an NHWC tensor (ONNX NCHW input transposed once). */
export function toNhwc(v: Value, where: string): tf.Tensor4D {
  const t = v.kind === 'host' ? hostToTensor(v.a) : v.t;
  if (t.rank !== 4) throw new Error(`${where}: expected a rank-4 (N,C,H,W) input, got shape [${logicalShape(v)}]`);
  if (v.kind === 'tensor' && v.nhwc) return t as tf.Tensor4D;
  const [n, c, h, w] = t.shape;
  if (h === 1 && w === 1) return tf.reshape(t, [n, 1, 1, c]) as tf.Tensor4D;
  return tf.transpose(t, [0, 2, 3, 1]) as tf.Tensor4D;
}

/**
 * A tensor in ONNX layout of rank ≤ 4 that is to be broadcast against an NHWC activation: left-padded with
 * ones to rank 4 (numpy rule), then permuted to NHWC. [C,1,1] → [1,1,1,C]; a scalar stays a scalar.
 */
export function plainToNhwcBroadcast(t: tf.Tensor, where: string): tf.Tensor {
  if (t.rank === 0) return t;
  if (t.rank > 4) throw new Error(`${where}: cannot broadcast shape [${t.shape}] against a rank-4 tensor`);
  const s = [...new Array<number>(4 - t.rank).fill(1), ...t.shape];
  const r = t.rank === 4 ? t : tf.reshape(t, s);
  if (s[2] === 1 && s[3] === 1) return tf.reshape(r, [s[0], 1, 1, s[1]]);
  return tf.transpose(r, [0, 2, 3, 1]);
}

/** Maps a logical (NCHW) axis of a rank-4 value to its NHWC storage axis. */
export function nhwcAxis(axis: number): number {
  return [0, 3, 1, 2][axis];
}
