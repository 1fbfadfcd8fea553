/**
 * SSIM (Wang, Bovik, Sheikh & Simoncelli, "Image quality assessment: from error visibility to structural
 * similarity", IEEE TIP 2004) as a differentiable TF.js loss term, with the very definition the ONNX Runtime
 * training graph uses (daemon/ort/layers.ts `ssim`) and the evaluation reports: luma Y = 0.299 R + 0.587 G +
 * 0.114 B, an 11×11 Gaussian window of σ 1.5 applied separably over the *valid* positions only, L = 1,
 * C1 = 0.01², C2 = 0.03²; the mean over positions and images.
 *
 *   y, t [N, S, S, 3] float32 in [0, 1] (S ≥ 11) → scalar in [−1, 1] (1 = identical)
 *
 * The window runs as two single-channel conv2d passes (row, then column) over the five maps (μ and second
 * moments) stacked along the batch, so its gradient uses the ordinary conv2d backprop kernels.
 */
import { tf } from '../../tfjs/tf';

export const SSIM_WINDOW = 11;
export const SSIM_SIGMA = 1.5;

/** The normalised 1-D Gaussian window (11 taps, σ 1.5). */
export function ssimWindow(): Float32Array {
  const r = (SSIM_WINDOW - 1) / 2;
  const w = Array.from({ length: SSIM_WINDOW }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * SSIM_SIGMA * SSIM_SIGMA)));
  const s = w.reduce((p, q) => p + q, 0);
  return Float32Array.from(w, (v) => v / s);
}

/** Mean SSIM of the luma of y and t. Call inside a tidy or a gradient function. */
export function ssimLuma(y: tf.Tensor4D, t: tf.Tensor4D): tf.Scalar {
  const [n, h, w, c] = y.shape;
  if (c !== 3 || t.shape.some((d, i) => d !== y.shape[i])) throw new Error(`ssim: y and t must both be [N, S, S, 3], got [${y.shape}] and [${t.shape}]`);
  if (h < SSIM_WINDOW || w < SSIM_WINDOW) throw new Error(`ssim: images must be at least ${SSIM_WINDOW}×${SSIM_WINDOW}, got ${h}×${w}`);
  const luma = tf.tensor1d([0.299, 0.587, 0.114]);
  const ly = tf.sum(tf.mul(y, luma), -1, true) as tf.Tensor4D;
  const lt = tf.sum(tf.mul(t, luma), -1, true) as tf.Tensor4D;
  const stack = tf.concat([ly, lt, tf.mul(ly, ly), tf.mul(lt, lt), tf.mul(ly, lt)], 0) as tf.Tensor4D; // [5N, S, S, 1]
  const win = ssimWindow();
  const row = tf.tensor4d(win, [1, SSIM_WINDOW, 1, 1]);
  const col = tf.tensor4d(win, [SSIM_WINDOW, 1, 1, 1]);
  const filt = tf.conv2d(tf.conv2d(stack, row, 1, 'valid'), col, 1, 'valid');
  const [mx, my, sxx, syy, sxy] = tf.split(filt, [n, n, n, n, n], 0);
  const c1 = 0.01 ** 2; const c2 = 0.03 ** 2;
  const mxy = tf.mul(mx, my);
  const mx2 = tf.mul(mx, mx); const my2 = tf.mul(my, my);
  const num = tf.mul(tf.add(tf.mul(mxy, 2), c1), tf.add(tf.mul(tf.sub(sxy, mxy), 2), c2));
  const den = tf.mul(tf.add(tf.add(mx2, my2), c1), tf.add(tf.add(tf.sub(sxx, mx2), tf.sub(syy, my2)), c2));
  return tf.mean(tf.div(num, den));
}
