/**
 * Backward rules of Conv, ConvTranspose, pooling and inference-mode BatchNormalization (NCHW, ONNX semantics).
 *
 * Conv y = x ⋆ W (W [M, C/g, kh, kw], pads p, strides s, dilations d, groups g):
 *   (dW of stride-1 convolutions by shifted flat views, ../weightGrad.ts, unless the builder asks for im2col)
 *   dx, stride 1: a forward Conv of dy with the flipped, group-transposed kernel W' [C, M/g, kh, kw] and pads
 *       d·(k−1) − p — MLAS's fast direct convolution instead of ConvTranspose's per-image col2im loop;
 *   dx, stride > 1: ConvTranspose(dy, W) with the output_padding that restores x's size;
 *   dW (groups 1): im2col GEMM — the k² strided windows of the padded input, taken from x transposed once to
 *       [C, N, H, W], stacked to [k²·C, N·H'·W'] and multiplied with dy as [M, N·H'·W'] in one Gemm;
 *   dB = Σ dy over N, H, W.
 * ConvTranspose: dx = Conv(dy, W) with the same attributes; dW by the same im2col GEMM with the roles of x
 * and (padded) dy swapped.
 */
import { GradCtx, GradRule, GraphBuilder, isFloatAttr } from '../graph';
import { convWeightGradShift } from '../weightGrad';

const where = (g: GradCtx) => `${g.b.graphName}: node '${g.entry.origin ?? g.entry.name}' (${g.entry.op})`;

interface Geometry { k: number[]; s: number[]; d: number[]; p: number[]; group: number }

function geometry(g: GradCtx, w: string): Geometry {
  const a = g.entry.attrs;
  const ws = g.b.shape(w);
  const k = (a.kernel_shape as number[] | undefined) ?? (ws.slice(2) as number[]);
  const sp = k.length;
  if (sp !== 2) throw new Error(`${where(g)}: backward supports 2-D convolutions only (kernel ${JSON.stringify(k)})`);
  if (a.auto_pad !== undefined && a.auto_pad !== 'NOTSET') throw new Error(`${where(g)}: auto_pad is not supported`);
  return {
    k,
    s: (a.strides as number[] | undefined) ?? [1, 1],
    d: (a.dilations as number[] | undefined) ?? [1, 1],
    p: (a.pads as number[] | undefined) ?? [0, 0, 0, 0],
    group: (a.group as number | undefined) ?? 1,
  };
}

/** W [M, C/g, kh, kw] → W' [C, M/g, kh, kw], spatially flipped: the kernel of the input-gradient convolution. */
export function flipTransposeKernel(b: GraphBuilder, w: string, group: number): string {
  const [m, cg, kh, kw] = b.shape(w) as number[];
  let t = w;
  if (!(cg === 1 && m === group)) {
    const r = b.op('Reshape', [w, b.ints([group, m / group, cg, kh, kw])]);
    t = b.op('Reshape', [b.op('Transpose', [r], { perm: [0, 2, 1, 3, 4] }), b.ints([group * cg, m / group, kh, kw])]);
  }
  return b.op('Slice', [t, b.ints([-1, -1]), b.ints([-(2 ** 62), -(2 ** 62)]), b.ints([2, 3]), b.ints([-1, -1])]);
}

/**
 * Σ over n, i, j of a[n, m, i, j] · win_ab(src)[n, c, i, j] for every tap (a, b): [M, C, kh, kw]. `src` is padded
 * by `pad` (begin/end per spatial axis) and sampled at i·s + a·d.
 */
