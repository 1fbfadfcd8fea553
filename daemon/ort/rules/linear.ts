/**
 * Backward rules of MatMul and Gemm. MatMul (numpy semantics, rank ≥ 2): dA = dY·Bᵀ, dB = Aᵀ·dY, summed over
 * broadcast batch axes. Gemm Y = α·op(A)·op(B) + β·C: the same with Gemm's own transA/transB attributes,
 * so no explicit transposes are emitted (MLAS reads transposed operands directly).
 */
import { Attrs, GradRule, isFloatAttr } from '../graph';
import { transposeLast2, unbroadcast } from './util';

const matMul: GradRule = (g) => {
  const { b } = g; const dy = g.dy[0]!;
  const [x, w] = g.entry.inputs;
  if (b.shape(x).length < 2 || b.shape(w).length < 2) {
    throw new Error(`${b.graphName}: backward of MatMul (node '${g.entry.origin ?? g.entry.name}') with a 1-D operand is not supported`);
  }
  const rank2 = b.shape(x).length === 2 && b.shape(w).length === 2;
  return [
    g.needs[0] ? (rank2 ? b.op('Gemm', [dy, w], { transB: 1 }) : unbroadcast(b, b.op('MatMul', [dy, transposeLast2(b, w)]), b.shape(x))) : null,
    g.needs[1] ? (rank2 ? b.op('Gemm', [x, dy], { transA: 1 }) : unbroadcast(b, b.op('MatMul', [transposeLast2(b, x), dy]), b.shape(w))) : null,
  ];
};

const gemm: GradRule = (g) => {
  const { b } = g; const dy = g.dy[0]!;
  const [a, w, c] = g.entry.inputs;
  const at = g.entry.attrs;
  const ta = at.transA === 1 ? 1 : 0; const tb = at.transB === 1 ? 1 : 0;
  const alpha = at.alpha !== undefined && isFloatAttr(at.alpha) ? at.alpha.f : 1;
  const beta = at.beta !== undefined && isFloatAttr(at.beta) ? at.beta.f : 1;
  const al: Attrs = alpha === 1 ? {} : { alpha: { f: alpha } };
  // d op(A) = α·dY·op(B)ᵀ; dA = that, transposed when transA.
  const dA = !g.needs[0] ? null : ta
    ? b.op('Gemm', [w, dy], { ...al, transA: tb, transB: 1 })
    : b.op('Gemm', [dy, w], { ...al, transB: tb ? 0 : 1 });
  // d op(B) = α·op(A)ᵀ·dY; dB = that, transposed when transB.
  const dB = !g.needs[1] ? null : tb
    ? b.op('Gemm', [dy, a], { ...al, transA: 1, transB: ta })
    : b.op('Gemm', [a, dy], { ...al, transA: ta ? 0 : 1 });
  let dC: string | null = null;
  if (c && g.needs[2]) dC = unbroadcast(b, beta === 1 ? dy : b.op('Mul', [dy, b.scalar(beta)]), b.shape(c));
  return [dA, dB, dC];
};

export const LINEAR_RULES: Record<string, GradRule> = { MatMul: matMul, Gemm: gemm };
