/**
 * Layer emitters for ONNX training graphs (NCHW inside the graph), each with the semantics of its TF.js
 * counterpart in daemon/nets (decoder.ts, layers/batchNorm.ts):
 *   dense (no bias), batch norm in training mode (+ ReLU; a composite with the closed-form backward of
 *   Ioffe & Szegedy 2015), batch norm in inference mode, conv2dTranspose k4 s2 'same' and conv2d k3 'same'
 *   (kernels in graph layouts, ./paramLayout.ts), and the losses L1, L2, L1+L2, 1 − SSIM (Wang et al. 2004 on luma, 11×11 Gaussian σ 1.5,
 *   as daemon/evaluation/imageQuality.ts) and 1 − cos.
 */
import { f, GradRule, GraphBuilder } from './graph';
import { CONV_RULES } from './rules/conv';
import { convTransposeK4S2WeightGrad } from './weightGrad';

export const BN_EPSILON = 1e-5;

export interface BatchStatOutputs {
  /** [C] batch mean and biased batch variance. */
  mean: string;
  variance: string;
}

/** x [N, D] · W [D, F] (no bias). */
export function dense(b: GraphBuilder, x: string, w: string): string {
  return b.op('MatMul', [x, w]);
}

function bnAxes(rank: number): number[] {
  return rank === 2 ? [0] : [0, 2, 3];
}

/**
 * Batch norm with batch statistics (+ ReLU), x [N, C] or [N, C, H, W], gamma/beta [C]. Returns y and the
 * statistics (mean and biased variance over the M = N·H·W values per channel, the variance two-pass as
 * tf.moments), as TF.js batchNormTrain. Backward (g = dy masked by y > 0 when fused with ReLU, σ⁻¹ = inv,
 * a = γ·inv):
 *   dβ = Σ g,  dγ = Σ g·x̂ = inv·(Σ g·x − μ·dβ),  dx = a·(g − dβ/M − x̂·dγ/M) = a·g + c1·x + c0
 *   with c1 = −a·inv·dγ/M and c0 = −a·dβ/M + a·inv·μ·dγ/M per channel.
 * Full-size passes: forward Sub (for the variance), BatchNormalization, Relu; backward the mask, g·x, and
 * dx as one BatchNormalization affine (c1·x + c0), one Mul and one Add — everything else is per channel.
 */
export function batchNormTrain(b: GraphBuilder, x: string, gamma: string, beta: string, relu: boolean): { y: string; stats: BatchStatOutputs } {
  const xs = b.shape(x);
  const c = xs[1] as number;
  const axes = bnAxes(xs.length);
  const m = axes.reduce((p, a) => p * (xs[a] as number), 1);
  if (!Number.isInteger(m)) throw new Error(`${b.graphName}: batch norm needs a static batch (got shape [${xs}])`);
  const pshape = xs.length === 2 ? [1, c] : [1, c, 1, 1];
  const zeros = b.constant(new Float32Array(c), [c], 'float32', 'bn_zeros');
  const ones = b.constant(new Float32Array(c).fill(1), [c], 'float32', 'bn_ones');
  let mean = ''; let inv = ''; let y = '';
  const rule: GradRule = (g) => {
    const dy = g.dy[0];
    if (!dy) return [null, null, null];
    const gg = relu ? b.op('Where', [b.op('Greater', [y, b.scalar(0)]), dy, b.scalar(0)]) : dy;
    const dBeta = b.op('ReduceSum', [gg, b.ints(axes)], { keepdims: 0 }); // [C]
    const sgx = b.op('ReduceSum', [b.op('Mul', [gg, x]), b.ints(axes)], { keepdims: 0 }); // Σ g·x [C]
    const dGamma = b.op('Mul', [inv, b.op('Sub', [sgx, b.op('Mul', [mean, dBeta])])]);
    let dx: string | null = null;
    if (g.needs[0]) {
      const a = b.op('Mul', [gamma, inv]);
      const aM = b.op('Mul', [a, b.scalar(1 / m)]);
      const c1 = b.op('Neg', [b.op('Mul', [aM, b.op('Mul', [inv, dGamma])])]);
      const c0 = b.op('Sub', [b.op('Mul', [b.op('Mul', [aM, inv]), b.op('Mul', [mean, dGamma])]), b.op('Mul', [aM, dBeta])]);
      const lin = b.op('BatchNormalization', [x, c1, c0, zeros, ones], { epsilon: f(0) }); // c1·x + c0
      dx = b.op('Add', [b.op('Mul', [gg, b.op('Reshape', [a, b.ints(pshape)])]), lin]);
    }
    return [dx, g.needs[1] ? dGamma : null, g.needs[2] ? dBeta : null];
  };
  const [yo, mo, vo] = b.composite(relu ? 'BatchNormTrainRelu' : 'BatchNormTrain', [x, gamma, beta], rule, () => {
    const mu = b.op('ReduceMean', [x], { axes, keepdims: 1 });
    const xc = b.op('Sub', [x, mu]);
    mean = b.op('Reshape', [mu, b.ints([c])]);
    const v = b.op('Mul', [b.op('ReduceSumSquare', [xc], { axes, keepdims: 0 }), b.scalar(1 / m)]);
    inv = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [v, b.scalar(BN_EPSILON)])])]);
    const lin = b.op('BatchNormalization', [x, gamma, beta, mean, v], { epsilon: f(BN_EPSILON) });
    y = relu ? b.op('Relu', [lin]) : lin;
    return [y, mean, v];
  });
  return { y: yo, stats: { mean: mo, variance: vo } };
}

