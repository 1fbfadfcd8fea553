/**
 * Static shape inference for the ops the graph builder emits (ONNX operator semantics, opset 17). Dims are
 * numbers or symbol strings ('N', or expressions such as 'N*2' from a reshape); a symbol broadcasts against
 * itself and against 1. An op without a rule here cannot be added without explicit output shapes.
 */
import type { DType, GraphBuilder, Shape, Dim, Attrs, AttrValue } from './graph';

export interface Inferred { shapes: Shape[]; dtypes: DType[] }

const UNARY = new Set(['Relu', 'Sigmoid', 'Tanh', 'Abs', 'Neg', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Sign', 'Identity',
  'Erf', 'Softplus', 'LeakyRelu', 'Elu', 'HardSigmoid', 'Softmax', 'LogSoftmax', 'Clip', 'Floor', 'Ceil', 'Round',
  'Selu', 'Sin', 'Cos', 'HardSwish', 'BatchNormalization', 'ScatterElements', 'ScatterND', 'LpNormalization']);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'PRelu', 'Mod']);
const COMPARE = new Set(['Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'And', 'Or', 'Xor']);
const BOOL_UNARY = new Set(['Not', 'IsNaN', 'IsInf']);
const REDUCE = new Set(['ReduceSum', 'ReduceMean', 'ReduceSumSquare', 'ReduceMax', 'ReduceMin', 'ReduceL2', 'ReduceL1', 'ReduceProd', 'ReduceLogSumExp']);

function intAttr(a: Attrs, k: string, d: number): number {
  const v = a[k];
  return typeof v === 'number' ? v : d;
}
function intsAttr(a: Attrs, k: string): number[] | null {
  const v = a[k] as AttrValue | undefined;
  return Array.isArray(v) ? v : null;
}

export function broadcastDim(a: Dim, b: Dim, where: string): Dim {
  if (a === b) return a;
  if (a === 1) return b;
  if (b === 1) return a;
  if (typeof a === 'number' && typeof b === 'number') throw new Error(`${where}: dims ${a} and ${b} do not broadcast`);
  return typeof a === 'number' ? a : typeof b === 'number' ? b : a;
}

export function broadcastShapes(shapes: Shape[], where: string): Shape {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Shape = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const k = i - (rank - s.length);
      if (k >= 0) d = broadcastDim(d, s[k], where);
    }
    out.push(d);
  }
  return out;
}

/** A symbolic dim as base + integer offset ('N*1156-70' → base 'N*1156', offset −70). */
function symParts(d: string): { base: string; off: number } {
  const m = /^(.*?)([+-]\d+)$/.exec(d);
  return m && m[1] ? { base: m[1], off: Number(m[2]) } : { base: d, off: 0 };
}

/** d + k for a dim (symbolic dims keep a normalised offset). */
export function addDim(d: Dim, k: number): Dim {
  if (typeof d === 'number') return d + k;
  const { base, off } = symParts(d);
  const o = off + k;
  return o === 0 ? base : `${base}${o > 0 ? '+' : ''}${o}`;
}

/** a·k for a dim. */
function mulDim(a: Dim, k: number): Dim {
  if (typeof a === 'number') return a * k;
  return k === 1 ? a : `${a}*${k}`;
}

function convOut(inp: Dim, k: number, s: number, d: number, p0: number, p1: number): Dim {
  if (typeof inp !== 'number') return `${inp}'`;
  return Math.floor((inp + p0 + p1 - ((k - 1) * d + 1)) / s) + 1;
}

