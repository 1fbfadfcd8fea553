/**
 * ONNX Gemm and MatMul. Constant right-hand matrices are transposed and scaled once at import
 * (Gemm: Y = alpha·A'·B' + beta·C with A' = transA ? Aᵀ : A, likewise B').
 */
import { tf } from '../../tfjs/tf';
import { hostToTensor, toPlain, tv } from '../value';
import { matMulConstRight } from './matmulGrad';
import { addMacs, need, OpBuilder } from './types';

export const gemm: OpBuilder = (ctx) => {
  const alpha = ctx.attrs.float('alpha', 1);
  const beta = ctx.attrs.float('beta', 1);
  const transA = ctx.attrs.int('transA', 0) === 1;
  const transB = ctx.attrs.int('transB', 0) === 1;
  const Bc = ctx.constInput(1);
  const Cc = ctx.hasInput(2) ? ctx.constInput(2) : undefined;
  // B as [K, N] with alpha folded in, when constant.
  const bPrep = Bc ? ctx.own(tf.tidy(() => {
    const b = hostToTensor(Bc);
    return tf.mul(transB ? tf.transpose(b) : b, alpha);
  }) as tf.Tensor2D) : null;
  const bPrepT = bPrep ? ctx.own(tf.transpose(bPrep) as tf.Tensor2D) : null;
  const cPrep = Cc ? ctx.own(tf.tidy(() => tf.mul(hostToTensor(Cc), beta))) : null;
  return (inputs, rt) => {
    let a = toPlain(need(inputs, 0, ctx.where));
    if (a.rank !== 2) throw new Error(`${ctx.where}: A must be 2-D, got shape [${a.shape}]`);
    if (transA) a = tf.transpose(a);
    let b: tf.Tensor;
    if (bPrep) b = bPrep;
    else {
      const bt = toPlain(need(inputs, 1, ctx.where));
      b = tf.mul(transB ? tf.transpose(bt) : bt, alpha);
    }
    if (a.shape[1] !== b.shape[0]) {
      throw new Error(`${ctx.where}: inner dimensions differ: A [${a.shape}] (after transA) vs B [${b.shape}] (after transB)`);
    }
    let y = bPrep && bPrepT ? matMulConstRight(a as tf.Tensor2D, bPrep, bPrepT) : tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D);
    addMacs(rt, 'Gemm', y.size * (a.shape[1] as number));
    if (ctx.hasInput(2) && beta !== 0) {
      const c = cPrep ?? tf.mul(toPlain(need(inputs, 2, ctx.where)), beta);
      y = tf.add(y, c);
    }
    return [tv(y)];
  };
};

export const matMul: OpBuilder = (ctx) => {
  const Bc = ctx.constInput(1);
  const bPrep = Bc ? ctx.own(hostToTensor(Bc)) : null;
  const bPrepT = bPrep && bPrep.rank === 2 ? ctx.own(tf.transpose(bPrep) as tf.Tensor2D) : null;
  return (inputs, rt) => {
    let a = toPlain(need(inputs, 0, ctx.where));
    let b = bPrep ?? toPlain(need(inputs, 1, ctx.where));
    // numpy matmul: 1-D operands are promoted and the added axis removed afterwards.
    const aVec = a.rank === 1; const bVec = b.rank === 1;
    if (aVec) a = tf.reshape(a, [1, a.shape[0]]);
    if (bVec) b = tf.reshape(b, [b.shape[0], 1]);
    const k = a.shape[a.rank - 1];
    const mm2 = (a2: tf.Tensor2D): tf.Tensor2D => (bPrepT && b === bPrep
      ? matMulConstRight(a2, bPrep as tf.Tensor2D, bPrepT) : tf.matMul(a2, b as tf.Tensor2D));
    if (k !== b.shape[b.rank - 2]) throw new Error(`${ctx.where}: cannot multiply [${a.shape}] by [${b.shape}]`);
    let y: tf.Tensor = b.rank === 2 && a.rank > 2
      ? tf.reshape(mm2(tf.reshape(a, [-1, k]) as tf.Tensor2D), [...a.shape.slice(0, -1), b.shape[1] as number])
      : b.rank === 2 && a.rank === 2 ? mm2(a as tf.Tensor2D) : tf.matMul(a, b);
    addMacs(rt, 'MatMul', y.size * k);
    if (aVec) y = tf.squeeze(y, [y.rank - 2]);
    if (bVec) y = tf.squeeze(y, [y.rank - 1]);
    return [tv(y)];
  };
};
