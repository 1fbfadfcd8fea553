/**
 * An ONNX model's own graph copied into the graph builder (./graph.ts), so reverse mode (./autodiff.ts) can
 * differentiate it: initializers and Constant nodes become constants, every node keeps its name (errors and
 * the tape point at the model's node), and attribute-form inputs of older opsets are rewritten to the
 * builder's opset 17 (Pad, Slice, Squeeze/Unsqueeze, Split, Clip, ReduceSum axes, Softmax's 2-D
 * coercion before opset 13). A fixed batch of 1 is lifted first (daemon/onnx/batchLift.ts), so the imported
 * graph takes any batch. Ops are checked up front against the backward rules: an op the compiler cannot
 * differentiate is an UndifferentiableOpError naming op and node before anything runs.
 */
import { onnx } from 'onnx-proto';
import { liftFixedBatch } from '../onnx/batchLift';
import { Attrs as ProtoAttrs, defaultOpset, tensorToHost, toNum } from '../onnx/proto';
import { UndifferentiableOpError } from './autodiff';
import { Attrs, AttrValue, f, GraphBuilder, Shape } from './graph';
import { RULES } from './rules';

/** Ops whose outputs are integer/shape values: copied, never differentiated. */
const NON_DIFFERENTIABLE = new Set(['Shape', 'Size', 'Equal', 'Greater', 'Less', 'Not', 'ConstantOfShape', 'Cast', 'Gather']);

export interface ImportedGraph {
  /** The model's (first) input value in the builder: [N, …] with a symbolic batch 'N'. */
  input: string;
  /** Output values by the model's output names. */
  outputs: Map<string, string>;
  opset: number;
  /** Whether the fixed batch was lifted. */
  lifted: boolean;
}

function attrValue(a: onnx.IAttributeProto, where: string): AttrValue | undefined {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.INT: return toNum(a.i as never);
    case T.INTS: return (a.ints ?? []).map((v) => toNum(v as never));
    case T.FLOAT: return f(a.f ?? 0);
    case T.FLOATS: return { floats: (a.floats ?? []).slice() };
    case T.STRING: return a.s ? Buffer.from(a.s).toString('utf8') : '';
    default: throw new Error(`${where}: attribute '${a.name}' of type ${T[a.type ?? 0]} is not supported`);
  }
}

/** Checks that every node on the path to the outputs has a backward rule (or is integer/shape-only). */
export function checkDifferentiable(model: onnx.IModelProto, file: string): void {
  for (const [i, n] of (model.graph?.node ?? []).entries()) {
    const op = n.opType ?? '';
    if (op === 'Constant' || NON_DIFFERENTIABLE.has(op)) continue;
    if ((n.domain && n.domain !== 'ai.onnx') || !RULES[op]) throw new UndifferentiableOpError(n.domain ? `${n.domain}:${op}` : op, n.name || `#${i}`, file);
  }
}

/**
 * Copies `bytes` (a serialised ModelProto) into `b`, feeding its first input from `input` when given (a value
 * of the same shape), else from a new graph input `inputName`. Returns the output values.
 */
