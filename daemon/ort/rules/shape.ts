/**
 * Backward rules of layout ops: each one moves the gradient back the way the forward moved the values
 * (Reshape ↔ Reshape, Transpose ↔ inverse Transpose, Slice ↔ zero Pad, Pad ↔ Slice, Concat ↔ Split,
 * DepthToSpace ↔ SpaceToDepth, Expand ↔ sum over the expanded axes).
 */
import { GradCtx, GradRule, GraphBuilder } from '../graph';
import { invertPerm, unbroadcast } from './util';

const where = (g: GradCtx) => `${g.b.graphName}: node '${g.entry.origin ?? g.entry.name}' (${g.entry.op})`;

/** dy reshaped to `x`'s shape (a constant shape when static, Shape(x) otherwise). */
export function reshapeLike(b: GraphBuilder, dy: string, x: string): string {
  const s = b.shape(x);
  if (s.every((d) => typeof d === 'number')) return b.op('Reshape', [dy, b.ints(s as number[])]);
  return b.op('Reshape', [dy, b.op('Shape', [x])], {}, { outShape: s });
}

const reshape: GradRule = (g) => [reshapeLike(g.b, g.dy[0]!, g.entry.inputs[0]), null];
const squeezeLike: GradRule = (g) => [reshapeLike(g.b, g.dy[0]!, g.entry.inputs[0]), null];

const transpose: GradRule = (g) => {
  const x = g.entry.inputs[0];
  const r = g.b.shape(x).length;
  const perm = (g.entry.attrs.perm as number[] | undefined) ?? Array.from({ length: r }, (_, i) => r - 1 - i);
  return [g.b.op('Transpose', [g.dy[0]!], { perm: invertPerm(perm) })];
};

const slice: GradRule = (g) => {
  const { b } = g;
  const [x, s, , ax, st] = g.entry.inputs;
  const xs = b.shape(x);
  const starts = b.constInts(s)!;
  const axes = (ax ? b.constInts(ax)! : starts.map((_, i) => i)).map((a) => (a < 0 ? a + xs.length : a));
  const steps = st ? b.constInts(st)! : starts.map(() => 1);
  let dy = g.dy[0]!;
  const padB = xs.map(() => 0); const padE = xs.map(() => 0);
  axes.forEach((a, i) => {
    const dim = xs[a];
    if (typeof dim !== 'number') {
      if (starts[i] === 0 && steps[i] === 1) return; // whole symbolic axis
      throw new Error(`${where(g)}: backward of a slice along symbolic axis ${a}`);
    }
    const len = b.shape(dy)[a] as number;
    const step = steps[i];
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    if (step === 1) {
      const s0 = clamp(starts[i] < 0 ? starts[i] + dim : starts[i], 0, dim);
      padB[a] = s0; padE[a] = dim - s0 - len;
    } else if (step === -1) {
      const s0 = clamp(starts[i] < 0 ? starts[i] + dim : starts[i], 0, dim - 1); // first element taken (highest index)
      dy = b.op('Slice', [dy, b.ints([-1]), b.ints([-(2 ** 62)]), b.ints([a]), b.ints([-1])]);
      padB[a] = s0 - len + 1; padE[a] = dim - 1 - s0;
    } else if (step > 1) {
      const s0 = clamp(starts[i] < 0 ? starts[i] + dim : starts[i], 0, dim);
      // Interleave zeros: [.., L, ..] → [.., L, 1, ..] → pad to [.., L, step, ..] → [.., L·step, ..].
      const ds = b.shape(dy);
      const un = b.op('Unsqueeze', [dy, b.ints([a + 1])]);
      const pads = new Array<number>(2 * (ds.length + 1)).fill(0);
      pads[ds.length + 1 + a + 1] = step - 1;
      const pd = b.op('Pad', [un, b.ints(pads)]);
      const flat = ds.slice(); flat[a] = len * step;
      dy = b.op('Reshape', [pd, b.ints(flat.map((d, k) => (typeof d === 'number' ? d : k === a ? -1 : 0)))], {}, { outShape: flat });
      const extra = len * step - (dim - s0);
      if (extra > 0) {
        dy = b.op('Slice', [dy, b.ints([0]), b.ints([dim - s0]), b.ints([a])]);
        padB[a] = s0; padE[a] = 0;
      } else {
        padB[a] = s0; padE[a] = dim - s0 - len * step;
      }
    } else {
      throw new Error(`${where(g)}: backward of a slice with step ${step} is not supported`);
    }
  });
  if (padB.some((p) => p < 0) || padE.some((p) => p < 0)) throw new Error(`${where(g)}: inconsistent slice geometry`);
  if (padB.every((p) => p === 0) && padE.every((p) => p === 0)) return [dy];
  return [b.op('Pad', [dy, b.ints([...padB, ...padE])])];
};

