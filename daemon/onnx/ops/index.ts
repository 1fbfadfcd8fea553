/** Op type (default ONNX domain) → builder. Anything not listed is rejected at import with the node's name. */
import * as conv from './conv';
import * as el from './elementwise';
import * as lin from './linear';
import * as red from './reduce';
import * as sh from './shape';
import { OpBuilder } from './types';

export const OPS: Readonly<Record<string, OpBuilder>> = {
  Conv: conv.conv,
  BatchNormalization: conv.batchNormalization,
  MaxPool: conv.maxPool,
  AveragePool: conv.averagePool,
  GlobalAveragePool: conv.globalAveragePool,
  GlobalMaxPool: conv.globalMaxPool,
  Add: el.add, Sub: el.sub, Mul: el.mul, Div: el.div, Pow: el.pow,
  Equal: el.equal, Greater: el.greater, Less: el.less,
  Max: el.max, Min: el.min, Sum: el.sum,
  Relu: el.relu, Sigmoid: el.sigmoid, Tanh: el.tanh, Exp: el.exp, Log: el.log, Sqrt: el.sqrt, Neg: el.neg,
  Abs: el.abs, Erf: el.erf, Softplus: el.softplus, LeakyRelu: el.leakyRelu, Elu: el.elu, HardSigmoid: el.hardSigmoid,
  PRelu: el.prelu, Clip: el.clip, Identity: el.identity, Dropout: el.dropout,
  Gemm: lin.gemm, MatMul: lin.matMul,
  ReduceMean: red.reduceMean, ReduceSum: red.reduceSum, ReduceMax: red.reduceMax, ReduceMin: red.reduceMin,
  ReduceL2: red.reduceL2, Softmax: red.softmax, LogSoftmax: red.logSoftmax,
  Reshape: sh.reshape, Flatten: sh.flatten, Transpose: sh.transpose, Shape: sh.shape, Size: sh.size,
  Gather: sh.gather, Unsqueeze: sh.unsqueeze, Squeeze: sh.squeeze, Concat: sh.concat, Slice: sh.slice,
  Cast: sh.cast, ConstantOfShape: sh.constantOfShape, Pad: sh.pad, Split: sh.split,
};

/** Ops whose outputs are host arrays when all inputs are: evaluated once at import when inputs are constant. */
export const FOLDABLE = new Set(['Shape', 'Size', 'Gather', 'Unsqueeze', 'Squeeze', 'Concat', 'Slice', 'Cast',
  'ConstantOfShape', 'Reshape', 'Flatten', 'Add', 'Sub', 'Mul', 'Div', 'Equal', 'Identity']);
