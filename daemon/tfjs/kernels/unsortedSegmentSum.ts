/**
 * UnsortedSegmentSum for the wasm backend (missing in tfjs-backend-wasm 4.22; tf.gather's gradient uses
 * it, e.g. embedding lookups and index-based crops).
 *
 * out[s, …] = Σ_{i: ids[i] = s} x[i, …], ids outside [0, numSegments) dropped (TensorFlow semantics).
 * Built as one GEMM: OneHot(ids, numSegments)ᵀ [S, K] · x [K, rest] (K = ids.size).
 */
import { tf } from '../tf';
import { TensorInfo, withScope } from './scope';

const NAME = 'UnsortedSegmentSum';

export function unsortedSegmentSum(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): TensorInfo {
  const { x, segmentIds } = args.inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = args.attrs as unknown as { numSegments: number };
  const idShape = segmentIds.shape;
  if (idShape.some((d, i) => d !== x.shape[i])) {
    throw new Error(`${NAME} (wasm): segmentIds shape [${idShape}] must be a prefix of x shape [${x.shape}]`);
  }
  if (x.dtype !== 'float32') throw new Error(`${NAME} (wasm): only float32 x is supported, got ${x.dtype}`);
  const k = idShape.reduce((a, b) => a * b, 1);
  const restShape = x.shape.slice(idShape.length);
  const rest = restShape.reduce((a, b) => a * b, 1);
  return withScope(args.backend, NAME, (s) => {
    const ids = segmentIds.dtype === 'int32' ? s.reshape(segmentIds, [k]) : s.run('Cast', { x: s.reshape(segmentIds, [k]) }, { dtype: 'int32' });
    // The wasm OneHot kernel writes int32 whatever its dtype attribute says, hence the Cast.
    const oneHotI = s.run('OneHot', { indices: ids }, { depth: numSegments, onValue: 1, offValue: 0, dtype: 'int32' });
    const oneHot = s.run('Cast', { x: oneHotI }, { dtype: 'float32' });                                    // [K, S]
    const out = s.run('BatchMatMul', { a: oneHot, b: s.reshape(x, [k, rest]) }, { transposeA: true, transposeB: false });
    return s.reshape(out, [numSegments, ...restShape]);
  });
}

export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: NAME, backendName: 'wasm', kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
};
