/**
 * Shape and data-movement ONNX ops. These need the logical (ONNX) layout, so NHWC activations are transposed
 * back first (free when H = W = 1, the usual case before a Flatten/Reshape in recognition heads).
 * Shape chains (Shape → Gather → Unsqueeze → Concat → Reshape) run on host arrays from the concrete shapes.
 *
 * Batch: many exported recognition models hard-code batch 1 in their final Reshape ([1, −1]). When the graph
 * declares a fixed batch B0, an execution uses batch N ≠ B0, the reshaped tensor's leading dim is N and the
 * target's leading entry is B0, the entry is taken as N (documented deviation: lets batches run in one pass).
 */
import { tf } from '../../tfjs/tf';
import { host, HostArray, hostConcat, hostGather, hostInts, hostSlice, normAxis, sizeOf } from '../hostArray';
import { hostToTensor, hv, logicalShape, nhwcAxis, toPlain, tv, Value } from '../value';
import { BuildContext, need, OpBuilder, RunContext } from './types';

/** An int list from an attribute (older opsets) or a host input (newer opsets); undefined when absent. */
function intList(ctx: BuildContext, inputs: (Value | undefined)[], i: number, attr: string): number[] | undefined {
  if (ctx.attrs.has(attr)) return ctx.attrs.ints(attr);
  const v = inputs[i];
  if (!v) return undefined;
  if (v.kind !== 'host') {
    throw new Error(`${ctx.where}: input ${i} (${attr}) is computed from tensor data; only static shapes are supported`);
  }
  return hostInts(v.a);
}

function resolveReshape(ctx: BuildContext, inShape: number[], target: number[], allowZero: boolean, rt: RunContext): number[] {
  const out = target.map((d, i) => (d === 0 && !allowZero ? inShape[i] : d));
  if (rt.declaredBatch !== null && rt.batch !== rt.declaredBatch && inShape[0] === rt.batch
    && out.length > 0 && out[0] === rt.declaredBatch) {
    out[0] = rt.batch;
  }
  const known = out.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const total = sizeOf(inShape);
  const nInfer = out.filter((d) => d === -1).length;
  if (nInfer > 1) throw new Error(`${ctx.where}: more than one -1 in target shape [${target}]`);
  if (nInfer === 1) out[out.indexOf(-1)] = known === 0 ? 0 : total / known;
  if (sizeOf(out) !== total || out.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`${ctx.where}: cannot reshape [${inShape}] to [${target}]`);
  }
  return out;
}

function reshapeValue(v: Value, shape: number[]): Value {
  if (v.kind === 'host') return hv({ ...v.a, dims: shape });
  return tv(tf.reshape(toPlain(v), shape));
}

export const reshape: OpBuilder = (ctx) => (inputs, rt) => {
  const v = need(inputs, 0, ctx.where);
  const target = intList(ctx, inputs, 1, 'shape');
  if (!target) throw new Error(`${ctx.where}: the shape input is missing`);
  return [reshapeValue(v, resolveReshape(ctx, logicalShape(v), target, ctx.attrs.int('allowzero', 0) === 1, rt))];
};

export const flatten: OpBuilder = (ctx) => {
  const axis = ctx.attrs.int('axis', 1);
  return (inputs) => {
    const v = need(inputs, 0, ctx.where);
    const s = logicalShape(v);
    const a = axis < 0 ? axis + s.length : axis;
    if (a < 0 || a > s.length) throw new Error(`${ctx.where}: axis ${axis} out of range for rank ${s.length}`);
    return [reshapeValue(v, [sizeOf(s.slice(0, a)), sizeOf(s.slice(a))])];
  };
};

export const transpose: OpBuilder = (ctx) => {
  const permAttr = ctx.attrs.has('perm') ? ctx.attrs.ints('perm') : undefined;
  return (inputs) => {
    const v = need(inputs, 0, ctx.where);
    const rank = logicalShape(v).length;
    const perm = permAttr ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
    if (v.kind === 'tensor' && v.nhwc && perm.join() === '0,2,3,1') return [tv(v.t)];
    return [tv(tf.transpose(toPlain(v), perm))];
  };
};

export const shape: OpBuilder = (ctx) => (inputs) => {
  const s = logicalShape(need(inputs, 0, ctx.where));
  const r = s.length;
  const clampIdx = (i: number): number => Math.min(Math.max(i < 0 ? i + r : i, 0), r);
  const start = clampIdx(ctx.attrs.int('start', 0));
  const end = ctx.attrs.has('end') ? clampIdx(ctx.attrs.int('end')) : r;
  const dims = s.slice(start, end);
  return [hv(host('int', [dims.length], dims))];
};