/** Batch norm with moving statistics (+ ReLU): one BatchNormalization node. */
export function batchNormInfer(b: GraphBuilder, x: string, gamma: string, beta: string, mean: string, variance: string, relu: boolean): string {
  const y = b.op('BatchNormalization', [x, gamma, beta, mean, variance], { epsilon: f(BN_EPSILON) });
  return relu ? b.op('Relu', [y]) : y;
}

/**
 * How the graph holds the up-sampling kernels (the trainer converts checkpoint tensors to and from it):
 *   'native': ONNX ConvTranspose W [in, out, 4, 4], forward ConvTranspose, dW by the phase/shift GEMMs;
 *   'phase':  the equivalent stride-1 kernel K [4·out, in, 2, 2] (./paramLayout.ts), forward
 *             Conv 2×2 (pads 1) → DepthToSpace(2) → crop 1 pixel, every step an ordinary primitive.
 */
export type ConvTLayout = 'native' | 'phase';

/**
 * TF conv2dTranspose(x, W, stride 2, 'same') (+ bias [out]) on NCHW x [N, in, h, w] → [N, out, 2h, 2w], W in
 * the graph layout `layout`.
 */
export function convTransposeK4S2(b: GraphBuilder, x: string, w: string, bias: string | null, layout: ConvTLayout = 'native'): string {
  const [, , h, wd] = b.shape(x) as number[];
  if (layout === 'phase') {
    const q = b.op('Conv', [x, w], { pads: [1, 1, 1, 1], kernel_shape: [2, 2] }); // [N, 4·out, h+1, w+1]
    const d = b.op('DepthToSpace', [q], { blocksize: 2, mode: 'DCR' });
    const y = b.op('Slice', [d, b.ints([1, 1]), b.ints([2 * h + 1, 2 * wd + 1]), b.ints([2, 3])]);
    if (!bias) return y;
    return b.op('Add', [y, b.op('Reshape', [bias, b.ints([1, -1, 1, 1])])]);
  }
  const attrs = { strides: [2, 2], pads: [1, 1, 1, 1], kernel_shape: [4, 4] };
  const inputs = bias ? [x, w, bias] : [x, w];
  const rule: GradRule = (g) => {
    const dy = g.dy[0];
    if (!dy) return [null, null, null];
    const dx = g.needs[0] ? b.op('Conv', [dy, w], attrs) : null;
    let dw: string | null = null;
    if (g.needs[1]) {
      dw = b.flags.weightGrad === 'shift' ? convTransposeK4S2WeightGrad(b, x, dy, `${b.graphName}: ${g.entry.name}`)
        : CONV_RULES.ConvTranspose({ ...g, needs: [false, true, false] })[1];
    }
    const db = bias && g.needs[2] ? b.op('ReduceSum', [dy, b.ints([0, 2, 3])], { keepdims: 0 }) : null;
    return [dx, dw, db];
  };
  return b.composite('ConvTransposeK4S2', inputs, rule, () => [b.op('ConvTranspose', inputs, attrs)], attrs)[0];
}

/** TF conv2d(x, W, stride 1, 'same') on NCHW x [N, in, h, w] (no bias), W as ONNX [out, in, 3, 3]. */
export function conv3x3(b: GraphBuilder, x: string, w: string): string {
  return b.op('Conv', [x, w], { pads: [1, 1, 1, 1], kernel_shape: [3, 3] });
}

