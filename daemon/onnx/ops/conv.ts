/**
 * ONNX Conv, BatchNormalization and pooling (https://onnx.ai/onnx/operators/) on NHWC TF.js tensors.
 *
 * Conv weights [Co, Ci/g, kh, kw] are rearranged once at import: 1×1 stride-1 unpadded convolutions become a
 * matrix [Ci, Co] (a reshape + matMul: XNNPACK GEMM forward and backward), depthwise (g = Ci) → [kh,kw,Ci,m],
 * dense → HWIO, other group counts → one dense conv per group. BatchNormalization right after a Conv is folded
 * into the Conv's weights by the compiler (`foldBatchNorm`); a standalone one becomes a per-channel scale+shift.
 */
import { tf } from '../../tfjs/tf';
import { HostArray, host } from '../hostArray';
import { logicalShape, toNhwc, toPlain, tv, Value } from '../value';
import { backDepthwiseFilter, backFilter, conv2dX, ConvGeometry, depthwiseX } from './convGrad';
import { matMulConstRight } from './matmulGrad';
import { addMacs, BuildContext, need, OpBuilder, RunFn } from './types';

type AutoPad = 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';

interface Window2d {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  /** ONNX order [top, left, bottom, right]. */
  pads: number[];
  autoPad: AutoPad;
}

function window2d(ctx: BuildContext, kernel: number[] | undefined): Window2d {
  const k = ctx.attrs.has('kernel_shape') ? ctx.attrs.ints('kernel_shape') : kernel;
  if (!k || k.length !== 2) {
    throw new Error(`${ctx.where}: only 2-D windows are supported, kernel_shape is [${k ?? '?'}]`);
  }
  const strides = ctx.attrs.ints('strides', [1, 1]);
  const dilations = ctx.attrs.ints('dilations', [1, 1]);
  const pads = ctx.attrs.ints('pads', [0, 0, 0, 0]);
  const autoPad = ctx.attrs.string('auto_pad', 'NOTSET') as AutoPad;
  if (!['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'].includes(autoPad)) {
    throw new Error(`${ctx.where}: unknown auto_pad '${autoPad}'`);
  }
  if (strides.length !== 2 || dilations.length !== 2 || pads.length !== 4) {
    throw new Error(`${ctx.where}: strides/dilations/pads must be 2/2/4 long, got [${strides}]/[${dilations}]/[${pads}]`);
  }
  if (pads.some((p) => p < 0)) throw new Error(`${ctx.where}: negative pads [${pads}] are not supported`);
  return { kernel: [k[0], k[1]], strides: [strides[0], strides[1]], dilations: [dilations[0], dilations[1]], pads, autoPad };
}

/** Geometry for a concrete input size (auto_pad resolved), pads as [top, bottom, left, right]. */
function geometry(w: Window2d, h: number, wd: number, ceilMode = false): ConvGeometry {
  let [pt, pl, pb, pr] = w.pads;
  const keff = [(w.kernel[0] - 1) * w.dilations[0] + 1, (w.kernel[1] - 1) * w.dilations[1] + 1];
  if (w.autoPad === 'VALID') { pt = pl = pb = pr = 0; }
  if (w.autoPad === 'SAME_UPPER' || w.autoPad === 'SAME_LOWER') {
    const tot = [h, wd].map((s, i) => Math.max(0, (Math.ceil(s / w.strides[i]) - 1) * w.strides[i] + keff[i] - s));
    const lo = tot.map((t) => (w.autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : Math.ceil(t / 2)));
    [pt, pl] = lo; pb = tot[0] - lo[0]; pr = tot[1] - lo[1];
  }
  if (ceilMode) {
    // Extra bottom/right padding so that the output size is ceil((in + pads − keff) / s) + 1.
    const extra = [h + pt + pb, wd + pl + pr].map((s, i) => {
      const r = (s - keff[i]) % w.strides[i];
      return r === 0 ? 0 : w.strides[i] - r;
    });
    pb += extra[0]; pr += extra[1];
  }
  return { strides: w.strides, dilations: w.dilations, pads: [pt, pb, pl, pr] };
}

function checkStrideDilation(where: string, w: Window2d): void {
  if ((w.strides[0] > 1 || w.strides[1] > 1) && (w.dilations[0] > 1 || w.dilations[1] > 1)) {
    throw new Error(`${where}: strides [${w.strides}] together with dilations [${w.dilations}] are not supported by TF.js convolutions`);
  }
}