export function tapGemm(b: GraphBuilder, a: string, src: string, pad: number[], geo: { k: number[]; s: number[]; d: number[] }, where: string): string {
  const as = b.shape(a); const ss = b.shape(src);
  const [m, ho, wo] = [as[1], as[2], as[3]] as number[];
  const c = ss[1] as number;
  if ([m, ho, wo, c].some((x) => typeof x !== 'number')) throw new Error(`${where}: weight gradient needs static channel and spatial sizes`);
  // src → [C, N, Hp, Wp] once; windows are strided slices of it.
  let t = b.op('Transpose', [src], { perm: [1, 0, 2, 3] });
  if (pad.some((v) => v !== 0)) {
    if (pad.some((v) => v < 0)) throw new Error(`${where}: negative padding in the weight gradient`);
    t = b.op('Pad', [t, b.ints([0, 0, pad[0], pad[1], 0, 0, pad[2], pad[3]])]);
  }
  const cols: string[] = [];
  const [kh, kw] = geo.k;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const y0 = i * geo.d[0]; const x0 = j * geo.d[1];
      const win = b.op('Slice', [t, b.ints([y0, x0]), b.ints([y0 + (ho - 1) * geo.s[0] + 1, x0 + (wo - 1) * geo.s[1] + 1]), b.ints([2, 3]), b.ints(geo.s)]);
      cols.push(b.op('Reshape', [win, b.ints([c, -1])]));
    }
  }
  const stacked = cols.length === 1 ? cols[0] : b.op('Concat', cols, { axis: 0 }); // [k²·C, N·Ho·Wo]
  const a2 = b.op('Reshape', [b.op('Transpose', [a], { perm: [1, 0, 2, 3] }), b.ints([m, -1])]); // [M, N·Ho·Wo]
  const g2 = b.op('Gemm', [a2, stacked], { transB: 1 }); // [M, k²·C]
  const g3 = b.op('Transpose', [b.op('Reshape', [g2, b.ints([m, kh * kw, c])])], { perm: [0, 2, 1] });
  return b.op('Reshape', [g3, b.ints([m, c, kh, kw])]);
}

const conv: GradRule = (g) => {
  const { b } = g;
  const [x, w, bias] = g.entry.inputs;
  const dy = g.dy[0]!;
  const geo = geometry(g, w);
  const xs = b.shape(x);
  const ys = b.shape(g.entry.outputs[0]);
  let dx: string | null = null;
  if (g.needs[0]) {
    const unit = geo.s.every((v) => v === 1);
    const q = [0, 1].flatMap((i) => [geo.d[i] * (geo.k[i] - 1) - geo.p[i], geo.d[i] * (geo.k[i] - 1) - geo.p[2 + i]]);
    if (unit && q.every((v) => v >= 0)) {
      dx = b.op('Conv', [dy, flipTransposeKernel(b, w, geo.group)], {
        pads: [q[0], q[2], q[1], q[3]], dilations: geo.d, group: geo.group, kernel_shape: geo.k,
      });
    } else {
      const op = [0, 1].map((i) => {
        const h = xs[2 + i]; const ho = ys[2 + i];
        if (typeof h !== 'number' || typeof ho !== 'number') throw new Error(`${where(g)}: strided backward needs static spatial sizes`);
        return h - (geo.s[i] * (ho - 1) + geo.d[i] * (geo.k[i] - 1) + 1 - geo.p[i] - geo.p[2 + i]);
      });
      if (op.some((v, i) => v < 0 || v >= Math.max(geo.s[i], geo.d[i]))) throw new Error(`${where(g)}: cannot invert the convolution geometry`);
      dx = b.op('ConvTranspose', [dy, w], {
        strides: geo.s, pads: geo.p, dilations: geo.d, group: geo.group, kernel_shape: geo.k,
        ...(op.some((v) => v) ? { output_padding: op } : {}),
      });
    }
  }
  let dw: string | null = null;
  if (g.needs[1]) {
    if (geo.group !== 1) throw new Error(`${where(g)}: weight gradient of a grouped convolution (group ${geo.group}) is not supported`);
    const plain = geo.s.every((v) => v === 1) && geo.d.every((v) => v === 1);
    if (plain && b.flags.weightGrad === 'shift') return [dx, convWeightGradShift(b, x, dy, geo.k as [number, number], geo.p, where(g)), bias && g.needs[2] ? b.op('ReduceSum', [dy, b.ints([0, 2, 3])], { keepdims: 0 }) : null];
    dw = tapGemm(b, dy, x, [geo.p[0], geo.p[1], geo.p[2], geo.p[3]].map((v, i) => v + (i === 2 || i === 3 ? extraEnd(xs, ys, geo, i - 2) : 0)), geo, where(g));
  }
  const db = bias && g.needs[2] ? b.op('ReduceSum', [dy, b.ints([0, 2, 3])], { keepdims: 0 }) : null;
  return [dx, dw, db];
};