export const size: OpBuilder = (ctx) => (inputs) => [hv(host('int', [], [sizeOf(logicalShape(need(inputs, 0, ctx.where)))]))];

export const gather: OpBuilder = (ctx) => {
  const axis = ctx.attrs.int('axis', 0);
  return (inputs) => {
    const v = need(inputs, 0, ctx.where);
    const idx = need(inputs, 1, ctx.where);
    if (idx.kind !== 'host') throw new Error(`${ctx.where}: indices computed from tensor data are not supported`);
    if (v.kind === 'host') return [hv(hostGather(v.a, idx.a, axis, ctx.where))];
    const x = toPlain(v);
    const ax = normAxis(axis, x.rank, ctx.where);
    const n = x.shape[ax];
    const ids = Array.from(idx.a.data, (i) => (i < 0 ? i + n : i));
    const g = tf.gather(x, tf.tensor(ids, idx.a.dims.length ? idx.a.dims : [1], 'int32'), ax);
    // A scalar index drops the axis.
    return [tv(idx.a.dims.length === 0 ? tf.squeeze(g, [ax]) : g)];
  };
};

export const unsqueeze: OpBuilder = (ctx) => (inputs) => {
  const v = need(inputs, 0, ctx.where);
  const axes = intList(ctx, inputs, 1, 'axes');
  if (!axes) throw new Error(`${ctx.where}: axes are missing`);
  const s = logicalShape(v);
  const r = s.length + axes.length;
  const norm = axes.map((a) => normAxis(a, r, ctx.where)).sort((a, b) => a - b);
  const out = s.slice();
  for (const a of norm) out.splice(a, 0, 1);
  return [reshapeValue(v, out)];
};

export const squeeze: OpBuilder = (ctx) => (inputs) => {
  const v = need(inputs, 0, ctx.where);
  const s = logicalShape(v);
  const axes = intList(ctx, inputs, 1, 'axes');
  const norm = axes ? axes.map((a) => normAxis(a, s.length, ctx.where)) : s.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
  for (const a of norm) if (s[a] !== 1) throw new Error(`${ctx.where}: cannot squeeze axis ${a} of size ${s[a]}`);
  return [reshapeValue(v, s.filter((_, i) => !norm.includes(i)))];
};

export const concat: OpBuilder = (ctx) => {
  const axis = ctx.attrs.int('axis');
  return (inputs) => {
    const vals = inputs.map((_, i) => need(inputs, i, ctx.where));
    if (vals.every((v) => v.kind === 'host')) {
      return [hv(hostConcat(vals.map((v) => (v as { a: HostArray }).a), axis, ctx.where))];
    }
    const rank = logicalShape(vals[0]).length;
    const ax = normAxis(axis, rank, ctx.where);
    if (rank === 4 && vals.every((v) => v.kind === 'tensor' && v.nhwc)) {
      return [tv(tf.concat(vals.map((v) => (v as { t: tf.Tensor }).t), nhwcAxis(ax)), true)];
    }
    const ts = vals.map((v) => toPlain(v));
    const dt = ts.some((t) => t.dtype === 'float32') ? 'float32' : ts[0].dtype;
    return [tv(tf.concat(ts.map((t) => (t.dtype === dt ? t : tf.cast(t, dt))), ax))];
  };
};

export const slice: OpBuilder = (ctx) => (inputs) => {
  const v = need(inputs, 0, ctx.where);
  const s = logicalShape(v);
  const starts = intList(ctx, inputs, 1, 'starts');
  const ends = intList(ctx, inputs, 2, 'ends');
  if (!starts || !ends) throw new Error(`${ctx.where}: starts/ends are missing`);
  const axes = intList(ctx, inputs, 3, 'axes') ?? starts.map((_, i) => i);
  const steps = (ctx.opset >= 10 ? intList(ctx, inputs, 4, 'steps') : undefined) ?? starts.map(() => 1);
  const begin = s.map(() => 0); const end = s.slice(); const step = s.map(() => 1);
  axes.forEach((a0, i) => {
    const a = normAxis(a0, s.length, ctx.where);
    const d = s[a]; const st = steps[i];
    if (st === 0) throw new Error(`${ctx.where}: step 0 on axis ${a0}`);
    const clampPos = (x: number, lo: number, hi: number): number => Math.min(Math.max(x < 0 ? x + d : x, lo), hi);
    if (st > 0) { begin[a] = clampPos(starts[i], 0, d); end[a] = clampPos(ends[i], 0, d); } else {
      begin[a] = clampPos(starts[i], -1, d - 1); end[a] = clampPos(ends[i], -1, d - 1);
    }
    step[a] = st;
  });
  if (v.kind === 'host') {
    if (step.some((x) => x < 0)) throw new Error(`${ctx.where}: negative steps on host arrays are not supported`);
    return [hv(hostSlice(v.a, begin, end, step))];
  }
  const x = toPlain(v);
  if (step.every((x1) => x1 === 1)) {
    return [tv(tf.slice(x, begin, end.map((e, k) => Math.max(0, e - begin[k]))))];
  }
  // stridedSlice end is exclusive; -1 end with negative step means "through index 0".
  const endMask = end.reduce((m, e, k) => (step[k] < 0 && e === -1 ? m | (1 << k) : m), 0);
  return [tv(tf.stridedSlice(x, begin, end, step, 0, endMask))];
};