export const conv: OpBuilder = (ctx) => {
  const W = ctx.constInput(1);
  if (!W) throw new Error(`${ctx.where}: the weight input must be a constant initializer`);
  if (W.dims.length !== 4) throw new Error(`${ctx.where}: only 2-D convolutions are supported, weight dims [${W.dims}]`);
  const B = ctx.hasInput(2) ? ctx.constInput(2) : undefined;
  if (ctx.hasInput(2) && !B) throw new Error(`${ctx.where}: the bias input must be a constant initializer`);
  const [co, cig, kh, kw] = W.dims;
  const group = ctx.attrs.int('group', 1);
  if (co % group !== 0) throw new Error(`${ctx.where}: ${co} output channels are not divisible by group ${group}`);
  const ci = cig * group;
  const win = window2d(ctx, [kh, kw]);
  checkStrideDilation(ctx.where, win);
  const bias = B ? ctx.own(tf.tensor1d(B.data as Float32Array, 'float32')) : null;
  const wOihw = tf.tensor4d(W.data as Float32Array, [co, cig, kh, kw], 'float32');
  const isPointwise = group === 1 && kh === 1 && kw === 1 && win.strides.every((s) => s === 1)
    && win.pads.every((p) => p === 0);
  let forward: (x: tf.Tensor4D, g: ConvGeometry) => tf.Tensor4D;
  if (isPointwise) {
    const mT = ctx.own(tf.reshape(wOihw, [co, ci]) as tf.Tensor2D);
    const m = ctx.own(tf.transpose(mT) as tf.Tensor2D);
    forward = (x) => {
      const [n, h, w] = x.shape;
      return tf.reshape(matMulConstRight(tf.reshape(x, [n * h * w, ci]), m, mT), [n, h, w, co]);
    };
  } else if (group === 1) {
    const hwio = ctx.own(tf.tidy(() => tf.transpose(wOihw, [2, 3, 1, 0])) as tf.Tensor4D);
    const back = ctx.own(backFilter(hwio));
    forward = (x, g) => conv2dX(x, hwio, back, g);
  } else if (cig === 1) {
    const dw = ctx.own(tf.tidy(() => tf.reshape(tf.transpose(wOihw, [2, 3, 1, 0]), [kh, kw, ci, co / ci])) as tf.Tensor4D);
    const back = ctx.own(backDepthwiseFilter(dw));
    forward = (x, g) => depthwiseX(x, dw, back, g);
  } else {
    const cog = co / group;
    const parts = Array.from({ length: group }, (_, i) => {
      const hwio = ctx.own(tf.tidy(() => tf.transpose(tf.slice(wOihw, [i * cog, 0, 0, 0], [cog, cig, kh, kw]), [2, 3, 1, 0])) as tf.Tensor4D);
      return { hwio, back: ctx.own(backFilter(hwio)) };
    });
    forward = (x, g) => {
      const xs = tf.split(x, group, 3);
      return tf.concat(parts.map((p, i) => conv2dX(xs[i] as tf.Tensor4D, p.hwio, p.back, g)), 3) as tf.Tensor4D;
    };
  }
  wOihw.dispose();
  const run: RunFn = (inputs, rt) => {
    const x = toNhwc(need(inputs, 0, ctx.where), ctx.where);
    if (x.shape[3] !== ci) {
      throw new Error(`${ctx.where}: input has ${x.shape[3]} channels, the weights expect ${ci}`);
    }
    const g = geometry(win, x.shape[1], x.shape[2]);
    let y = forward(x, g);
    if (bias) y = tf.add(y, bias);
    addMacs(rt, 'Conv', y.shape[0] * y.shape[1] * y.shape[2] * co * cig * kh * kw);
    return [tv(y, true)];
  };
  return run;
};

/** Per-channel affine form of an inference-mode BatchNormalization: y = a·x + b. */
export function batchNormAffine(ctx: BuildContext): { a: Float32Array; b: Float32Array } {
  if (ctx.attrs.int('training_mode', 0) !== 0) throw new Error(`${ctx.where}: training_mode=1 is not supported`);
  const eps = ctx.attrs.float('epsilon', 1e-5);
  const p = [1, 2, 3, 4].map((i) => ctx.constInput(i));
  if (p.some((v) => !v)) throw new Error(`${ctx.where}: scale, B, mean and var must be constant initializers`);
  const [scale, bb, mean, vr] = p as HostArray[];
  const c = scale.data.length;
  const a = new Float32Array(c); const b = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    a[i] = scale.data[i] / Math.sqrt(vr.data[i] + eps);
    b[i] = bb.data[i] - mean.data[i] * a[i];
  }
  return { a, b };
}

