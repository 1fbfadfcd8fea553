/**
 * The decoder's linear base (DecoderOptions.linearBase): ridge regression from a template (plus a bias) to the
 * target image's pixels, fitted in closed form on the attacker's training pairs — the linear inverse that the
 * ridge start computes through a PCA face model (daemon/math/ridge.ts, start "ridge"), here straight into
 * pixel space so the decoder can hold it as one fixed [D, S·S·3] map and learn a nonlinear correction on top.
 *
 *   W = (EᵀE + λ·I′)⁻¹ EᵀX,  E = [templates | 1] [n, D+1], X the targets [n, S·S·3] on [0, 1], I′ = I with a
 *   zero for the bias (not penalised); λ = 0.1 as the ridge start's (templates are unit rows).
 * With PCA components k ≥ D the ridge start's image is this map projected on the top-k principal faces, so the
 * two agree up to the low-variance pixel directions (measured in docs/decoders.md).
 * EᵀE is summed on the host in float64; EᵀX and the solve's product run on the tensor engine in chunks of
 * rows, so the [n, S·S·3] matrix never exists in float32 at once.
 */
import { tf } from '../tfjs/tf';
import type { LinearBaseInit } from '../nets/decoder';
import { cholesky, choleskySolve } from '../math/linalg';

export const LINEAR_BASE_LAMBDA = 0.1;

/** A⁻¹ for symmetric positive definite A (n×n) through its Cholesky factor (daemon/math/linalg.ts). */
function spdInverse(A: Float64Array, n: number): Float64Array {
  const I = new Float64Array(n * n);
  for (let i = 0; i < n; i++) I[i * n + i] = 1;
  return choleskySolve(cholesky(A, n, 'linear base: the normal equations (more training pairs or a larger λ are needed)'), I, n, n);
}

export interface LinearBaseData {
  /** [n, D] templates. */
  z: Float32Array;
  dim: number;
  n: number;
  /** Row r's target: [S·S·3] uint8 pixels, NHWC. */
  pixels(r: number): Uint8Array;
  /** S·S·3. */
  outDim: number;
}

/** Fits the base (see the header). */
export async function fitLinearBase(d: LinearBaseData, lambda = LINEAR_BASE_LAMBDA, signal?: AbortSignal): Promise<LinearBaseInit> {
  const { n, dim: D, outDim: P } = d;
  if (!(lambda >= 0 && Number.isFinite(lambda))) throw new Error(`linear base: λ must be a finite number ≥ 0, got ${lambda}`);
  if (lambda === 0 && n < D + 1) throw new Error(`linear base: ${n} training pairs cannot fit ${D + 1} coefficients per pixel without a ridge penalty (λ > 0)`);
  const m = D + 1;
  const A = new Float64Array(m * m);
  const x = new Float64Array(m);
  x[D] = 1;
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < D; i++) x[i] = d.z[r * D + i];
    for (let i = 0; i < m; i++) {
      const xi = x[i];
      for (let j = 0; j <= i; j++) A[i * m + j] += xi * x[j];
    }
  }
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) A[i * m + j] = A[j * m + i];
  for (let i = 0; i < D; i++) A[i * m + i] += lambda;
  const inv = tf.tensor2d(Float32Array.from(spdInverse(A, m)), [m, m]);
  const CH = 256;
  let acc: tf.Tensor2D = tf.zeros([m, P]);
  try {
    for (let s = 0; s < n; s += CH) {
      if (signal?.aborted) throw new Error('cancelled');
      const k = Math.min(CH, n - s);
      const E = new Float32Array(k * m);
      const X = new Float32Array(k * P);
      for (let r = 0; r < k; r++) {
        E.set(d.z.subarray((s + r) * D, (s + r + 1) * D), r * m);
        E[r * m + D] = 1;
        const px = d.pixels(s + r);
        for (let q = 0; q < P; q++) X[r * P + q] = px[q] / 255;
      }
      const next = tf.tidy(() => tf.add(acc, tf.matMul(tf.tensor2d(E, [k, m]), tf.tensor2d(X, [k, P]), true, false))) as tf.Tensor2D;
      acc.dispose();
      acc = next;
      await tf.nextFrame?.();
    }
    const W = tf.matMul(inv, acc);
    const all = (await W.data()) as Float32Array;
    W.dispose();
    return { kernel: all.slice(0, D * P), bias: all.slice(D * P) };
  } finally {
    acc.dispose();
    inv.dispose();
  }
}
