/**
 * Backward rules of elementwise ops (ONNX semantics, numpy broadcasting): the textbook derivatives, with
 * broadcast operands' gradients summed back to their shapes (./util.ts unbroadcast). Rules read the forward
 * output where that is cheaper (sigmoid, tanh, exp, sqrt, reciprocal, relu masks).
 */
import { GradCtx, GradRule, isFloatAttr } from '../graph';
import { positive, unbroadcast } from './util';

const attrF = (g: GradCtx, k: string, d: number): number => {
  const v = g.entry.attrs[k];
  return v !== undefined && isFloatAttr(v) ? v.f : d;
};

const input = (g: GradCtx, i: number) => g.entry.inputs[i];
const output = (g: GradCtx) => g.entry.outputs[0];

const add: GradRule = (g) => {
  const { b } = g; const dy = g.dy[0]!;
  return g.entry.inputs.map((x, i) => (g.needs[i] ? unbroadcast(b, dy, b.shape(x)) : null));
};

const sub: GradRule = (g) => {
  const { b } = g; const dy = g.dy[0]!;
  return [
    g.needs[0] ? unbroadcast(b, dy, b.shape(input(g, 0))) : null,
    g.needs[1] ? unbroadcast(b, b.op('Neg', [dy]), b.shape(input(g, 1))) : null,
  ];
};

const mul: GradRule = (g) => {
  const { b } = g; const dy = g.dy[0]!;
  const [x, y] = g.entry.inputs;
  return [
    g.needs[0] ? unbroadcast(b, b.op('Mul', [dy, y]), b.shape(x)) : null,
    g.needs[1] ? unbroadcast(b, b.op('Mul', [dy, x]), b.shape(y)) : null,
  ];
};

const div: GradRule = (g) => {
  const { b } = g; const dy = g.dy[0]!;
  const [x, y] = g.entry.inputs;
  return [
    g.needs[0] ? unbroadcast(b, b.op('Div', [dy, y]), b.shape(x)) : null,
    // d(x/y)/dy = −(x/y)/y
    g.needs[1] ? unbroadcast(b, b.op('Neg', [b.op('Div', [b.op('Mul', [dy, output(g)]), y])]), b.shape(y)) : null,
  ];
};

const pow: GradRule = (g) => {
  const { b } = g; const dy = g.dy[0]!;
  const [x, p] = g.entry.inputs;
  const pc = b.constFloats(p);
  let dx: string | null = null;
  if (g.needs[0]) {
    // p·x^(p−1); a constant scalar exponent folds to one constant.
    const xp1 = pc && pc.length === 1 ? (pc[0] === 2 ? x : b.op('Pow', [x, b.scalar(pc[0] - 1)])) : b.op('Pow', [x, b.op('Sub', [p, b.scalar(1)])]);
    const coef = pc && pc.length === 1 ? b.op('Mul', [xp1, b.scalar(pc[0])]) : b.op('Mul', [xp1, p]);
    dx = unbroadcast(b, b.op('Mul', [dy, coef]), b.shape(x));
  }
  const dp = g.needs[1] ? unbroadcast(b, b.op('Mul', [b.op('Mul', [dy, output(g)]), b.op('Log', [x])]), b.shape(p)) : null;
  return [dx, dp];
};

/** Unary rule from a function of (dy, x, y). */
const unary = (f: (g: GradCtx, dy: string, x: string, y: string) => string): GradRule => (g) => [f(g, g.dy[0]!, input(g, 0), output(g))];

