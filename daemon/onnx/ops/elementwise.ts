/**
 * Element-wise ONNX ops (https://onnx.ai/onnx/operators/): activations and numpy-broadcast arithmetic. They run
 * in whichever layout their tensor input has; constants are broadcast into that layout (see `../value.ts`).
 * When every input is a host array (a shape chain), arithmetic is computed on the host.
 */
import { tf } from '../../tfjs/tf';
import { hostBinary, HostDtype } from '../hostArray';
import { hostToTensor, hv, plainToNhwcBroadcast, toNhwc, toPlain, tv, Value } from '../value';
import { need, OpBuilder, RunContext } from './types';

/** One operand as a tensor in the requested layout (static constants come from the model's cache). */
function operand(v: Value, nhwc: boolean, rt: RunContext, isStatic: boolean, where: string): tf.Tensor {
  if (v.kind === 'host') {
    if (isStatic) return rt.constTensor(v.a, nhwc);
    const t = hostToTensor(v.a);
    return nhwc ? plainToNhwcBroadcast(t, where) : t;
  }
  if (!nhwc || v.nhwc) return v.t;
  return v.t.rank === 4 ? toNhwc(v, where) : plainToNhwcBroadcast(v.t, where);
}

/** Picks the common layout for tensors meeting in an element-wise op and converts them. */
function align(vals: Value[], statics: boolean[], rt: RunContext, where: string): { ts: tf.Tensor[]; nhwc: boolean } {
  const anyNhwc = vals.some((v) => v.kind === 'tensor' && v.nhwc);
  const maxRank = Math.max(...vals.map((v) => (v.kind === 'host' ? v.a.dims.length : v.t.rank)));
  const nhwc = anyNhwc && maxRank <= 4;
  const ts = vals.map((v, i) => (nhwc ? operand(v, true, rt, statics[i], where)
    : v.kind === 'host' ? (statics[i] ? rt.constTensor(v.a, false) : hostToTensor(v.a)) : toPlain(v)));
  return { ts, nhwc };
}