export const cast: OpBuilder = (ctx) => {
  const to = ctx.attrs.int('to');
  // onnx.TensorProto.DataType: 1 FLOAT, 10 FLOAT16, 11 DOUBLE → float; 9 BOOL; ints otherwise.
  const kind: 'float32' | 'int' | 'bool' = [1, 10, 11].includes(to) ? 'float32' : to === 9 ? 'bool' : 'int';
  return (inputs) => {
    const v = need(inputs, 0, ctx.where);
    if (v.kind === 'host') {
      const data = Array.from(v.a.data, (x) => (kind === 'int' ? Math.trunc(x) : kind === 'bool' ? Number(x !== 0) : x));
      return [hv(host(kind, v.a.dims, data))];
    }
    return [tv(tf.cast(v.t, kind === 'int' ? 'int32' : kind), v.nhwc)];
  };
};

export const constantOfShape: OpBuilder = (ctx) => {
  const value = ctx.attrs.has('value') ? ctx.attrs.tensor('value') : host('float32', [1], [0]);
  return (inputs) => {
    const sv = need(inputs, 0, ctx.where);
    if (sv.kind !== 'host') throw new Error(`${ctx.where}: the shape must be static`);
    const dims = hostInts(sv.a);
    return [hv(host(value.dtype, dims, new Array<number>(sizeOf(dims)).fill(value.data[0])))];
  };
};

/** Pad (constant / reflect); pads from the attribute (opset < 11) or input 1, value from attr or input 2. */
export const pad: OpBuilder = (ctx) => {
  const mode = ctx.attrs.string('mode', 'constant');
  if (mode !== 'constant' && mode !== 'reflect') throw new Error(`${ctx.where}: Pad mode '${mode}' is not supported`);
  return (inputs) => {
    const v = need(inputs, 0, ctx.where);
    const pads = intList(ctx, inputs, 1, 'pads');
    if (!pads) throw new Error(`${ctx.where}: pads are missing`);
    const cv = inputs[2];
    if (cv && cv.kind !== 'host') throw new Error(`${ctx.where}: constant_value must be static`);
    const value = ctx.opset < 11 ? ctx.attrs.float('value', 0) : cv ? cv.a.data[0] ?? 0 : 0;
    if (ctx.opset >= 18 && inputs[3]) throw new Error(`${ctx.where}: the axes input of Pad is not supported`);
    const s = logicalShape(v);
    if (pads.length !== 2 * s.length || pads.some((p) => p < 0)) {
      throw new Error(`${ctx.where}: pads [${pads}] do not fit rank ${s.length} (negative pads unsupported)`);
    }
    let pairs = s.map((_, k) => [pads[k], pads[k + s.length]] as [number, number]);
    const x = v.kind === 'host' ? hostToTensor(v.a) : v.t;
    const nhwc = v.kind === 'tensor' && v.nhwc;
    if (nhwc) pairs = [pairs[0], pairs[2], pairs[3], pairs[1]];
    const y = mode === 'constant' ? tf.pad(x, pairs, value) : tf.mirrorPad(x, pairs, 'reflect');
    return [tv(y, nhwc)];
  };
};

export const split: OpBuilder = (ctx) => {
  const axis = ctx.attrs.int('axis', 0);
  const nOut = (ctx.node.output ?? []).length;
  return (inputs) => {
    const v = need(inputs, 0, ctx.where);
    const s = logicalShape(v);
    const ax = normAxis(axis, s.length, ctx.where);
    const sizes = intList(ctx, inputs, 1, 'split') ?? new Array<number>(nOut).fill(s[ax] / nOut);
    if (sizes.some((x) => !Number.isInteger(x))) throw new Error(`${ctx.where}: axis of size ${s[ax]} does not split into ${nOut}`);
    const nhwc = v.kind === 'tensor' && v.nhwc;
    const x = v.kind === 'host' ? hostToTensor(v.a) : v.t;
    return tf.split(x, sizes, nhwc ? nhwcAxis(ax) : ax).map((t) => tv(t, nhwc));
  };
};