export type PixelLoss = 'l1' | 'l2' | 'l1+l2' | 'ssim';

/** Mean pixel loss between y and t (same shape, values in [0, 1]); a scalar. SSIM needs NCHW [N, 3, S, S]. */
export function pixelLoss(b: GraphBuilder, y: string, t: string, loss: PixelLoss): string {
  const d = b.op('Sub', [y, t]);
  const l1 = () => b.op('ReduceMean', [b.op('Abs', [d])], { keepdims: 0 });
  const l2 = () => b.op('ReduceMean', [b.op('Mul', [d, d])], { keepdims: 0 });
  switch (loss) {
    case 'l1': return l1();
    case 'l2': return l2();
    case 'l1+l2': return b.op('Add', [l1(), l2()]);
    case 'ssim': return b.op('Sub', [b.scalar(1), ssim(b, y, t)]);
  }
}

/** Mean SSIM over the batch of luma images (valid 11×11 Gaussian window, L = 1), y/t NCHW RGB in [0, 1]. */
export function ssim(b: GraphBuilder, y: string, t: string): string {
  const lumaW = b.constant(Float32Array.of(0.299, 0.587, 0.114), [1, 3, 1, 1], 'float32', 'luma');
  const ly = b.op('Conv', [y, lumaW], { kernel_shape: [1, 1] });
  const lt = b.op('Conv', [t, lumaW], { kernel_shape: [1, 1] });
  const r = 5; const sigma = 1.5;
  const w = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const s = w.reduce((p, q) => p + q, 0);
  const win = Float32Array.from(w, (v) => v / s);
  const stack = b.op('Concat', [ly, lt, b.op('Mul', [ly, ly]), b.op('Mul', [lt, lt]), b.op('Mul', [ly, lt])], { axis: 1 }); // [N, 5, S, S]
  const rowW = b.constant(Float32Array.from({ length: 5 * 11 }, (_, i) => win[i % 11]), [5, 1, 1, 11], 'float32', 'gauss_row');
  const colW = b.constant(Float32Array.from({ length: 5 * 11 }, (_, i) => win[i % 11]), [5, 1, 11, 1], 'float32', 'gauss_col');
  const filt = b.op('Conv', [b.op('Conv', [stack, rowW], { group: 5, kernel_shape: [1, 11] }), colW], { group: 5, kernel_shape: [11, 1] });
  const [mx, my, sxx, syy, sxy] = b.opN('Split', [filt, b.ints([1, 1, 1, 1, 1])], 5, { axis: 1 });
  const c1 = 0.01 ** 2; const c2 = 0.03 ** 2;
  const mxy = b.op('Mul', [mx, my]);
  const mx2 = b.op('Mul', [mx, mx]); const my2 = b.op('Mul', [my, my]);
  const num = b.op('Mul', [b.op('Add', [b.op('Mul', [mxy, b.scalar(2)]), b.scalar(c1)]), b.op('Add', [b.op('Mul', [b.op('Sub', [sxy, mxy]), b.scalar(2)]), b.scalar(c2)])]);
  const den = b.op('Mul', [b.op('Add', [b.op('Add', [mx2, my2]), b.scalar(c1)]), b.op('Add', [b.op('Add', [b.op('Sub', [sxx, mx2]), b.op('Sub', [syy, my2])]), b.scalar(c2)])]);
  return b.op('ReduceMean', [b.op('Div', [num, den])], { keepdims: 0 });
}

/**
 * Per-row 1 − cos(e, t) for e, t [N, D] (t need not be normalised); returns [N]. ε keeps the norm's
 * gradient finite at 0, as latentSearch's `‖e‖ + 1e-12`.
 */
export function oneMinusCos(b: GraphBuilder, e: string, t: string): { loss: string; cos: string } {
  const dot = b.op('ReduceSum', [b.op('Mul', [e, t]), b.ints([1])], { keepdims: 0 });
  const ne = b.op('Sqrt', [b.op('ReduceSum', [b.op('Mul', [e, e]), b.ints([1])], { keepdims: 0 })]);
  const nt = b.op('Sqrt', [b.op('ReduceSum', [b.op('Mul', [t, t]), b.ints([1])], { keepdims: 0 })]);
  const cos = b.op('Div', [dot, b.op('Add', [b.op('Mul', [ne, nt]), b.scalar(1e-12)])]);
  return { loss: b.op('Sub', [b.scalar(1), cos]), cos };
}