type TfBinary = (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

function binary(f: TfBinary, hostF: ((x: number, y: number) => number) | null, outDtype?: HostDtype): OpBuilder {
  return (ctx) => {
    const statics = [0, 1].map((i) => ctx.constInput(i) !== undefined);
    return (inputs, rt) => {
      const a = need(inputs, 0, ctx.where);
      const b = need(inputs, 1, ctx.where);
      if (a.kind === 'host' && b.kind === 'host' && hostF) {
        const dt: HostDtype = outDtype ?? (a.a.dtype === 'float32' || b.a.dtype === 'float32' ? 'float32' : a.a.dtype);
        const g = dt === 'int' && hostF === DIV ? (x: number, y: number) => Math.trunc(x / y) : hostF;
        return [hv(hostBinary(a.a, b.a, g, dt, ctx.where))];
      }
      const { ts, nhwc } = align([a, b], statics, rt, ctx.where);
      let [x, y] = ts;
      if (x.dtype !== y.dtype && x.dtype !== 'bool' && y.dtype !== 'bool') {
        // Host int constants meeting float tensors (e.g. Mul by an int64 scalar): compute in float.
        if (x.dtype !== 'float32') x = tf.cast(x, 'float32');
        if (y.dtype !== 'float32') y = tf.cast(y, 'float32');
      }
      return [tv(f(x, y), nhwc)];
    };
  };
}

const DIV = (x: number, y: number): number => x / y;

export const add = binary(tf.add, (x, y) => x + y);
export const sub = binary(tf.sub, (x, y) => x - y);
export const mul = binary(tf.mul, (x, y) => x * y);
export const div = binary(tf.div, DIV);
export const pow = binary(tf.pow, (x, y) => x ** y);
export const equal = binary(tf.equal, (x, y) => Number(x === y), 'bool');
export const greater = binary(tf.greater, (x, y) => Number(x > y), 'bool');
export const less = binary(tf.less, (x, y) => Number(x < y), 'bool');

/** Variadic Max / Min / Sum (numpy broadcasting, pairwise). */
function variadic(f: TfBinary): OpBuilder {
  return (ctx) => {
    const statics = Array.from({ length: ctx.inputCount }, (_, i) => ctx.constInput(i) !== undefined);
    return (inputs, rt) => {
      const vals = inputs.map((v, i) => need(inputs, i, ctx.where));
      const { ts, nhwc } = align(vals, statics, rt, ctx.where);
      return [tv(ts.slice(1).reduce((acc, t) => f(acc, t), ts[0]), nhwc)];
    };
  };
}
export const max = variadic(tf.maximum);
export const min = variadic(tf.minimum);
export const sum = variadic(tf.add);

/** Activations f(x) that keep the layout. */
function unary(f: (x: tf.Tensor, ctx: { alpha: number; beta: number }) => tf.Tensor, alpha = 0, beta = 0): OpBuilder {
  return (ctx) => {
    const p = { alpha: ctx.attrs.float('alpha', alpha), beta: ctx.attrs.float('beta', beta) };
    return (inputs) => {
      const v = need(inputs, 0, ctx.where);
      if (v.kind === 'host') return [tv(f(hostToTensor(v.a), p))];
      return [tv(f(v.t, p), v.nhwc)];
    };
  };
}

export const relu = unary((x) => tf.relu(x));
export const sigmoid = unary((x) => tf.sigmoid(x));
export const tanh = unary((x) => tf.tanh(x));
export const exp = unary((x) => tf.exp(x));
export const log = unary((x) => tf.log(x));
export const sqrt = unary((x) => tf.sqrt(x));
export const neg = unary((x) => tf.neg(x));
export const abs = unary((x) => tf.abs(x));
export const erf = unary((x) => tf.erf(x));
export const softplus = unary((x) => tf.softplus(x));
export const leakyRelu = unary((x, p) => tf.leakyRelu(x, p.alpha), 0.01);
export const elu = unary((x, p) => (p.alpha === 1 ? tf.elu(x) : tf.where(tf.greater(x, 0), x, tf.mul(p.alpha, tf.sub(tf.exp(x), 1)))), 1);
export const hardSigmoid = unary((x, p) => tf.clipByValue(tf.add(tf.mul(x, p.alpha), p.beta), 0, 1), 0.2, 0.5);
export const identity: OpBuilder = (ctx) => (inputs) => [need(inputs, 0, ctx.where)];
/** Dropout at inference is the identity; a requested mask output is all-true. */
export const dropout: OpBuilder = (ctx) => (inputs) => {
  const v = need(inputs, 0, ctx.where);
  if (ctx.node.output && ctx.node.output.length > 1 && ctx.node.output[1]) {
    const mask = v.kind === 'host' ? tf.onesLike(hostToTensor(v.a)) : tf.onesLike(v.t);
    return [v, tv(tf.cast(mask, 'bool'), v.kind === 'tensor' && v.nhwc)];
  }
  return [v];
};

/** PRelu: y = x (x ≥ 0), slope·x (x < 0); slope is broadcast (typically [C,1,1] per channel). */
export const prelu: OpBuilder = (ctx) => {
  const slope = ctx.constInput(1);
  // XNNPACK's PReLU takes one slope per last-axis channel: usable directly for NHWC + per-channel slope.
  const perChannel = slope && (slope.dims.length <= 1 || slope.dims.slice(1).every((d) => d === 1))
    ? ctx.own(tf.tensor1d(slope.data as Float32Array)) : null;
  return (inputs, rt) => {
    const x = need(inputs, 0, ctx.where);
    const s = need(inputs, 1, ctx.where);
    if (perChannel && x.kind === 'tensor' && x.nhwc && (perChannel.size === x.t.shape[3] || perChannel.size === 1)) {
      return [tv(tf.prelu(x.t, perChannel), true)];
    }
    const { ts, nhwc } = align([x, s], [false, slope !== undefined], rt, ctx.where);
    const [xt, st] = ts;
    // relu(x) − slope·relu(−x): correct broadcasting and gradients on every backend.
    return [tv(tf.sub(tf.relu(xt), tf.mul(st, tf.relu(tf.neg(xt)))), nhwc)];
  };
};

/** Clip: bounds from attributes (opset < 11) or optional inputs 1/2 (opset ≥ 11). */
export const clip: OpBuilder = (ctx) => {
  const bound = (i: number, attr: string, dflt: number): number => {
    if (ctx.opset < 11) return ctx.attrs.float(attr, dflt);
    if (!ctx.hasInput(i)) return dflt;
    const c = ctx.constInput(i);
    if (!c) throw new Error(`${ctx.where}: the ${attr} input must be a constant`);
    return c.data[0];
  };
  const lo = bound(1, 'min', -3.4028234663852886e38);
  const hi = bound(2, 'max', 3.4028234663852886e38);
  return (inputs) => {
    const v = need(inputs, 0, ctx.where);
    const x = v.kind === 'host' ? hostToTensor(v.a) : v.t;
    const y = lo === 0 && hi === 6 ? tf.relu6(x) : tf.clipByValue(x, lo, hi);
    return [tv(y, v.kind === 'tensor' && v.nhwc)];
  };
};