/** Folds y = a·conv(x, W) + b into one Conv: W'[o] = a[o]·W[o], B'[o] = a[o]·B[o] + b[o]. */
export function foldIntoConv(W: HostArray, B: HostArray | undefined, a: Float32Array, b: Float32Array): { W: HostArray; B: HostArray } {
  const co = W.dims[0];
  const per = W.data.length / co;
  const w2 = new Float32Array(W.data.length);
  const b2 = new Float32Array(co);
  for (let o = 0; o < co; o++) {
    for (let i = 0; i < per; i++) w2[o * per + i] = W.data[o * per + i] * a[o];
    b2[o] = (B ? B.data[o] : 0) * a[o] + b[o];
  }
  return { W: host('float32', W.dims.slice(), w2), B: host('float32', [co], b2) };
}

export const batchNormalization: OpBuilder = (ctx) => {
  const { a, b } = batchNormAffine(ctx);
  const c = a.length;
  const aN = ctx.own(tf.tensor1d(a)); const bN = ctx.own(tf.tensor1d(b));
  return (inputs) => {
    const v = need(inputs, 0, ctx.where);
    const shape = logicalShape(v);
    if (shape[1] !== c) throw new Error(`${ctx.where}: input has ${shape[1]} channels, parameters have ${c}`);
    if (v.kind === 'tensor' && v.nhwc) return [tv(tf.add(tf.mul(v.t, aN), bN), true)];
    const x = toPlain(v);
    const bshape = [c, ...new Array<number>(Math.max(0, x.rank - 2)).fill(1)];
    return [tv(tf.add(tf.mul(x, tf.reshape(aN, bshape)), tf.reshape(bN, bshape)))];
  };
};

function pool(kind: 'max' | 'avg'): OpBuilder {
  return (ctx) => {
    const win = window2d(ctx, undefined);
    if (kind === 'max' && win.dilations.some((d) => d !== 1)) throw new Error(`${ctx.where}: dilated MaxPool is not supported`);
    if (ctx.attrs.int('storage_order', 0) !== 0) throw new Error(`${ctx.where}: storage_order=1 is not supported`);
    const ceil = ctx.attrs.int('ceil_mode', 0) === 1;
    const includePad = ctx.attrs.int('count_include_pad', 0) === 1;
    return (inputs) => {
      let x = toNhwc(need(inputs, 0, ctx.where), ctx.where);
      const g = geometry(win, x.shape[1], x.shape[2], ceil);
      type Pad4 = [[number, number], [number, number], [number, number], [number, number]];
      let explicit: Pad4 | 'valid' = g.pads.every((p) => p === 0)
        ? 'valid' : [[0, 0], [g.pads[0], g.pads[1]], [g.pads[2], g.pads[3]], [0, 0]];
      if (kind === 'avg' && includePad && explicit !== 'valid') {
        x = tf.pad(x, explicit);
        explicit = 'valid';
      }
      // tfjs pooling: padded cells are ignored (max) / not counted in the average (avg), as in ONNX's default.
      const y = kind === 'max'
        ? tf.maxPool(x, win.kernel, win.strides, explicit as never)
        : tf.avgPool(x, win.kernel, win.strides, explicit as never);
      return [tv(y, true)];
    };
  };
}

export const maxPool = pool('max');
export const averagePool = pool('avg');

function globalPool(kind: 'max' | 'avg'): OpBuilder {
  return (ctx) => (inputs) => {
    const v: Value = need(inputs, 0, ctx.where);
    if (v.kind === 'tensor' && v.nhwc) {
      return [tv(kind === 'avg' ? tf.mean(v.t, [1, 2], true) : tf.max(v.t, [1, 2], true), true)];
    }
    const x = toPlain(v);
    if (x.rank < 3) throw new Error(`${ctx.where}: input of rank ${x.rank}, expected N,C,spatial…`);
    const axes = Array.from({ length: x.rank - 2 }, (_, i) => i + 2);
    return [tv(kind === 'avg' ? tf.mean(x, axes, true) : tf.max(x, axes, true))];
  };
}

export const globalAveragePool = globalPool('avg');
export const globalMaxPool = globalPool('max');