/** End padding the window extraction needs beyond the conv's own pads (never negative here). */
function extraEnd(xs: (number | string)[], ys: (number | string)[], geo: Geometry, i: number): number {
  const h = xs[2 + i] as number; const ho = ys[2 + i] as number;
  const need = (ho - 1) * geo.s[i] + geo.d[i] * (geo.k[i] - 1) + 1; // padded length touched
  const have = h + geo.p[i] + geo.p[2 + i];
  return Math.max(0, need - have);
}

const convTranspose: GradRule = (g) => {
  const { b } = g;
  const [x, w, bias] = g.entry.inputs;
  const dy = g.dy[0]!;
  const geo = geometry(g, w);
  if (g.entry.attrs.output_shape) throw new Error(`${where(g)}: backward of ConvTranspose with output_shape is not supported (use pads)`);
  const xs = b.shape(x); const ys = b.shape(g.entry.outputs[0]);
  const dx = g.needs[0] ? b.op('Conv', [dy, w], { strides: geo.s, pads: geo.p, dilations: geo.d, group: geo.group, kernel_shape: geo.k }) : null;
  let dw: string | null = null;
  if (g.needs[1]) {
    if (geo.group !== 1) throw new Error(`${where(g)}: weight gradient of a grouped ConvTranspose is not supported`);
    const pads = [0, 1].map((i) => {
      const need = ((xs[2 + i] as number) - 1) * geo.s[i] + geo.d[i] * (geo.k[i] - 1) + 1;
      return need - (ys[2 + i] as number) - geo.p[i];
    });
    let src = dy;
    if (pads.some((v) => v < 0)) {
      src = b.op('Slice', [dy, b.ints([0, 0]), b.ints([(ys[2] as number) + Math.min(0, pads[0]), (ys[3] as number) + Math.min(0, pads[1])]), b.ints([2, 3])]);
    }
    // dW[c, m, a, b] = Σ x[n, c, i, j] · pad(dy)[n, m, i·s + a·d, j·s + b·d]
    dw = tapGemm(b, x, src, [geo.p[0], geo.p[1], Math.max(0, pads[0]), Math.max(0, pads[1])], geo, where(g));
  }
  const db = bias && g.needs[2] ? b.op('ReduceSum', [dy, b.ints([0, 2, 3])], { keepdims: 0 }) : null;
  return [dx, dw, db];
};

const globalAveragePool: GradRule = (g) => {
  const { b } = g;
  const x = g.entry.inputs[0];
  const xs = b.shape(x);
  const hw = (xs.slice(2) as number[]).reduce((p, q) => p * q, 1);
  if (!Number.isFinite(hw)) throw new Error(`${where(g)}: backward needs static spatial sizes`);
  const scaled = b.op('Mul', [g.dy[0]!, b.scalar(1 / hw)]);
  return [b.op('Expand', [scaled, b.op('Shape', [x])], {}, { outShape: xs })];
};

/** AveragePool without padding (or count_include_pad = 1): a depthwise ConvTranspose with 1/k² weights. */
const averagePool: GradRule = (g) => {
  const { b } = g;
  const x = g.entry.inputs[0];
  const a = g.entry.attrs;
  const k = a.kernel_shape as number[];
  const p = (a.pads as number[] | undefined) ?? [0, 0, 0, 0];
  if (p.some((v) => v) && a.count_include_pad !== 1) throw new Error(`${where(g)}: backward of a padded AveragePool without count_include_pad is not supported`);
  if (a.ceil_mode === 1) throw new Error(`${where(g)}: backward of AveragePool with ceil_mode is not supported`);
  const c = b.shape(x)[1] as number;
  const wv = new Float32Array(c * k[0] * k[1]).fill(1 / (k[0] * k[1]));
  const w = b.constant(wv, [c, 1, k[0], k[1]], 'float32', 'avgpool_w');
  const fake: GradCtx = { ...g, entry: { ...g.entry, op: 'Conv', inputs: [x, w], attrs: { kernel_shape: k, strides: (a.strides as number[]) ?? k.map(() => 1), pads: p, group: c } }, needs: [true, false] };
  return [conv(fake)[0]];
};

