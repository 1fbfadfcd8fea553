/**
 * Backward rules of reductions and softmax: the gradient of the reduced value, reshaped back with the
 * reduced axes kept (size 1), broadcast over x (ReduceSum/Mean), times 2x (ReduceSumSquare), x/‖x‖ (ReduceL2),
 * or masked to the extremum (ReduceMax/Min); softmax dx = y·(dy − Σ dy·y), log-softmax dx = dy − e^y·Σ dy.
 */
import { GradCtx, GradRule, GraphBuilder } from '../graph';

const where = (g: GradCtx) => `${g.b.graphName}: node '${g.entry.origin ?? g.entry.name}' (${g.entry.op})`;

function reducedAxes(g: GradCtx): number[] {
  const { b } = g;
  const x = g.entry.inputs[0];
  const rank = b.shape(x).length;
  const ax = g.entry.op === 'ReduceSum' ? (g.entry.inputs[1] ? b.constInts(g.entry.inputs[1]) : null) : (g.entry.attrs.axes as number[] | undefined) ?? null;
  if (g.entry.op === 'ReduceSum' && g.entry.inputs[1] && !ax) throw new Error(`${where(g)}: backward needs constant axes`);
  return (ax && ax.length ? ax : Array.from({ length: rank }, (_, i) => i)).map((a) => (a < 0 ? a + rank : a));
}

/** dy with the reduced axes restored as size 1 (so it broadcasts against x). */
function keepDims(g: GradCtx): string {
  const { b } = g;
  const dy = g.dy[0]!;
  if (g.entry.attrs.keepdims !== 0) return dy;
  return b.op('Unsqueeze', [dy, b.ints(reducedAxes(g))]);
}

function count(b: GraphBuilder, x: string, axes: number[], where: string): number {
  const s = b.shape(x);
  let n = 1;
  for (const a of axes) {
    const d = s[a];
    if (typeof d !== 'number') throw new Error(`${where}: mean over symbolic axis ${a}`);
    n *= d;
  }
  return n;
}

const expandTo = (b: GraphBuilder, v: string, x: string) => b.op('Expand', [v, b.op('Shape', [x])], {}, { outShape: b.shape(x) });

const reduceSum: GradRule = (g) => [expandTo(g.b, keepDims(g), g.entry.inputs[0]), null];
const reduceMean: GradRule = (g) => {
  const { b } = g;
  const n = count(b, g.entry.inputs[0], reducedAxes(g), where(g));
  return [expandTo(b, b.op('Mul', [keepDims(g), b.scalar(1 / n)]), g.entry.inputs[0])];
};
const reduceSumSquare: GradRule = (g) => {
  const { b } = g;
  const x = g.entry.inputs[0];
  return [b.op('Mul', [b.op('Mul', [x, b.scalar(2)]), keepDims(g)])];
};
const reduceL2: GradRule = (g) => {
  const { b } = g;
  const x = g.entry.inputs[0];
  let y = g.entry.outputs[0];
  if (g.entry.attrs.keepdims === 0) y = b.op('Unsqueeze', [y, b.ints(reducedAxes(g))]);
  return [b.op('Mul', [b.op('Div', [x, y]), keepDims(g)])];
};
const reduceExtremum: GradRule = (g) => {
  const { b } = g;
  const x = g.entry.inputs[0];
  let y = g.entry.outputs[0];
  if (g.entry.attrs.keepdims === 0) y = b.op('Unsqueeze', [y, b.ints(reducedAxes(g))]);
  const mask = b.op('Cast', [b.op('Equal', [x, y])], { to: 1 });
  // Ties share the gradient equally.
  const ties = b.op('ReduceSum', [mask, b.ints(reducedAxes(g))], { keepdims: 1 });
  return [b.op('Mul', [b.op('Div', [mask, ties]), keepDims(g)])];
};

const softmax: GradRule = (g) => {
  const { b } = g;
  const y = g.entry.outputs[0];
  const axis = (g.entry.attrs.axis as number | undefined) ?? -1;
  const dy = g.dy[0]!;
  const s = b.op('ReduceSum', [b.op('Mul', [dy, y]), b.ints([axis])], { keepdims: 1 });
  return [b.op('Mul', [y, b.op('Sub', [dy, s])])];
};
const logSoftmax: GradRule = (g) => {
  const { b } = g;
  const y = g.entry.outputs[0];
  const axis = (g.entry.attrs.axis as number | undefined) ?? -1;
  const dy = g.dy[0]!;
  const s = b.op('ReduceSum', [dy, b.ints([axis])], { keepdims: 1 });
  return [b.op('Sub', [dy, b.op('Mul', [b.op('Exp', [y]), s])])];
};

export const REDUCE_RULES: Record<string, GradRule> = {
  ReduceSum: reduceSum, ReduceMean: reduceMean, ReduceSumSquare: reduceSumSquare, ReduceL2: reduceL2,
  ReduceMax: reduceExtremum, ReduceMin: reduceExtremum, Softmax: softmax, LogSoftmax: logSoftmax,
};
