/**
 * ONNX reductions and Softmax. Axes come from the attribute (older opsets) or input 1 (ReduceSum ≥ 13,
 * others ≥ 18). NHWC activations reduce in place (axes remapped) when keepdims = 1 and stay NHWC.
 */
import { tf } from '../../tfjs/tf';
import { hostInts, normAxis } from '../hostArray';
import { hostToTensor, logicalShape, nhwcAxis, toPlain, tv } from '../value';
import { need, OpBuilder } from './types';

type Reducer = (x: tf.Tensor, axes: number[], keep: boolean) => tf.Tensor;

function reduce(f: Reducer, axesInputFrom: number): OpBuilder {
  return (ctx) => {
    const keep = ctx.attrs.int('keepdims', 1) === 1;
    const noopEmpty = ctx.attrs.int('noop_with_empty_axes', 0) === 1;
    return (inputs) => {
      const v = need(inputs, 0, ctx.where);
      const rank = logicalShape(v).length;
      let axes: number[] | undefined;
      if (ctx.attrs.has('axes')) axes = ctx.attrs.ints('axes');
      else if (ctx.opset >= axesInputFrom && inputs[1]) {
        const a = inputs[1];
        if (a.kind !== 'host') throw new Error(`${ctx.where}: axes must be static`);
        axes = hostInts(a.a);
      }
      if (!axes || axes.length === 0) {
        if (noopEmpty) return [v];
        axes = Array.from({ length: rank }, (_, i) => i);
      }
      const norm = axes.map((a) => normAxis(a, rank, ctx.where));
      if (v.kind === 'tensor' && v.nhwc && keep) return [tv(f(v.t, norm.map(nhwcAxis), true), true)];
      const x = v.kind === 'host' ? hostToTensor(v.a) : toPlain(v);
      return [tv(f(x, norm, keep))];
    };
  };
}

export const reduceMean = reduce((x, a, k) => tf.mean(x, a, k), 18);
export const reduceSum = reduce((x, a, k) => tf.sum(x, a, k), 13);
export const reduceMax = reduce((x, a, k) => tf.max(x, a, k), 18);
export const reduceMin = reduce((x, a, k) => tf.min(x, a, k), 18);
export const reduceL2 = reduce((x, a, k) => tf.sqrt(tf.sum(tf.square(x), a, k)), 18);

/** Softmax / LogSoftmax: opset ≥ 13 over one axis (default −1); before, over the flattened trailing axes from `axis` (default 1). */
function softmaxLike(log: boolean): OpBuilder {
  return (ctx) => {
    const modern = ctx.opset >= 13;
    const axis = ctx.attrs.int('axis', modern ? -1 : 1);
    const sm = (t: tf.Tensor): tf.Tensor => (log ? tf.logSoftmax(t) : tf.softmax(t));
    return (inputs) => {
      const x = toPlain(need(inputs, 0, ctx.where));
      const ax = normAxis(axis, x.rank, ctx.where);
      if (!modern) {
        const outer = x.shape.slice(0, ax).reduce((a, b) => a * b, 1);
        return [tv(tf.reshape(sm(tf.reshape(x, [outer, -1])), x.shape))];
      }
      if (ax === x.rank - 1) return [tv(sm(x))];
      const perm = Array.from({ length: x.rank }, (_, i) => i);
      perm[ax] = x.rank - 1; perm[x.rank - 1] = ax;
      return [tv(tf.transpose(sm(tf.transpose(x, perm)), perm))];
    };
  };
}

export const softmax = softmaxLike(false);
export const logSoftmax = softmaxLike(true);