/** MaxPool: the gradient goes to each window's maximum (ties: the first), via indices and a scatter-add. */
const maxPool: GradRule = (g) => {
  const { b } = g;
  const x = g.entry.inputs[0];
  const a = g.entry.attrs;
  const xs = b.shape(x);
  if (xs.slice(1).some((d) => typeof d !== 'number')) throw new Error(`${where(g)}: backward needs static C, H, W`);
  const [, idx] = b.opN('MaxPool', [x], 2, { ...a, storage_order: 0 });
  const per = (xs.slice(1) as number[]).reduce((p, q) => p * q, 1);
  const n = xs[0];
  const ys = b.shape(g.entry.outputs[0]);
  const flatDy = b.op('Reshape', [g.dy[0]!, b.ints([typeof n === 'number' ? n : -1, (ys.slice(1) as number[]).reduce((p, q) => p * q, 1)])]);
  const flatIdx = b.op('Reshape', [idx, b.ints([typeof n === 'number' ? n : -1, (ys.slice(1) as number[]).reduce((p, q) => p * q, 1)])]);
  // Indices are flat over [N, C, H, W]; each image's lie in [n·per, (n+1)·per), so mod per makes them local.
  const local = b.op('Mod', [flatIdx, b.constant([per], [], 'int64', 'per')]);
  const zeros = b.op('Mul', [b.op('Reshape', [x, b.ints([typeof n === 'number' ? n : -1, per])]), b.scalar(0)]);
  const scat = b.op('ScatterElements', [zeros, local, flatDy], { axis: 1, reduction: 'add' });
  return [b.op('Reshape', [scat, b.op('Shape', [x])], {}, { outShape: xs })];
};

/** Inference-mode BatchNormalization (the imported encoders' unfused BN): a per-channel affine map. */
const batchNormalization: GradRule = (g) => {
  const { b } = g;
  const [x, scale, , mean, variance] = g.entry.inputs;
  const eA = g.entry.attrs.epsilon;
  const eps = eA !== undefined && isFloatAttr(eA) ? eA.f : 1e-5;
  if (g.entry.attrs.training_mode === 1) throw new Error(`${where(g)}: training-mode BatchNormalization is not supported`);
  const rank = b.shape(x).length;
  const bshape = [-1, ...new Array(rank - 2).fill(1)];
  const inv = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [variance, b.scalar(eps)])])]);
  const a = b.op('Reshape', [b.op('Mul', [scale, inv]), b.ints(bshape)]);
  const dy = g.dy[0]!;
  const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
  const dx = g.needs[0] ? b.op('Mul', [dy, a]) : null;
  let dscale: string | null = null;
  if (g.needs[1]) {
    const xhat = b.op('Mul', [b.op('Sub', [x, b.op('Reshape', [mean, b.ints(bshape)])]), b.op('Reshape', [inv, b.ints(bshape)])]);
    dscale = b.op('ReduceSum', [b.op('Mul', [dy, xhat]), b.ints(axes)], { keepdims: 0 });
  }
  const dbias = g.needs[2] ? b.op('ReduceSum', [dy, b.ints(axes)], { keepdims: 0 }) : null;
  return [dx, dscale, dbias, null, null];
};

export const CONV_RULES: Record<string, GradRule> = {
  Conv: conv, ConvTranspose: convTranspose, GlobalAveragePool: globalAveragePool, AveragePool: averagePool,
  MaxPool: maxPool, BatchNormalization: batchNormalization,
};