export function importOnnx(b: GraphBuilder, bytes: Uint8Array, file: string, opts: { input?: string; inputName?: string; prefix?: string } = {}): ImportedGraph {
  let lifted = false;
  let src = bytes;
  try {
    const l = liftFixedBatch(bytes, file);
    if (l) { src = l.bytes; lifted = true; }
  } catch (e) {
    throw new Error(`${file}: its fixed batch cannot be lifted for batched gradients (${(e as Error).message})`);
  }
  const model = onnx.ModelProto.decode(src);
  const g = model.graph;
  if (!g) throw new Error(`${file}: no graph`);
  checkDifferentiable(model, file);
  const opset = defaultOpset(model);
  const pre = opts.prefix ?? '';
  const names = new Map<string, string>();
  const ref = (v: string, where: string): string => {
    if (!v) return '';
    const r = names.get(v);
    if (!r) throw new Error(`${where}: input '${v}' is not produced before this node`);
    return r;
  };
  const inits = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
  for (const t of g.initializer ?? []) {
    const h = tensorToHost(t, file);
    names.set(t.name ?? '', b.constant(h.dtype === 'float32' ? (h.data as Float32Array) : Array.from(h.data as number[]), h.dims, h.dtype === 'float32' ? 'float32' : 'int64', `${pre}${t.name}`));
  }
  const realInputs = (g.input ?? []).filter((i) => !inits.has(i.name ?? ''));
  if (realInputs.length !== 1) throw new Error(`${file}: expected one (non-initializer) input, the graph has ${realInputs.length}`);
  const gi = realInputs[0];
  const shape: Shape = (gi.type?.tensorType?.shape?.dim ?? []).map((d, k) => (k === 0 ? 'N' : d.dimValue !== undefined && d.dimValue !== null && toNum(d.dimValue as never) > 0 ? toNum(d.dimValue as never) : (d.dimParam || `d${k}`)));
  let input: string;
  if (opts.input) {
    const have = b.shape(opts.input);
    if (have.length !== shape.length || shape.some((d, k) => k > 0 && typeof d === 'number' && d !== have[k])) {
      throw new Error(`${file}: the model takes [${shape}], got a value of shape [${have}]`);
    }
    input = opts.input;
  } else {
    input = b.input(opts.inputName ?? `${pre}${gi.name}`, shape);
  }
  names.set(gi.name ?? '', input);

  (g.node ?? []).forEach((n, i) => {
    const op = n.opType ?? '';
    const nodeName = n.name || `#${i} (${op})`;
    const where = `${file}: node '${nodeName}' (${op})`;
    const pa = new ProtoAttrs(n, where);
    const attrs: Attrs = {};
    for (const a of n.attribute ?? []) {
      if (op === 'Constant') continue;
      const v = attrValue(a, where);
      if (v !== undefined && a.name) attrs[a.name] = v;
    }
    const outs = (n.output ?? []).map((o) => o);
    if (op === 'Constant') {
      const h = pa.has('value') ? pa.tensor('value') : pa.has('value_float') ? { dtype: 'float32' as const, dims: [], data: Float32Array.of(pa.float('value_float')) }
        : pa.has('value_ints') ? { dtype: 'int' as const, dims: [pa.ints('value_ints').length], data: pa.ints('value_ints') }
          : pa.has('value_int') ? { dtype: 'int' as const, dims: [], data: [pa.int('value_int')] } : null;
      if (!h) throw new Error(`${where}: Constant without a supported value`);
      names.set(outs[0], b.constant(h.dtype === 'float32' ? Float32Array.from(h.data as Float32Array) : Array.from(h.data as number[]), h.dims, h.dtype === 'float32' ? 'float32' : 'int64', `${pre}${outs[0]}`));
      return;
    }
    let ins = (n.input ?? []).map((x) => ref(x, where));
    // Attribute forms of older opsets → input forms of opset 17.
    const toInput = (attr: string, pos: number) => {
      const v = attrs[attr];
      if (Array.isArray(v)) {
        while (ins.length < pos) ins.push('');
        ins[pos] = b.ints(v);
        delete attrs[attr];
      }
    };
    if (op === 'Pad' && opset < 11) {
      toInput('pads', 1);
      const value = attrs.value;
      delete attrs.value;
      if (value !== undefined && typeof value === 'object' && 'f' in value && value.f !== 0) ins[2] = b.scalar(value.f);
    }
    if (op === 'Slice' && opset < 10) {
      const st = attrs.starts as number[]; const en = attrs.ends as number[]; const ax = attrs.axes as number[] | undefined;
      delete attrs.starts; delete attrs.ends; delete attrs.axes;
      ins = [ins[0], b.ints(st), b.ints(en), ...(ax ? [b.ints(ax)] : [])];
    }
    if ((op === 'Squeeze' || op === 'Unsqueeze') && opset < 13) toInput('axes', 1);
    if (op === 'Split' && opset < 13) toInput('split', 1);
    if (op === 'ReduceSum' && opset < 13) toInput('axes', 1);
    if (op === 'Clip' && opset < 11) {
      const lo = attrs.min; const hi = attrs.max;
      delete attrs.min; delete attrs.max;
      ins = [ins[0], lo !== undefined && typeof lo === 'object' && 'f' in lo ? b.scalar(lo.f) : '', hi !== undefined && typeof hi === 'object' && 'f' in hi ? b.scalar(hi.f) : ''];
    }
    if (op === 'Dropout') { delete attrs.ratio; delete attrs.is_test; ins = [ins[0]]; }
    if (op === 'BatchNormalization') { delete attrs.spatial; delete attrs.momentum; delete attrs.consumed_inputs; }
    if (op === 'Softmax' && opset < 13) {
      const rank = b.shape(ins[0]).length;
      const axis = (attrs.axis as number | undefined) ?? 1;
      if ((axis < 0 ? axis + rank : axis) !== rank - 1) throw new Error(`${where}: Softmax over axes ${axis}… of a rank-${rank} tensor (opset ${opset} coercion) is not supported`);
    }
    while (ins.length && ins[ins.length - 1] === '') ins.pop();
    const slope = op === 'PRelu' ? b.constFloats(ins[1]) : null;
    if (slope) {
      // onnxruntime's per-channel PRelu is slow; the same values as Max/Min/Where (./preluRewrite.ts), with
      // PRelu's own backward rule.
      const [x, sl] = ins;
      const rule = RULES.PRelu;
      const [y] = b.composite('PRelu', [x, sl], (g) => rule({ ...g, entry: { ...g.entry, op: 'PRelu', origin: nodeName } }), () => {
        const scaled = b.op('Mul', [x, sl]);
        if (slope.every((v) => v <= 1)) return [b.op('Max', [x, scaled])];
        if (slope.every((v) => v >= 1)) return [b.op('Min', [x, scaled])];
        return [b.op('Where', [b.op('Greater', [x, b.scalar(0)]), x, scaled])];
      });
      names.set(outs[0], y);
      return;
    }
    const res = b.opN(op, ins, outs.length, attrs, { name: `${pre}${nodeName}`, origin: nodeName });
    outs.forEach((o, k) => { if (o) names.set(o, res[k]); });
  });
  const outputs = new Map<string, string>();
  for (const o of g.output ?? []) outputs.set(o.name ?? '', ref(o.name ?? '', `${file}: graph output`));
  return { input, outputs, opset, lifted };
}
