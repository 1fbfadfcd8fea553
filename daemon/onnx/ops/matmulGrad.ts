/**
 * Matrix products with a constant operand whose input-gradient uses a pre-transposed copy of that operand.
 * Why: tfjs-backend-wasm 4.22 sends BatchMatMul with transposeA/transposeB (what TF.js's own matMul gradient
 * emits) to a slow loop (measured 0.8 GFLOP/s vs ~20 for the plain XNNPACK GEMM), so dx = dy·Wᵀ is written
 * as dy·(Wᵀ precomputed). Differentiable w.r.t. the non-constant operand only.
 */
import { tf } from '../../tfjs/tf';

/** x [M,K] · w [K,N] → [M,N]; `wT` = wᵀ [N,K]. */
export function matMulConstRight(x: tf.Tensor2D, w: tf.Tensor2D, wT: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.matMul(args[0] as tf.Tensor2D, w) as tf.Tensor,
    gradFunc: (dy: tf.Tensor) => [tf.matMul(dy as tf.Tensor2D, wT)],
  }));
  return f(x) as tf.Tensor2D;
}

/**
 * r [P,M] · x [M,K] → [P,K]; `rT` = rᵀ [M,P]. `rT` is saved on the gradient tape (cloned while recording),
 * so it may be a temporary; `w`/`wT` of `matMulConstRight` must instead outlive the backward pass (weights).
 */
export function matMulConstLeft(r: tf.Tensor2D, rT: tf.Tensor2D, x: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    (args[1] as tf.GradSaveFunc)([rT]);
    return {
      value: tf.matMul(r, args[0] as tf.Tensor2D) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.matMul(saved[0] as tf.Tensor2D, dy as tf.Tensor2D)],
    };
  });
  return f(x) as tf.Tensor2D;
}
