/**
 * Batch normalisation (Ioffe & Szegedy 2015), optionally fused with the ReLU that follows it, as one custom
 * op whose gradient is written out per channel instead of tfjs's generic batchNorm gradient (which
 * broadcasts with Tile chains and was a third of a W1 training step on wasm).
 *
 * Channels are the last axis: x is [N, C] or [N, H, W, C]; statistics over all other axes (M values each).
 * Backward with x̂ = (x − μ)/σ, g = dL/dy (masked by y > 0 when fused with ReLU):
 *   dβ = Σ g,  dγ = Σ g·x̂,  dx = (γ/σ)·(g − dβ/M − x̂·dγ/M)
 * The per-channel affine maps run through the FusedBatchNorm kernel (one pass each, no Tile).
 */
import { tf } from '../../tfjs/tf';

export const BN_EPSILON = 1e-5;

export interface BatchStats {
  /** [C] batch mean and biased batch variance, for the moving averages. Owned by the caller. */
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/** (x·scale + offset) per channel, one FusedBatchNorm pass; scale/offset [C]. */
function affine(x: tf.Tensor, scale: tf.Tensor1D, offset: tf.Tensor1D, zero: tf.Tensor1D, one: tf.Tensor1D): tf.Tensor {
  return tf.batchNorm(x, zero, one, offset, scale, 0);
}

/**
 * Training-mode batch norm (+ ReLU). `statsOut`, when given, receives the batch statistics (kept out of
 * any enclosing tidy; the caller disposes them).
 */
export function batchNormTrain(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, relu: boolean,
  statsOut?: BatchStats[]): tf.Tensor {
  const c = x.shape[x.rank - 1];
  if (gamma.shape[0] !== c || beta.shape[0] !== c) {
    throw new Error(`batchNormTrain: x has ${c} channels but gamma/beta have ${gamma.shape[0]}/${beta.shape[0]}`);
  }
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const m = x.size / c;
  const op = tf.customGrad(((xIn: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const { mean, variance } = tf.moments(xIn, axes);
    const invStd = tf.rsqrt(tf.add(variance, BN_EPSILON)) as tf.Tensor1D;
    const zero = tf.zeros([c]) as tf.Tensor1D;
    const one = tf.ones([c]) as tf.Tensor1D;
    // x̂ = x·(1/σ) − μ/σ
    const xhat = affine(xIn, invStd, tf.neg(tf.mul(mean, invStd)) as tf.Tensor1D, zero, one);
    let y = affine(xhat, g as tf.Tensor1D, b as tf.Tensor1D, zero, one);
    if (relu) y = tf.relu(y);
    if (statsOut) statsOut.push({ mean: tf.keep(mean as tf.Tensor1D), variance: tf.keep(variance as tf.Tensor1D) });
    save([xhat, invStd, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [xh, is, yOut] = saved;
        let gOut = dy as tf.Tensor;
        if (relu) gOut = tf.mul(gOut, tf.step(yOut));
        const dBeta = tf.sum(gOut, axes) as tf.Tensor1D;
        const dGamma = tf.sum(tf.mul(gOut, xh), axes) as tf.Tensor1D;
        const z = tf.zeros([c]) as tf.Tensor1D;
        const o = tf.ones([c]) as tf.Tensor1D;
        const a = tf.mul(g, is) as tf.Tensor1D;                                   // γ/σ
        // dx = a·g + (−a·dγ/M)·x̂ + (−a·dβ/M)
        const part = affine(xh, tf.mul(a, tf.mul(dGamma, -1 / m)) as tf.Tensor1D, tf.mul(a, tf.mul(dBeta, -1 / m)) as tf.Tensor1D, z, o);
        const dx = tf.add(affine(gOut, a, z, z, o), part);
        return [dx, dGamma, dBeta];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, gamma, beta);
}

/** Inference-mode batch norm (+ ReLU) with moving statistics. */
export function batchNormInfer(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, movingMean: tf.Tensor1D,
  movingVar: tf.Tensor1D, relu: boolean): tf.Tensor {
  return tf.tidy(() => {
    const y = tf.batchNorm(x, movingMean, movingVar, beta, gamma, BN_EPSILON);
    return relu ? tf.relu(y) : y;
  });
}

/** Moving averages of the batch statistics, as in inference: m ← m·0.9 + batch·0.1 (both engines). */
export const BN_MOMENTUM = 0.9;

/**
 * Factors of the moving-average update for a layer with `perChannel` values per channel in its batch: the
 * variance term carries the unbiased correction M/(M−1) (the batch variance is the biased one). Rounded
 * to float32 so the host update equals TF.js's float32 arithmetic.
 */
function movingFactors(perChannel: number): { keep: number; mean: number; variance: number } {
  const unbias = perChannel > 1 ? perChannel / (perChannel - 1) : 1;
  return { keep: Math.fround(BN_MOMENTUM), mean: Math.fround(1 - BN_MOMENTUM), variance: Math.fround((1 - BN_MOMENTUM) * unbias) };
}

/** TF.js form: updates the variables in place (the statistics stay owned by the caller). */
export function updateMovingAverages(movingMean: tf.Variable, movingVar: tf.Variable, stats: BatchStats, perChannel: number): void {
  const k = movingFactors(perChannel);
  tf.tidy(() => {
    movingMean.assign(tf.add(tf.mul(movingMean, k.keep), tf.mul(stats.mean, k.mean)));
    movingVar.assign(tf.add(tf.mul(movingVar, k.keep), tf.mul(stats.variance, k.variance)));
  });
}

/** Host form (ONNX Runtime trainer), float32 arrays updated in place. */
export function updateMovingAveragesHost(mm: Float32Array, mv: Float32Array, mean: Float32Array, variance: Float32Array, perChannel: number): void {
  const k = movingFactors(perChannel);
  for (let c = 0; c < mm.length; c++) {
    mm[c] = Math.fround(mm[c] * k.keep) + Math.fround(mean[c] * k.mean);
    mv[c] = Math.fround(mv[c] * k.keep) + Math.fround(variance[c] * k.variance);
  }
}