function norm(axis: number, rank: number, where: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`${where}: axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** Product of dims as a number and the symbols left over. */
function factor(dims: Shape): { num: number; syms: string[] } {
  let num = 1;
  const syms: string[] = [];
  for (const d of dims) {
    if (typeof d === 'number') num *= d;
    else {
      const m = /^(.*)\*(\d+)$/.exec(d);
      if (m) { syms.push(m[1]); num *= Number(m[2]); } else syms.push(d);
    }
  }
  return { num, syms };
}

export function inferShapes(b: GraphBuilder, op: string, inputs: string[], attrs: Attrs, nOut: number, where: string): Inferred {
  const sh = (i: number): Shape => {
    if (!inputs[i]) throw new Error(`${where}: input ${i} is missing`);
    return b.shape(inputs[i]);
  };
  const constInts = (i: number, what: string): number[] => {
    const v = inputs[i] ? b.constInts(inputs[i]) : null;
    if (!v) throw new Error(`${where}: ${what} (input ${i}) must be a constant int64 tensor`);
    return v;
  };
  const dt0 = inputs[0] ? b.dtype(inputs[0]) : 'float32';
  const one = (s: Shape, d: DType = dt0): Inferred => ({ shapes: [s], dtypes: [d] });

  if (UNARY.has(op)) return one(sh(0));
  if (BINARY.has(op)) return one(broadcastShapes(inputs.filter((x) => x).map((x) => b.shape(x)), where));
  if (COMPARE.has(op)) return one(broadcastShapes([sh(0), sh(1)], where), 'bool');
  if (BOOL_UNARY.has(op)) return one(sh(0), 'bool');
  if (op === 'Where') return one(broadcastShapes([sh(0), sh(1), sh(2)], where), b.dtype(inputs[1]));
  if (op === 'Cast') {
    const to = intAttr(attrs, 'to', 1);
    return one(sh(0), to === 7 ? 'int64' : to === 9 ? 'bool' : 'float32');
  }
  if (op === 'Dropout') return { shapes: Array.from({ length: nOut }, () => sh(0)), dtypes: ['float32', 'bool'].slice(0, nOut) as DType[] };
  if (REDUCE.has(op)) {
    const x = sh(0);
    const axesIn = op === 'ReduceSum' ? (inputs[1] ? constInts(1, 'axes') : null) : intsAttr(attrs, 'axes');
    const keep = intAttr(attrs, 'keepdims', 1) === 1;
    const axes = (axesIn && axesIn.length ? axesIn : x.map((_, i) => i)).map((a) => norm(a, x.length, where));
    const out: Shape = [];
    x.forEach((d, i) => { if (!axes.includes(i)) out.push(d); else if (keep) out.push(1); });
    return one(out);
  }
  switch (op) {
    case 'MatMul': {
      const a = sh(0); const c = sh(1);
      if (a.length < 1 || c.length < 1) throw new Error(`${where}: MatMul of scalars`);
      const a2 = a.length === 1 ? [1, a[0]] : a;
      const c2 = c.length === 1 ? [c[0], 1] : c;
      const ka = a2[a2.length - 1]; const kc = c2[c2.length - 2];
      if (typeof ka === 'number' && typeof kc === 'number' && ka !== kc) throw new Error(`${where}: MatMul inner dims ${ka} and ${kc} differ (${JSON.stringify(a)} × ${JSON.stringify(c)})`);
      const batch = broadcastShapes([a2.slice(0, -2), c2.slice(0, -2)], where);
      const out = [...batch, a2[a2.length - 2], c2[c2.length - 1]];
      if (a.length === 1) out.splice(out.length - 2, 1);
      if (c.length === 1) out.splice(out.length - 1, 1);
      return one(out);
    }
    case 'Gemm': {
      const a = sh(0); const c = sh(1);
      if (a.length !== 2 || c.length !== 2) throw new Error(`${where}: Gemm needs rank-2 inputs, got ${JSON.stringify(a)}, ${JSON.stringify(c)}`);
      const m = intAttr(attrs, 'transA', 0) ? a[1] : a[0];
      const n = intAttr(attrs, 'transB', 0) ? c[0] : c[1];
      return one([m, n]);
    }
    case 'Conv': case 'ConvTranspose': case 'MaxPool': case 'AveragePool': {
      const x = sh(0);
      const sp = x.length - 2;
      if (sp < 1) throw new Error(`${where}: input must be [N, C, spatial…], got ${JSON.stringify(x)}`);
      const autoPad = attrs.auto_pad;
      if (autoPad !== undefined && autoPad !== 'NOTSET') throw new Error(`${where}: auto_pad '${String(autoPad)}' is not supported (use explicit pads)`);
      const w = op === 'Conv' || op === 'ConvTranspose' ? sh(1) : null;
      const k = intsAttr(attrs, 'kernel_shape') ?? (w ? w.slice(2).map(Number) : null);
      if (!k) throw new Error(`${where}: kernel_shape missing`);
      const s = intsAttr(attrs, 'strides') ?? k.map(() => 1);
      const d = intsAttr(attrs, 'dilations') ?? k.map(() => 1);
      const p = intsAttr(attrs, 'pads') ?? k.map(() => 0).concat(k.map(() => 0));
      const out: Shape = [x[0]];
      if (op === 'Conv') out.push(w![0]);
      else if (op === 'ConvTranspose') out.push(mulDim(w![1], intAttr(attrs, 'group', 1)));
      else out.push(x[1]);
      const ceil = intAttr(attrs, 'ceil_mode', 0) === 1;
      for (let i = 0; i < sp; i++) {
        const inp = x[2 + i];
        if (op === 'ConvTranspose') {
          const os = intsAttr(attrs, 'output_shape');
          const op_ = intsAttr(attrs, 'output_padding')?.[i] ?? 0;
          out.push(os ? os[i] : typeof inp === 'number' ? s[i] * (inp - 1) + op_ + ((k[i] - 1) * d[i] + 1) - p[i] - p[sp + i] : `${inp}'`);
        } else if (ceil && typeof inp === 'number') {
          out.push(Math.ceil((inp + p[i] + p[sp + i] - ((k[i] - 1) * d[i] + 1)) / s[i]) + 1);
        } else {
          out.push(convOut(inp, k[i], s[i], d[i], p[i], p[sp + i]));
        }
      }
      if (op === 'MaxPool' && nOut === 2) return { shapes: [out, out], dtypes: ['float32', 'int64'] };
      return one(out);
    }
    case 'GlobalAveragePool': case 'GlobalMaxPool': {
      const x = sh(0);
      return one([x[0], x[1], ...x.slice(2).map(() => 1)]);
    }
    case 'Reshape': {
      const x = sh(0);
      const target = constInts(1, 'shape');
      const out: Shape = target.map((t, i) => (t === 0 ? x[i] : t));
      const m = out.indexOf(-1);
      if (m >= 0) {
        const fin = factor(x);
        const fout = factor(out.filter((_, i) => i !== m));
        const syms = fin.syms.slice();
        for (const s of fout.syms) {
          const j = syms.indexOf(s);
          if (j < 0) throw new Error(`${where}: cannot infer -1 of ${JSON.stringify(target)} from ${JSON.stringify(x)}`);
          syms.splice(j, 1);
        }
        if (fin.num % fout.num !== 0) throw new Error(`${where}: cannot reshape ${JSON.stringify(x)} to ${JSON.stringify(target)}`);
        const ratio = fin.num / fout.num;
        out[m] = syms.length === 0 ? ratio : syms.length === 1 ? mulDim(syms[0], ratio) : `${syms.join('*')}*${ratio}`;
      } else {
        const fin = factor(x); const fo = factor(out);
        if (fin.syms.length === 0 && fo.syms.length === 0 && fin.num !== fo.num) {
          throw new Error(`${where}: cannot reshape ${JSON.stringify(x)} (${fin.num} values) to ${JSON.stringify(target)}`);
        }
      }
      return one(out);
    }
    case 'Flatten': {
      const x = sh(0);
      const axis = norm(intAttr(attrs, 'axis', 1), x.length + 1, where);
      const prod = (ds: Shape): Dim => {
        const fct = factor(ds);
        return fct.syms.length === 0 ? fct.num : fct.syms.length === 1 ? mulDim(fct.syms[0], fct.num) : `${fct.syms.join('*')}*${fct.num}`;
      };
      return one([prod(x.slice(0, axis)), prod(x.slice(axis))]);
    }
    case 'Transpose': {
      const x = sh(0);
      const perm = intsAttr(attrs, 'perm') ?? x.map((_, i) => x.length - 1 - i);
      if (perm.length !== x.length) throw new Error(`${where}: perm ${JSON.stringify(perm)} for rank ${x.length}`);
      return one(perm.map((p) => x[p]));
    }
    case 'Slice': {
      const x = sh(0).slice();
      const starts = constInts(1, 'starts'); const ends = constInts(2, 'ends');
      const axes = inputs[3] ? constInts(3, 'axes') : starts.map((_, i) => i);
      const steps = inputs[4] ? constInts(4, 'steps') : starts.map(() => 1);
      axes.forEach((a0, i) => {
        const a = norm(a0, x.length, where);
        const dim = x[a];
        if (typeof dim !== 'number') {
          // Symbolic axis: step 1, offsets relative to the start (≥ 0) and to the end (< 0 or 'to the end').
          if (steps[i] !== 1 || starts[i] < 0) throw new Error(`${where}: slicing symbolic dim ${dim} needs step 1 and a start ≥ 0`);
          const endOff = ends[i] >= 2 ** 31 ? 0 : ends[i] < 0 ? ends[i] : null;
          if (endOff === null) {
            x[a] = ends[i] - starts[i];
          } else {
            x[a] = addDim(dim, endOff - starts[i]);
          }
          return;
        }
        const st = steps[i];
        const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
        let s0 = starts[i] < 0 ? starts[i] + dim : starts[i];
        let e0 = ends[i] < 0 ? ends[i] + dim : ends[i];
        if (st > 0) { s0 = clamp(s0, 0, dim); e0 = clamp(e0, 0, dim); x[a] = Math.max(0, Math.ceil((e0 - s0) / st)); } else {
          s0 = clamp(s0, 0, dim - 1); e0 = clamp(e0, -1, dim - 1); x[a] = Math.max(0, Math.ceil((e0 - s0) / st));
        }
      });
      return one(x);
    }
    case 'Pad': {
      const x = sh(0);
      const pads = constInts(1, 'pads');
      if (pads.length !== 2 * x.length) throw new Error(`${where}: ${pads.length} pads for rank ${x.length}`);
      return one(x.map((d, i) => addDim(d, pads[i] + pads[x.length + i])));
    }
    case 'Concat': {
      const ss = inputs.map((_, i) => sh(i));
      const axis = norm(intAttr(attrs, 'axis', 0), ss[0].length, where);
      const out = ss[0].slice();
      let tot: Dim = 0;
      for (const s of ss) {
        const d = s[axis];
        tot = typeof tot === 'number' && typeof d === 'number' ? tot + d : `${tot}+${d}`;
      }
      out[axis] = tot;
      return one(out);
    }
    case 'Split': {
      const x = sh(0);
      const axis = norm(intAttr(attrs, 'axis', 0), x.length, where);
      const dim = x[axis];
      const parts = inputs[1] ? constInts(1, 'split') : typeof dim === 'number' ? Array.from({ length: nOut }, () => dim / nOut) : null;
      if (!parts) throw new Error(`${where}: splitting symbolic dim ${dim} needs explicit sizes`);
      return { shapes: parts.map((p) => { const o = x.slice(); o[axis] = p; return o; }), dtypes: parts.map(() => dt0) };
    }
    case 'Unsqueeze': {
      const x = sh(0);
      const axes = constInts(1, 'axes');
      const rank = x.length + axes.length;
      const ax = axes.map((a) => norm(a, rank, where));
      const out: Shape = [];
      let k = 0;
      for (let i = 0; i < rank; i++) out.push(ax.includes(i) ? 1 : x[k++]);
      return one(out);
    }
    case 'Squeeze': {
      const x = sh(0);
      const axes = inputs[1] ? constInts(1, 'axes').map((a) => norm(a, x.length, where)) : x.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
      return one(x.filter((_, i) => !axes.includes(i)));
    }
    case 'Expand': {
      const target = constInts(1, 'shape');
      return one(broadcastShapes([sh(0), target], where));
    }
    case 'Tile': {
      const x = sh(0);
      const r = constInts(1, 'repeats');
      return one(x.map((d, i) => (typeof d === 'number' ? d * r[i] : r[i] === 1 ? d : `${d}*${r[i]}`)));
    }
    case 'Shape': return one([sh(0).length], 'int64');
    case 'Size': return one([], 'int64');
    case 'DepthToSpace': case 'SpaceToDepth': {
      const x = sh(0);
      const bs = intAttr(attrs, 'blocksize', 0);
      const up = op === 'DepthToSpace';
      const c = x[1];
      if (typeof c !== 'number') throw new Error(`${where}: channels must be known`);
      const sp = (d: Dim): Dim => (typeof d === 'number' ? (up ? d * bs : d / bs) : `${d}'`);
      return one([x[0], up ? c / (bs * bs) : c * bs * bs, sp(x[2]), sp(x[3])]);
    }
    case 'Gather': {
      const x = sh(0); const idx = sh(1);
      const axis = norm(intAttr(attrs, 'axis', 0), x.length, where);
      return one([...x.slice(0, axis), ...idx, ...x.slice(axis + 1)]);
    }
    case 'ConstantOfShape': return one(constInts(0, 'shape'), 'float32');
    default:
      throw new Error(`${where}: no shape rule for op '${op}'`);
  }
}
