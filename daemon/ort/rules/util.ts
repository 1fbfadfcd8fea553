/** Helpers shared by the backward rules: reducing a broadcast gradient back to an operand's shape. */
import type { GraphBuilder, Shape } from '../graph';

/**
 * The gradient `g` of a broadcast result, summed over the axes along which `target` was broadcast and
 * reshaped to `target` (numpy broadcasting, right-aligned).
 */
export function unbroadcast(b: GraphBuilder, g: string, target: Shape): string {
  const gs = b.shape(g);
  if (gs.length === target.length && gs.every((d, i) => d === target[i])) return g;
  const lead = gs.length - target.length;
  const axes: number[] = [];
  gs.forEach((d, i) => {
    const t = i - lead;
    if (t < 0 || (target[t] === 1 && d !== 1)) axes.push(i);
  });
  let r = g;
  if (axes.length) r = b.op('ReduceSum', [g, b.ints(axes)], { keepdims: 1 });
  const rs = b.shape(r);
  if (rs.length === target.length && rs.every((d, i) => d === target[i])) return r;
  if (target.every((d) => typeof d === 'number')) return b.op('Reshape', [r, b.ints(target as number[])]);
  // A symbolic target dim is never a broadcast axis: keep it with 0 (copy) in the reshape.
  const tail = rs.slice(lead);
  return b.op('Reshape', [r, b.ints(target.map((d, i) => (typeof d === 'number' ? d : (tail[i] === d ? 0 : -1))))]);
}

/** Swaps the last two axes. */
export function transposeLast2(b: GraphBuilder, x: string): string {
  const r = b.shape(x).length;
  const perm = Array.from({ length: r }, (_, i) => i);
  perm[r - 1] = r - 2; perm[r - 2] = r - 1;
  return b.op('Transpose', [x], { perm });
}

/** Inverse of a permutation. */
export function invertPerm(p: number[]): number[] {
  const inv = new Array<number>(p.length);
  p.forEach((v, i) => { inv[v] = i; });
  return inv;
}

/** `x > 0` as bool. */
export function positive(b: GraphBuilder, x: string): string {
  return b.op('Greater', [x, b.scalar(0)]);
}

/** A zero tensor of `like`'s shape (float), built without constants of unknown size. */
export function zerosLike(b: GraphBuilder, like: string): string {
  return b.op('Mul', [like, b.scalar(0)]);
}