const pad: GradRule = (g) => {
  const { b } = g;
  const [x, p] = g.entry.inputs;
  const mode = g.entry.attrs.mode ?? 'constant';
  if (mode !== 'constant') throw new Error(`${where(g)}: backward of Pad mode '${String(mode)}' is not supported (constant only)`);
  const pads = b.constInts(p)!;
  const xs = b.shape(x);
  const r = xs.length;
  if (pads.some((v) => v < 0)) throw new Error(`${where(g)}: backward of a Pad with negative pads is not supported`);
  const axes: number[] = []; const st: number[] = []; const en: number[] = [];
  for (let a = 0; a < r; a++) {
    if (pads[a] === 0 && pads[r + a] === 0) continue;
    axes.push(a); st.push(pads[a]);
    const d = xs[a];
    if (typeof d !== 'number') throw new Error(`${where(g)}: backward of padding a symbolic axis`);
    en.push(pads[a] + d);
  }
  if (!axes.length) return [g.dy[0]!, null, null];
  return [b.op('Slice', [g.dy[0]!, b.ints(st), b.ints(en), b.ints(axes)]), null, null];
};

const concat: GradRule = (g) => {
  const { b } = g;
  const ins = g.entry.inputs;
  const rank = b.shape(ins[0]).length;
  const a0 = g.entry.attrs.axis as number;
  const axis = a0 < 0 ? a0 + rank : a0;
  const sizes = ins.map((x) => b.shape(x)[axis]);
  if (sizes.some((d) => typeof d !== 'number')) throw new Error(`${where(g)}: backward of a concat along a symbolic axis`);
  const parts = b.opN('Split', [g.dy[0]!, b.ints(sizes as number[])], ins.length, { axis });
  return parts.map((p, i) => (g.needs[i] ? p : null));
};

const split: GradRule = (g) => {
  const { b } = g;
  const x = g.entry.inputs[0];
  const rank = b.shape(x).length;
  const a0 = (g.entry.attrs.axis as number | undefined) ?? 0;
  const axis = a0 < 0 ? a0 + rank : a0;
  const parts = g.entry.outputs.map((o, i) => g.dy[i] ?? b.op('Mul', [o, b.scalar(0)]));
  return [b.op('Concat', parts, { axis }), null];
};

const depthToSpace: GradRule = (g) => {
  const { b } = g;
  const bs = g.entry.attrs.blocksize as number;
  const mode = (g.entry.attrs.mode as string | undefined) ?? 'DCR';
  const dy = g.dy[0]!;
  if (mode === 'DCR') return [b.op('SpaceToDepth', [dy], { blocksize: bs })];
  // CRD: y = reshape(transpose(reshape(x, [N, C', bs, bs, H, W]), [0,1,4,2,5,3])) → invert step by step.
  const xs = b.shape(g.entry.inputs[0]);
  const [n, c, h, w] = xs;
  const cc = (c as number) / (bs * bs);
  const r1 = b.op('Reshape', [dy, b.ints([typeof n === 'number' ? n : 0, cc, h as number, bs, w as number, bs])], {}, { outShape: [n, cc, h, bs, w, bs] });
  const t = b.op('Transpose', [r1], { perm: [0, 1, 3, 5, 2, 4] });
  return [b.op('Reshape', [t, b.ints([typeof n === 'number' ? n : 0, c as number, h as number, w as number])], {}, { outShape: xs })];
};

const spaceToDepth: GradRule = (g) => [g.b.op('DepthToSpace', [g.dy[0]!], { blocksize: g.entry.attrs.blocksize as number, mode: 'DCR' })];

const expand: GradRule = (g) => [unbroadcast(g.b, g.dy[0]!, g.b.shape(g.entry.inputs[0])), null];

const cast: GradRule = (g) => {
  const x = g.entry.inputs[0];
  return [g.b.dtype(x) === 'float32' && g.b.dtype(g.entry.outputs[0]) === 'float32' ? g.dy[0]! : null];
};

export const SHAPE_RULES: Record<string, GradRule> = {
  Reshape: reshape, Flatten: squeezeLike, Squeeze: squeezeLike, Unsqueeze: squeezeLike, Transpose: transpose,
  Slice: slice, Pad: pad, Concat: concat, Split: split, DepthToSpace: depthToSpace, SpaceToDepth: spaceToDepth,
  Expand: expand, Cast: cast,
};

