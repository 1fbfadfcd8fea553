/**
 * 2-D convolutions (NHWC) whose gradient with respect to the input is written out with forward convolutions
 * only, via `tf.customGrad`. The weights of an imported model are constants, so no filter gradient is needed,
 * and the backward pass then runs on XNNPACK's fast forward kernels on every backend. (Stock tfjs-backend-wasm
 * 4.22 has no DepthwiseConv2dNativeBackpropInput kernel at all, and its Conv2DBackpropInput is a plain loop.)
 *
 * Input gradient of y = conv(x, w; stride s, dilation d, pads pt/pb/pl/pr), the transposed convolution:
 *   dx = conv(pad(dilate_s(dy), keff−1−pt, …), rot180(w) with in/out channels swapped; stride 1, dilation d),
 * where dilate_s puts s−1 zeros between rows/columns of dy and keff = (k−1)·d + 1. The bottom/right padding
 * is whatever makes dx exactly as large as x (rows/columns the forward pass skipped get zero gradient).
 */
import { tf } from '../../tfjs/tf';

export interface ConvGeometry {
  strides: [number, number];
  dilations: [number, number];
  /** [top, bottom, left, right], ≥ 0. */
  pads: [number, number, number, number];
}

/** Inserts s−1 zeros between rows / columns: [N,H,W,C] → [N,(H−1)sh+1,(W−1)sw+1,C]. */
function dilate(dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [n, h, w, c] = dy.shape;
  // Zero-stuffing as [N,H,1,W,1,C] padded to [N,H,sh,W,sw,C] (rank 6 on purpose: no scatter kernel needed).
  const z = tf.pad(tf.reshape(dy, [n, h, 1, w, 1, c]), [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
  const full = tf.reshape(z, [n, h * sh, w * sw, c]) as tf.Tensor4D;
  return tf.slice(full, [0, 0, 0, 0], [n, (h - 1) * sh + 1, (w - 1) * sw + 1, c]);
}

/** Pads (or, for negative amounts, crops) H and W. */
function padOrCrop(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  let t = x;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [n, h, w, c] = t.shape;
    const t0 = Math.max(0, -top); const l0 = Math.max(0, -left);
    t = tf.slice(t, [0, t0, l0, 0], [n, h - t0 - Math.max(0, -bottom), w - l0 - Math.max(0, -right), c]);
  }
  if (top > 0 || bottom > 0 || left > 0 || right > 0) {
    t = tf.pad(t, [[0, 0], [Math.max(0, top), Math.max(0, bottom)], [Math.max(0, left), Math.max(0, right)], [0, 0]]);
  }
  return t;
}

/** dy → padded, zero-stuffed dy ready for the stride-1 "full" correlation with the rotated filter. */
function prepareDy(dy: tf.Tensor4D, xShape: readonly number[], kh: number, kw: number, g: ConvGeometry): tf.Tensor4D {
  const [sh, sw] = g.strides;
  const [dh, dw] = g.dilations;
  const [pt, , pl] = g.pads;
  const keh = (kh - 1) * dh + 1; const kew = (kw - 1) * dw + 1;
  const d = dilate(dy, sh, sw);
  const top = keh - 1 - pt; const left = kew - 1 - pl;
  const bottom = xShape[1] + keh - 1 - d.shape[1] - top;
  const right = xShape[2] + kew - 1 - d.shape[2] - left;
  return padOrCrop(d, top, bottom, left, right);
}

const explicit = (g: ConvGeometry): [[number, number], [number, number], [number, number], [number, number]] =>
  [[0, 0], [g.pads[0], g.pads[1]], [g.pads[2], g.pads[3]], [0, 0]];

/**
 * Dense convolution. `w`: HWIO [kh,kw,Ci,Co]; `wBack`: rot180(w) as [kh,kw,Co,Ci] (precomputed once).
 * x [N,H,W,Ci] → [N,Ho,Wo,Co]; differentiable w.r.t. x only.
 */
export function conv2dX(x: tf.Tensor4D, w: tf.Tensor4D, wBack: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xi = args[0] as tf.Tensor4D;
    const xs = xi.shape as [number, number, number, number];
    const y: tf.Tensor = tf.conv2d(xi, w, g.strides, explicit(g), 'NHWC', g.dilations);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor) => {
        const p = prepareDy(dy as tf.Tensor4D, xs, w.shape[0], w.shape[1], g);
        return [tf.conv2d(p, wBack, 1, 'valid', 'NHWC', g.dilations)];
      },
    };
  });
  return f(x) as tf.Tensor4D;
}

/**
 * Depthwise convolution. `w`: [kh,kw,C,m]; `wBack`: rot180(w) as [kh,kw,C·m,1] (precomputed once).
 * x [N,H,W,C] → [N,Ho,Wo,C·m]; differentiable w.r.t. x only.
 */
export function depthwiseX(x: tf.Tensor4D, w: tf.Tensor4D, wBack: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  const m = w.shape[3];
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xi = args[0] as tf.Tensor4D;
    const xs = xi.shape as [number, number, number, number];
    const y: tf.Tensor = tf.depthwiseConv2d(xi, w, g.strides, explicit(g), 'NHWC', g.dilations);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor) => {
        const p = prepareDy(dy as tf.Tensor4D, xs, w.shape[0], w.shape[1], g);
        const full = tf.depthwiseConv2d(p, wBack, 1, 'valid', 'NHWC', g.dilations);
        if (m === 1) return [full];
        const [n, h, ww] = full.shape;
        return [tf.sum(tf.reshape(full, [n, h, ww, xs[3], m]), 4)];
      },
    };
  });
  return f(x) as tf.Tensor4D;
}

/** rot180 of an HWIO filter with in/out swapped: [kh,kw,Ci,Co] → [kh,kw,Co,Ci]. */
export function backFilter(w: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]));
}

/** rot180 of a depthwise filter, flattened for the backward depthwise pass: [kh,kw,C,m] → [kh,kw,C·m,1]. */
export function backDepthwiseFilter(w: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, c, m] = w.shape;
  return tf.tidy(() => tf.reshape(tf.reverse(w, [0, 1]), [kh, kw, c * m, 1]));
}