const relu = unary(({ b }, dy, _x, y) => b.op('Where', [positive(b, y), dy, b.scalar(0)]));
const sigmoid = unary(({ b }, dy, _x, y) => b.op('Mul', [dy, b.op('Mul', [y, b.op('Sub', [b.scalar(1), y])])]));
const tanh = unary(({ b }, dy, _x, y) => b.op('Mul', [dy, b.op('Sub', [b.scalar(1), b.op('Mul', [y, y])])]));
const exp = unary(({ b }, dy, _x, y) => b.op('Mul', [dy, y]));
const log = unary(({ b }, dy, x) => b.op('Div', [dy, x]));
const sqrt = unary(({ b }, dy, _x, y) => b.op('Div', [b.op('Mul', [dy, b.scalar(0.5)]), y]));
const reciprocal = unary(({ b }, dy, _x, y) => b.op('Neg', [b.op('Mul', [dy, b.op('Mul', [y, y])])]));
const neg = unary(({ b }, dy) => b.op('Neg', [dy]));
const abs = unary(({ b }, dy, x) => b.op('Mul', [dy, b.op('Sign', [x])]));
const identity = unary((_g, dy) => dy);
const erf = unary(({ b }, dy, x) => b.op('Mul', [dy, b.op('Mul', [b.op('Exp', [b.op('Neg', [b.op('Mul', [x, x])])]), b.scalar(2 / Math.sqrt(Math.PI))])]));
const softplus = unary(({ b }, dy, x) => b.op('Mul', [dy, b.op('Sigmoid', [x])]));
const leakyRelu = unary((g, dy, x) => g.b.op('Where', [positive(g.b, x), dy, g.b.op('Mul', [dy, g.b.scalar(attrF(g, 'alpha', 0.01))])]));
const elu = unary((g, dy, x, y) => g.b.op('Where', [positive(g.b, x), dy, g.b.op('Mul', [dy, g.b.op('Add', [y, g.b.scalar(attrF(g, 'alpha', 1))])])]));
const hardSigmoid = unary((g, dy, x) => {
  const { b } = g;
  const alpha = attrF(g, 'alpha', 0.2); const beta = attrF(g, 'beta', 0.5);
  const u = b.op('Add', [b.op('Mul', [x, b.scalar(alpha)]), b.scalar(beta)]);
  const inside = b.op('And', [b.op('Greater', [u, b.scalar(0)]), b.op('Less', [u, b.scalar(1)])]);
  return b.op('Where', [inside, b.op('Mul', [dy, b.scalar(alpha)]), b.scalar(0)]);
});
const clip: GradRule = (g) => {
  const { b } = g; const dy = g.dy[0]!;
  const [x, lo, hi] = g.entry.inputs;
  let mask: string | null = null;
  if (lo) mask = b.op('GreaterOrEqual', [x, lo]);
  if (hi) { const m2 = b.op('LessOrEqual', [x, hi]); mask = mask ? b.op('And', [mask, m2]) : m2; }
  return [mask ? b.op('Where', [mask, dy, b.scalar(0)]) : dy, null, null];
};

/** PRelu(x, slope) = x (x > 0) else slope·x; slope broadcasts (per channel [C,1,1] in most exports). */
const prelu: GradRule = (g) => {
  const { b } = g; const dy = g.dy[0]!;
  const [x, slope] = g.entry.inputs;
  const pos = positive(b, x);
  return [
    g.needs[0] ? b.op('Where', [pos, dy, b.op('Mul', [dy, slope])]) : null,
    g.needs[1] ? unbroadcast(b, b.op('Where', [pos, b.scalar(0), b.op('Mul', [dy, x])]), b.shape(slope)) : null,
  ];
};

/** Max/Min of two: the gradient goes to the chosen operand (ties: the first). */
const minmax = (cmp: 'GreaterOrEqual' | 'LessOrEqual'): GradRule => (g) => {
  const { b } = g; const dy = g.dy[0]!;
  const ins = g.entry.inputs;
  if (ins.length !== 2) throw new Error(`${b.graphName}: backward of ${g.entry.op} with ${ins.length} inputs is not supported (2 only)`);
  const first = b.op(cmp, [ins[0], ins[1]]);
  return [
    g.needs[0] ? unbroadcast(b, b.op('Where', [first, dy, b.scalar(0)]), b.shape(ins[0])) : null,
    g.needs[1] ? unbroadcast(b, b.op('Where', [first, b.scalar(0), dy]), b.shape(ins[1])) : null,
  ];
};

/** Where(c, a, b): gradient to a where c, to b elsewhere. */
const where: GradRule = (g) => {
  const { b } = g; const dy = g.dy[0]!;
  const [c, x, y] = g.entry.inputs;
  return [
    null,
    g.needs[1] ? unbroadcast(b, b.op('Where', [c, dy, b.scalar(0)]), b.shape(x)) : null,
    g.needs[2] ? unbroadcast(b, b.op('Where', [c, b.scalar(0), dy]), b.shape(y)) : null,
  ];
};

export const ELEMENTWISE_RULES: Record<string, GradRule> = {
  Add: add, Sum: add, Sub: sub, Mul: mul, Div: div, Pow: pow,
  Relu: relu, Sigmoid: sigmoid, Tanh: tanh, Exp: exp, Log: log, Sqrt: sqrt, Reciprocal: reciprocal, Neg: neg, Abs: abs,
  Identity: identity, Dropout: identity, Erf: erf, Softplus: softplus, LeakyRelu: leakyRelu, Elu: elu, HardSigmoid: hardSigmoid,
  Clip: clip, PRelu: prelu, Max: minmax('GreaterOrEqual'), Min: minmax('LessOrEqual'), Where: where,
};
